using System.Text.Json;
using GraphQL;
using GraphQL.Types;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;
using Wrenn.GraphQL.Execution;
using Wrenn.GraphQL.Schema;

namespace Wrenn.GraphQL.Tests;

/// <summary>Wrenn's API services as the silo registers them (AddWrennApi), without a silo.</summary>
public sealed class ApiServices : IDisposable
{
    private readonly ServiceProvider _services;

    public ApiServices(Action<WrennApiOptions>? configure = null, ILoggerProvider? logs = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(l =>
        {
            l.ClearProviders();
            if (logs is not null)
                l.AddProvider(logs);
        });
        services.AddWrennApi(configure: configure);
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }

    public static Caller Caller { get; } = new("team-test", "key-test", Role.Member);

    public ISchema Schema
    {
        get
        {
            var schema = _services.GetRequiredService<ISchema>();
            schema.Initialize();
            return schema;
        }
    }

    public ApiExecutor Executor => _services.GetRequiredService<ApiExecutor>();

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    /// <summary>Runs a request as <see cref="Caller"/> on <paramref name="backend"/>; returns the response as JSON.</summary>
    public async Task<JsonElement> RunAsync(string query, IWrennBackend? backend = null, string? variables = null)
    {
        var request = new ApiRequest(query, null, variables is null ? null : JsonDocument.Parse(variables).RootElement);
        var result = await Executor.ExecuteAsync(Executor.Prepare(request), new ApiContext(Caller, backend ?? new UnreachableBackend()), CancellationToken.None);
        return JsonDocument.Parse(Executor.Serialize(result)).RootElement;
    }

    public void Dispose() => _services.Dispose();
}
