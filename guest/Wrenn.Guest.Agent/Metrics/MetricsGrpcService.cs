using Grpc.Core;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Agent.Metrics;

/// <summary>The Metrics service: one sample of the guest's counters per call.</summary>
internal sealed class MetricsGrpcService : MetricsService.MetricsServiceBase
{
    public override Task<GuestSample> Sample(SampleRequest request, ServerCallContext context)
    {
        try
        {
            return Task.FromResult(GuestCounters.Sample());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            throw Errors.Internal($"The guest's counters could not be read: {e.Message}");
        }
    }
}
