using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Wrenn.Abstractions.Testing;

/// <summary>
/// A fact of the kit. It runs in every concrete class derived from a kit class, unless that class
/// carries a <see cref="ConformanceSkipAttribute"/> whose <see cref="ConformanceSkipAttribute.Reason"/>
/// names what this host lacks (no device-mapper, no KVM …): then it is reported as skipped, with that reason.
/// </summary>
[XunitTestCaseDiscoverer("Wrenn.Abstractions.Testing.ConformanceFactDiscoverer", "Wrenn.Abstractions.Testing")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class ConformanceFactAttribute : FactAttribute;

/// <summary>
/// Put on a class derived from a kit class to skip all its kit facts on hosts that lack something the
/// plugin needs. Derive from it and return the reason (a sentence naming what is missing), or null
/// where the plugin can run.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public abstract class ConformanceSkipAttribute : Attribute
{
    /// <summary>What this host lacks for the plugin, or null when it can run here.</summary>
    public abstract string? Reason { get; }

    /// <summary>The kit facts (method names) skipped; null for all of them.</summary>
    public virtual IReadOnlyCollection<string>? Facts => null;
}

/// <summary>Finds <see cref="ConformanceFactAttribute"/> facts and skips them by the test class's <see cref="ConformanceSkipAttribute"/>.</summary>
public sealed class ConformanceFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var testClass = testMethod.TestClass.Class.ToRuntimeType();
        var reason = testClass?.GetCustomAttributes(typeof(ConformanceSkipAttribute), inherit: true)
            .Cast<ConformanceSkipAttribute>().Where(a => a.Facts is null || a.Facts.Contains(testMethod.Method.Name)).Select(a => a.Reason).FirstOrDefault(r => r is not null);
        yield return reason is null
            ? new XunitTestCase(diagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod)
            : new SkippedConformanceTestCase(diagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, reason);
    }
}

/// <summary>A kit fact skipped for what the host lacks; the reason travels with the test case.</summary>
public sealed class SkippedConformanceTestCase : XunitTestCase
{
    private string _reason = "";

    [Obsolete("For the de-serializer only.", error: true)]
    public SkippedConformanceTestCase()
    {
    }

    public SkippedConformanceTestCase(IMessageSink sink, TestMethodDisplay display, TestMethodDisplayOptions options, ITestMethod testMethod, string reason)
        : base(sink, display, options, testMethod) => _reason = reason;

    protected override string GetSkipReason(IAttributeInfo factAttribute) => _reason;

    public override void Serialize(IXunitSerializationInfo data)
    {
        base.Serialize(data);
        data.AddValue("ConformanceSkip", _reason);
    }

    public override void Deserialize(IXunitSerializationInfo data)
    {
        _reason = data.GetValue<string>("ConformanceSkip");
        base.Deserialize(data);
    }
}
