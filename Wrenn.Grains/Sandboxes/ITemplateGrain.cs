using Wrenn.Grains.Runtime;

namespace Wrenn.Grains.Sandboxes;

public enum TemplateKind { Image, Snapshot }

public sealed record TemplateInfo(
    string Id,
    string Name,
    string? TeamId,
    bool IsPublic,
    TemplateKind Kind,
    int Vcpus,
    int MemoryMib,
    string Source,
    int SandboxesUsingIt,
    DateTimeOffset CreatedAt);

/// <summary>A template, keyed <c>tpl-{uuid}</c>: what sandboxes start from; deleting one in use is refused.</summary>
[GrainKind("template")]
public interface ITemplateGrain : IGrainWithStringKey
{
    [Shared]
    Task<TemplateInfo> GetAsync(Caller caller);

    /// <summary>Refused with FAILED_PRECONDITION while sandboxes use it.</summary>
    Task DeleteAsync(Caller caller);
}
