using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Grains;
using Wrenn.Testing;

namespace Wrenn.Cluster.Tests;

/// <summary>
/// What crosses silos and what grain storage keeps is Orleans' binary format of the types in
/// Wrenn.Grains (and the host grain's stored state): a type's [Alias] and its members' [Id]s are its
/// wire format. The files under Golden/ were written by an earlier build; every later build must
/// read them to the same values, so renaming a type or a member, or reordering members, never
/// breaks a running cluster or stored state. Run with WRENN_WRITE_GOLDEN=1 only to add a file for a
/// new type (the test then fails, asking to commit it); never rewrite an existing one.
/// </summary>
public sealed class SerializationTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    public static TheoryData<string> Names => [.. Samples().Keys];

    private static Dictionary<string, object> Samples() => new()
    {
        ["caller"] = new Caller("team-1", "key-1", Role.Admin),
        ["create-sandbox"] = new CreateSandbox("tpl-1", 2, 512, 600, new Dictionary<string, string> { ["purpose"] = "golden" }),
        ["sandbox-info"] = new SandboxInfo("sb-1", "team-1", "tpl-1", "host-1", SandboxState.Paused, 2, 512, At, At.AddMinutes(5),
            new Dictionary<string, string> { ["a"] = "b" }, "an error"),
        ["exec-request"] = new ExecRequest("sh", ["-c", "true"], new Dictionary<string, string> { ["X"] = "1" }, "/root", 30),
        ["exec-event"] = new ExecEvent(ExecEventKind.Stdout, 42, [1, 2, 3], null),
        ["file-entry"] = new FileEntry("/root/a", "a", false, 12345, At),
        ["template-info"] = new TemplateInfo("tpl-1", "golden", "team-1", false, TemplateKind.Snapshot, 1, 256, "/data/templates/x", 3, At),
        ["host-info"] = new HostInfo("host-1", new HostCapacity(16, 8192, 100_000), new HostCapacity(2, 512, 2048), 1, true),
        ["sandbox-change"] = new SandboxChange(new SandboxInfo("sb-1", "team-1", "tpl-1", "host-1", SandboxState.Running, 1, 256, At, null, new Dictionary<string, string>()), SandboxState.Creating),
        ["host-reservations"] = new HostReservations { BySandbox = { ["sb-1"] = new HostCapacity(1, 256, 2048) } },
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void What_an_earlier_build_wrote_reads_back_to_the_same_value(string name)
    {
        var serializer = new ServiceCollection().AddSerializer(b => b.AddAssembly(typeof(Caller).Assembly).AddAssembly(typeof(HostReservations).Assembly))
            .BuildServiceProvider().GetRequiredService<Serializer>();
        var expected = Samples()[name];
        var path = Path.Combine(RepoPaths.Root, "tests", "Wrenn.Cluster.Tests", "Golden", $"{name}.bin");
        if (!File.Exists(path))
        {
            if (Environment.GetEnvironmentVariable("WRENN_WRITE_GOLDEN") == "1")
            {
                File.WriteAllBytes(path, serializer.SerializeToArray<object>(expected));
                Assert.Fail($"Wrote {path}: commit it; from now on every build must read it.");
            }
            Assert.Fail($"{path} is missing: the golden file of {name} must be committed (write a new one with WRENN_WRITE_GOLDEN=1).");
        }
        var read = serializer.Deserialize<object>(File.ReadAllBytes(path))!;
        Assert.Equal(expected.GetType(), read.GetType());
        Assert.Equal(Canonical(expected), Canonical(read));
    }

    [Fact]
    public void A_grain_error_keeps_its_code_and_message_across_the_wire()
    {
        var serializer = new ServiceCollection().AddSerializer(b => b.AddAssembly(typeof(GrainException).Assembly))
            .BuildServiceProvider().GetRequiredService<Serializer>();
        var read = serializer.Deserialize<Exception>(serializer.SerializeToArray<Exception>(new GrainException(ErrorCodes.Unavailable, "Host host-1 cannot be reached now.")));
        var grain = Assert.IsType<GrainException>(read);
        Assert.Equal((ErrorCodes.Unavailable, "Host host-1 cannot be reached now."), (grain.Code, grain.Message));
    }

    /// <summary>Records compare dictionaries and arrays by reference; their JSON compares them by content.</summary>
    private static string Canonical(object value) => System.Text.Json.JsonSerializer.Serialize(value, value.GetType());
}
