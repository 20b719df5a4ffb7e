namespace Wrenn.Grains.Sandboxes;

[GenerateSerializer]
[Alias("wrenn.TemplateKind")]
public enum TemplateKind { Image, Snapshot }

[GenerateSerializer]
[Alias("wrenn.TemplateInfo")]
public sealed record TemplateInfo(
    [Id(0)] string Id,
    [Id(1)] string Name,
    [Id(2)] string? TeamId,
    [Id(3)] bool IsPublic,
    [Id(4)] TemplateKind Kind,
    [Id(5)] int Vcpus,
    [Id(6)] int MemoryMib,
    [Id(7)] string Source,
    [Id(8)] int SandboxesUsingIt,
    [Id(9)] DateTimeOffset CreatedAt);

/// <summary>A template, keyed <c>tpl-{uuid}</c>: what sandboxes start from; deleting one in use is refused.</summary>
[Alias("wrenn.template")]
public interface ITemplateGrain : IGrainWithStringKey
{
    [Alias("get")]
    Task<TemplateInfo> GetAsync(Caller caller);

    /// <summary>Refused with FAILED_PRECONDITION while sandboxes use it.</summary>
    [Alias("delete")]
    [Audited("template.delete")]
    Task DeleteAsync(Caller caller);
}
