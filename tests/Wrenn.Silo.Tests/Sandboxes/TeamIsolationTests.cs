using System.Reflection;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Data;

namespace Wrenn.Silo.Tests.Sandboxes;

/// <summary>Every grain method checks the caller's team: another team's sandbox or template does not exist for it.</summary>
public sealed class TeamIsolationTests(SiloFixture silo) : IClassFixture<SiloFixture>
{
    [Fact]
    public async Task Every_method_of_every_grain_interface_refuses_another_teams_caller()
    {
        var sandbox = await silo.CreateAsync(silo.Admin);
        var template = await silo.Host.Templates.AddAsync(silo.Admin.TeamId, "private", false, TemplateKind.Image, 1, 256,
            new TemplateSource(ImageDir: Wrenn.Testing.RepoPaths.ImageDir), CancellationToken.None);
        var otherTeam = await silo.Host.Teams.CreateTeamAsync($"other-{Guid.NewGuid():N}", CancellationToken.None);
        var stranger = new Caller(otherTeam.Id, "key-of-another-team", Role.Admin);
        var grains = silo.Host.Grains;
        var host = silo.Host.SiloName;

        var targets = new (Type Interface, object Grain, string ExpectedCode)[]
        {
            (typeof(ISandboxGrain), grains.GetGrain<ISandboxGrain>(sandbox.Id), ErrorCodes.NotFound),
            (typeof(ITemplateGrain), grains.GetGrain<ITemplateGrain>(template.Id), ErrorCodes.NotFound),
            (typeof(IHostSlotGrain), grains.GetGrain<IHostSlotGrain>(host), ErrorCodes.PermissionDenied),
        };
        var checkedMethods = new List<string>();
        foreach (var (grainInterface, grain, expected) in targets)
        {
            foreach (var method in grainInterface.GetMethods())
            {
                if (method.GetParameters().FirstOrDefault()?.ParameterType != typeof(Caller))
                    continue;
                if (grainInterface == typeof(IHostSlotGrain) && method.Name == nameof(IHostSlotGrain.GetAsync))
                    continue; // hosts are shared infrastructure: every team may read them
                var arguments = method.GetParameters().Select(p => ArgumentFor(p.ParameterType, stranger, template.Id)).ToArray();
                var error = await Assert.ThrowsAsync<GrainException>(() => CallAsync(method, grain, arguments));
                // Starting a fork's child is the silo's call alone: any other caller is refused before the sandbox is looked at.
                var want = method.Name == nameof(ISandboxGrain.CreateForkChildAsync) ? ErrorCodes.PermissionDenied : expected;
                Assert.True(error.Code == want, $"{grainInterface.Name}.{method.Name} answered {error.Code} ({error.Message}), expected {want}");
                checkedMethods.Add($"{grainInterface.Name}.{method.Name}");
            }
        }

        // Every method takes a caller (the reminder callback is the grain class's, not part of any interface a caller can reach).
        var withoutCaller = targets.SelectMany(t => t.Interface.GetMethods())
            .Where(m => m.GetParameters().FirstOrDefault()?.ParameterType != typeof(Caller)).Select(m => m.Name).Distinct();
        Assert.Empty(withoutCaller);
        Assert.Equal(34, checkedMethods.Count(m => m.StartsWith(nameof(ISandboxGrain), StringComparison.Ordinal)));

        // Nothing the stranger did changed anything.
        var after = await grains.GetGrain<ISandboxGrain>(sandbox.Id).GetAsync(silo.Admin);
        Assert.Equal((SandboxState.Running, sandbox.Deadline), (after.State, after.Deadline));
        Assert.Equal("private", (await grains.GetGrain<ITemplateGrain>(template.Id).GetAsync(silo.Admin)).Name);
        Assert.Empty(await silo.Host.Sandboxes.ListAsync(stranger, null, null, 10, CancellationToken.None));
        await grains.GetGrain<ISandboxGrain>(sandbox.Id).DestroyAsync(silo.Admin);
    }

    private static object? ArgumentFor(Type type, Caller stranger, string templateId) => type switch
    {
        _ when type == typeof(Caller) => stranger,
        _ when type == typeof(string) => "/etc/hostname",
        _ when type == typeof(int) => 60,
        _ when type == typeof(long) => 1L,
        _ when type == typeof(bool) => true,
        _ when type == typeof(byte[]) => new byte[] { 1 },
        _ when type == typeof(CancellationToken) => CancellationToken.None,
        _ when type == typeof(ExecRequest) => new ExecRequest("true"),
        _ when type == typeof(CreateSandbox) => new CreateSandbox(templateId, 1, 256, 60),
        _ when type == typeof(ProcessStart) => new ProcessStart("true"),
        _ when type == typeof(TerminalSize) => new TerminalSize(80, 24),
        _ when type == typeof(ProcessSignal) => ProcessSignal.Term,
        _ when type == typeof(NetworkPolicy) => new NetworkPolicy(true, [], []),
        _ when type == typeof(LifecycleChange) => new LifecycleChange(AutoResume: true),
        _ when type == typeof(ForkChild) => new ForkChild("sb-x", "/tmp/nothing", stranger.TeamId, templateId, 1, 256, null, new Dictionary<string, string>()),
        _ => throw new InvalidOperationException($"The test has no argument for {type.Name}; add one."),
    };

    private static async Task CallAsync(MethodInfo method, object grain, object?[] arguments)
    {
        var returned = method.Invoke(grain, arguments);
        switch (returned)
        {
            case Task task:
                await task;
                break;
            case ValueTask valueTask:
                await valueTask;
                break;
            default:
                // IAsyncEnumerable<T>: the call happens on the first MoveNextAsync.
                var itemType = method.ReturnType.GetGenericArguments()[0];
                var enumerator = typeof(IAsyncEnumerable<>).MakeGenericType(itemType).GetMethod("GetAsyncEnumerator")!.Invoke(returned, [CancellationToken.None])!;
                await (ValueTask<bool>)typeof(IAsyncEnumerator<>).MakeGenericType(itemType).GetMethod("MoveNextAsync")!.Invoke(enumerator, null)!;
                break;
        }
    }
}
