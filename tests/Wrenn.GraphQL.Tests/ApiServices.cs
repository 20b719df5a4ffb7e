using GraphQL.Types;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.GraphQL.Execution;

namespace Wrenn.GraphQL.Tests;

/// <summary>Wrenn's API services as the silo registers them (AddWrennApi), without a silo: no backend is needed to build, print or validate.</summary>
public sealed class ApiServices : IDisposable
{
    private readonly ServiceProvider _services;

    public ApiServices(Action<WrennApiOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(NullLogger<>));
        services.AddWrennApi(configure: configure);
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }

    public ISchema Schema => _services.GetRequiredService<ISchema>();

    public ApiExecutor Executor => _services.GetRequiredService<ApiExecutor>();

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    public void Dispose() => _services.Dispose();
}
