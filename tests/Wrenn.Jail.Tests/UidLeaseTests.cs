using System.Diagnostics;
using Wrenn.Abstractions.Network;
using Wrenn.Plugins.Jail.Leases;
using Wrenn.Testing;

namespace Wrenn.Jail.Tests;

/// <summary>Uids come from a range, machine-wide: one lease file per uid, taken with O_EXCL.</summary>
public sealed class UidLeaseTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory($"{TestPrefix.Family}-leases-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Two_processes_taking_uids_at_once_never_get_the_same_one()
    {
        // Built beside this project, in the same configuration (…/bin/{Debug|Release}/net10.0/).
        var configuration = Path.GetFileName(Path.GetDirectoryName(AppContext.BaseDirectory.TrimEnd('/')))!;
        var taker = Path.Combine(RepoPaths.Root, "tests", "Wrenn.Jail.UidTaker", "bin", configuration, "net10.0", "Wrenn.Jail.UidTaker.dll");
        Assert.True(File.Exists(taker), $"{taker} is missing: build the solution first.");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { taker, _folder, "3000000", "1000", "200", "other" })
            start.ArgumentList.Add(arg);
        using var other = Process.Start(start)!;
        var mine = new UidLeases(_folder, 3_000_000, 1000);
        await Task.Delay(500); // let the other process load
        await other.StandardInput.WriteLineAsync("go");
        await other.StandardInput.FlushAsync();
        var taken = Enumerable.Range(0, 200).Select(i => mine.Take("mine", $"sb-mine-{i}").Uid).ToList();
        var theirs = (await other.StandardOutput.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
        await other.WaitForExitAsync();

        Assert.Equal(200, theirs.Count);
        Assert.Empty(taken.Intersect(theirs));
        Assert.All(taken.Concat(theirs), uid => Assert.InRange(uid, 3_000_000, 3_000_999));
    }

    [Fact]
    public void A_sandbox_keeps_its_uid_when_asked_again_and_a_freed_uid_goes_to_the_next_sandbox()
    {
        var leases = new UidLeases(_folder, 3_000_000, 10);
        var first = leases.Take("wtaaaa", "sb-1");
        var again = leases.Take("wtaaaa", "sb-1"); // the page server asks for the VMM's jail, or the other way round
        var second = leases.Take("wtaaaa", "sb-2");
        Assert.Equal(first.Uid, again.Uid);
        Assert.NotEqual(first.Uid, second.Uid);

        leases.Free(first.Uid);
        Assert.Null(leases.Find("wtaaaa", "sb-1"));
        Assert.Equal(first.Uid, leases.Take("wtbbbb", "sb-3").Uid);
        Assert.Equal(["sb-2"], leases.OwnedBy("wtaaaa").Select(l => l.SandboxId));
    }

    [Fact]
    public void A_full_range_is_refused_naming_the_range_and_how_to_widen_it()
    {
        var leases = new UidLeases(_folder, 3_000_000, 2);
        leases.Take("wtaaaa", "sb-1");
        leases.Take("wtaaaa", "sb-2");
        var error = Assert.Throws<CapacityException>(() => leases.Take("wtaaaa", "sb-3"));
        Assert.Contains("All 2 jail uids from 3000000 are in use", error.Message);
        Assert.Contains("UidCount", error.Message);
    }
}
