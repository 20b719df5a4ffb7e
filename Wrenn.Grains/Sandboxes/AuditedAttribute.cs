namespace Wrenn.Grains.Sandboxes;

/// <summary>
/// A grain method whose successful and failed calls are written to the audit log under
/// <see cref="Action"/> (failures as <c>{Action}.failed</c>), with the caller, the grain and the
/// arguments. The silo's grain call filter does the writing, so no method repeats it.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class AuditedAttribute(string action) : Attribute
{
    public string Action { get; } = action;
}
