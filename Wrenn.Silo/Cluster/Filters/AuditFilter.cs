using System.Reflection;
using Microsoft.Extensions.Logging;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Data;

namespace Wrenn.Silo.Cluster.Filters;

/// <summary>
/// Writes the audit row of every call to an <see cref="AuditedAttribute"/> method, once, after the
/// call: who (the <see cref="Caller"/> argument), what (the action, <c>.failed</c> added when it
/// threw), on which grain, with the other arguments as detail. A failing audit write never fails
/// the call it describes; it is logged.
/// </summary>
public sealed partial class AuditFilter(AuditLog audit, ILogger<AuditFilter> logger) : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        var action = context.InterfaceMethod?.GetCustomAttribute<AuditedAttribute>()?.Action;
        if (action is null)
        {
            await context.Invoke();
            return;
        }
        var (caller, detail) = Arguments(context);
        try
        {
            await context.Invoke();
        }
        catch (GrainException e) when (e.Code != ErrorCodes.NotFound && caller is not null)
        {
            // A call on something the caller cannot see is not theirs to audit; anything else failing is.
            await RecordAsync(caller, $"{action}.failed", Target(context), new Dictionary<string, object?>(detail) { ["error"] = e.Message });
            throw;
        }
        if (caller is not null)
            await RecordAsync(caller, action, Target(context), detail);
    }

    private async Task RecordAsync(Caller caller, string action, string target, IReadOnlyDictionary<string, object?> detail)
    {
        try
        {
            await audit.RecordAsync(caller, action, target, detail.Count == 0 ? null : detail, CancellationToken.None);
        }
        catch (Exception e)
        {
            LogAuditFailed(e, action, target);
        }
    }

    /// <summary>A template made from a sandbox is audited under the template's id, the rest under their grain's key.</summary>
    private static string Target(IIncomingGrainCallContext context) =>
        context.Result is TemplateInfo template ? template.Id : context.TargetId.Key.ToString()!;

    private static (Caller? Caller, Dictionary<string, object?> Detail) Arguments(IIncomingGrainCallContext context)
    {
        Caller? caller = null;
        var detail = new Dictionary<string, object?>();
        var parameters = context.InterfaceMethod!.GetParameters();
        for (var i = 0; i < context.Request.GetArgumentCount() && i < parameters.Length; i++)
        {
            switch (context.Request.GetArgument(i))
            {
                case Caller c:
                    caller = c;
                    break;
                case CancellationToken:
                    break;
                case var value:
                    detail[parameters[i].Name!] = value;
                    break;
            }
        }
        return (caller, detail);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write the audit row {Action} for {Target}; the call itself went through")]
    private partial void LogAuditFailed(Exception exception, string action, string target);
}
