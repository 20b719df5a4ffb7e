using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wrenn.Silo.Cluster;

namespace Wrenn.Silo.Webhooks;

/// <summary>
/// Each silo's sender of the webhook deliveries of its own host's sandboxes: it takes the due ones
/// from the outbox (the first pending one per webhook and sandbox, so each receiver hears a sandbox's
/// events in order), POSTs them signed, and records each outcome; a failure is tried again with a
/// doubling wait until <c>RetryFor</c> has passed since the event. It runs apart from every sandbox
/// operation: a receiver that is slow or down delays only its own deliveries. Whatever was queued
/// and not yet answered with a 2xx is sent again after a crash (at least once; the delivery id is
/// the same on every attempt, so receivers can drop repeats).
/// </summary>
public sealed partial class WebhookSender(WebhookStore store, WebhookSignal signal, ClusterHosts hosts, IOptions<WebhookOptions> options, ILogger<WebhookSender> logger)
    : BackgroundService
{
    public const string DeliveryHeader = "Wrenn-Delivery";

    private static readonly TimeSpan PruneEvery = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false, // a receiver answers, or the attempt failed; a redirect is not followed off the configured URL
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = settings.RequestTimeout,
        }) { Timeout = settings.RequestTimeout };
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Wrenn-Webhooks", "1"));
        var pruned = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var due = await store.DueAsync(hosts.Local, settings.MaxConcurrent * 4, stoppingToken);
                if (due.Count > 0)
                {
                    await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = settings.MaxConcurrent, CancellationToken = stoppingToken },
                        (delivery, ct) => new ValueTask(AttemptAsync(http, delivery, ct)));
                    continue; // the next in line of each may be due now
                }
                if (DateTimeOffset.UtcNow - pruned > PruneEvery)
                {
                    await store.PruneAsync(hosts.Local, settings.DeliveriesKept, stoppingToken);
                    pruned = DateTimeOffset.UtcNow;
                }
                var wait = settings.PollEvery;
                if (await store.NextDueAsync(hosts.Local, stoppingToken) is { } next && next - DateTimeOffset.UtcNow < wait)
                    wait = next - DateTimeOffset.UtcNow;
                if (wait > TimeSpan.Zero)
                    await signal.WaitAsync(wait, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database may be away for a moment; nothing is lost, the rows wait.
                LogSenderFailed(e);
                await Task.Delay(settings.PollEvery, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private async Task AttemptAsync(HttpClient http, DueDelivery delivery, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        int? status = null;
        string error;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url) { Content = new StringContent(delivery.Body, Encoding.UTF8, "application/json") };
            request.Headers.Add(WebhookSignature.Header, WebhookSignature.Sign(delivery.Secret, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), delivery.Body));
            request.Headers.Add(DeliveryHeader, delivery.Id);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                await store.DeliveredAsync(delivery.Id, status.Value, CancellationToken.None);
                return;
            }
            error = $"the receiver answered {status} {response.ReasonPhrase}";
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return; // stopping: the delivery stays pending and goes out after the restart
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException)
        {
            error = e is TaskCanceledException ? $"no answer within {settings.RequestTimeout}" : e.Message;
        }
        var attempts = delivery.Attempts + 1;
        var wait = TimeSpan.FromTicks(Math.Min(settings.LongestRetryAfter.Ticks, settings.FirstRetryAfter.Ticks * (1L << Math.Min(attempts - 1, 30))));
        var retryAt = DateTimeOffset.UtcNow + wait;
        var giveUp = retryAt > delivery.CreatedAt + settings.RetryFor;
        LogAttemptFailed(delivery.Id, delivery.Url, attempts, error, giveUp ? "given up" : $"retried in {wait}");
        await store.AttemptFailedAsync(delivery.Id, status, error, giveUp ? null : retryAt, CancellationToken.None);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook delivery {DeliveryId} to {Url}: attempt {Attempt} failed ({Error}); {Next}")]
    private partial void LogAttemptFailed(string deliveryId, string url, int attempt, string error, string next);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The webhook sender could not read or write its deliveries; it tries again")]
    private partial void LogSenderFailed(Exception exception);
}
