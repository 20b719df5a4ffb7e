using Wrenn.Plugins.Vmm.Qemu;

namespace Wrenn.Vmm.Qemu.Tests;

/// <summary>The per-VM host overhead QEMU reports to the silo, and glibc's arena count, are checked at start.</summary>
public sealed class QemuOptionsTests
{
    [Fact]
    public void The_defaults_pass_and_the_reserved_overhead_is_within_the_cgroup_ceiling()
    {
        var defaults = new QemuOptions();
        Assert.True(new QemuOptionsValidator().Validate(null, defaults).Succeeded);
        Assert.InRange(defaults.ReservedOverheadMib, 1, defaults.MemoryOverheadMib);
    }

    [Theory]
    [InlineData(-1, null, "ReservedOverheadMib must be between 0 and MemoryOverheadMib (192), got -1")]
    [InlineData(193, null, "ReservedOverheadMib must be between 0 and MemoryOverheadMib (192), got 193")]
    [InlineData(64, 0, "MallocArenaMax must be between 1 and 64 when set, got 0")]
    public void A_bad_overhead_or_arena_count_is_refused_naming_the_setting(int reservedOverheadMib, int? mallocArenaMax, string problem)
    {
        var result = new QemuOptionsValidator().Validate(null, new QemuOptions { ReservedOverheadMib = reservedOverheadMib, MallocArenaMax = mallocArenaMax });
        Assert.False(result.Succeeded);
        Assert.Contains(problem, result.FailureMessage);
    }
}
