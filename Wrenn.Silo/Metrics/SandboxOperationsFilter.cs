using System.Diagnostics;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.Silo.Metrics;

/// <summary>
/// Times every lifecycle call a sandbox grain serves (create, pause, resume, destroy, template) and
/// counts it by outcome: <c>ok</c>, or the grain error's code. In one place, so no lifecycle method
/// carries its own timing.
/// </summary>
public sealed class SandboxOperationsFilter(WrennMeters meters) : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.InterfaceMethod?.DeclaringType != typeof(ISandboxGrain) || OperationOf(context.InterfaceMethod.Name) is not { } operation)
        {
            await context.Invoke();
            return;
        }
        var clock = Stopwatch.StartNew();
        var outcome = "ok";
        try
        {
            await context.Invoke();
        }
        catch (GrainException e)
        {
            outcome = e.Code.ToLowerInvariant();
            throw;
        }
        catch
        {
            outcome = "internal";
            throw;
        }
        finally
        {
            meters.Operation(operation, outcome, clock.Elapsed);
        }
    }

    private static string? OperationOf(string method) => method switch
    {
        nameof(ISandboxGrain.CreateAsync) => "create",
        nameof(ISandboxGrain.PauseAsync) => "pause",
        nameof(ISandboxGrain.ResumeAsync) => "resume",
        nameof(ISandboxGrain.DestroyAsync) => "destroy",
        nameof(ISandboxGrain.CreateTemplateAsync) => "template",
        _ => null,
    };
}
