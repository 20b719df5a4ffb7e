using System.Net;
using GraphQL;
using GraphQL.Resolvers;
using GraphQL.Types;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL;
using Wrenn.GraphQL.Backend;
using Wrenn.GraphQL.Schema;
using Wrenn.GraphQL.Schema.Types;

namespace Wrenn.Silo.Tests.Api.Adversarial;

/// <summary>
/// A deliberately broken API, for showing that the walk catches what it exists to catch: Wrenn's own
/// schema served over the real silo's backend, extended (in this test only) by two fields a careless
/// change could add — <c>peekSandbox(id)</c>, which reads a sandbox as the silo itself and so skips the
/// team check, and <c>gizmo(gizmoId)</c>, which names something the walk has no way to fill.
/// </summary>
public sealed class BrokenApi : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BrokenApi(WebApplication app, Uri baseAddress) => (_app, BaseAddress) = (app, baseAddress);

    public Uri BaseAddress { get; }

    public static async Task<BrokenApi> StartAsync(ApiFixture api)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Services.AddSingleton(api.Silo.Host.Services.GetRequiredService<IWrennBackend>());
        builder.Services.AddWrennApi(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Wrenn:RateLimits:RequestsPerSecond"] = "100000",
        }).Build());
        builder.Services.AddSingleton<ISchema>(sp =>
        {
            var schema = ActivatorUtilities.CreateInstance<WrennSchema>(sp);
            Extend((ObjectGraphType)schema.Query);
            return schema;
        });
        var app = builder.Build();
        app.MapWrennApi();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new BrokenApi(app, new Uri(address));
    }

    private static void Extend(ObjectGraphType query)
    {
        query.AddField(new FieldType
        {
            Name = "peekSandbox",
            Description = "BROKEN ON PURPOSE: reads any team's sandbox.",
            Type = typeof(SandboxType),
            Arguments = new QueryArguments(new QueryArgument<NonNullGraphType<IdGraphType>> { Name = "id" }),
            Resolver = new FuncFieldResolver<SandboxInfo>(async context =>
                await ((ApiContext)context.UserContext).Backend.Sandbox(context.GetArgument<string>("id")).GetAsync(Caller.System)),
        });
        query.AddField(new FieldType
        {
            Name = "gizmo",
            Description = "Names a thing of a kind the walk does not know.",
            Type = typeof(StringGraphType),
            Arguments = new QueryArguments(new QueryArgument<NonNullGraphType<IdGraphType>> { Name = "gizmoId" }),
            Resolver = new FuncFieldResolver<string>(context => context.GetArgument<string>("gizmoId")),
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
