using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Vmm;
using Grpc.Core;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Silo.Sandboxes;

public sealed partial class SandboxVms
{
    /// <summary>
    /// Boots a sandbox VM: storage.Prepare, network.Allocate and memory at once → vmm.Boot → wait for the agent →
    /// clock.Sync. If any step fails, what the earlier steps acquired is released before the error
    /// reaches the caller, so a failed create leaves no disk, netns or process behind. The guest runs
    /// under <paramref name="egress"/> from its first instruction (null: the network plugin's default).
    /// </summary>
    public async Task<SandboxVm> CreateAsync(string sandboxId, GuestImage image, VmSize size, CancellationToken cancellationToken, EgressPolicy? egress = null)
    {
        var undo = new UndoStack(logger);
        var clockStarted = Stopwatch.StartNew();
        try
        {
            // The guest's memory is prepared while the disk and the network are (the work folder exists once the call returns).
            var acquired = AcquireDiskSlotAndFolderAsync(sandboxId, image.RootFilesystem, egress, undo, cancellationToken);
            var ramReady = memory is null
                ? Task.FromResult<MemoryBacking?>(null)
                : undo.AcquireAsync<MemoryBacking?>("free the guest memory", async () => await memory.PrepareBootAsync(sandboxId, size.MemoryMib, WorkDirFor(sandboxId), cancellationToken),
                    ram => memory.ReleaseAsync(ram!, CancellationToken.None));
            await Task.WhenAll(acquired, ramReady);
            var ((disk, slot, workDir), ram) = (acquired.Result, ramReady.Result);

            var spec = new VmSpec(sandboxId, size.Vcpus, size.MemoryMib, image.Kernel, disk, slot, ram, KernelArgsFor(slot), workDir);
            var vm = await vmm.BootAsync(spec, cancellationToken);
            undo.Push("stop the VM", () => vmm.StopAsync(vm, CancellationToken.None));

            var created = new SandboxVm(sandboxId, vm, disk, slot, workDir, ram);
            using (var agent = created.Agent())
            {
                await WaitForAgentAsync(agent, vm, created.Network.HostAddress, cancellationToken);
                await SettleGuestAsync(sandboxId, agent, restored: false, cancellationToken);
            }
            undo.Commit();
            LogCreated(sandboxId, clockStarted.ElapsedMilliseconds);
            return created;
        }
        catch
        {
            await undo.UndoAllAsync();
            throw;
        }
    }

    /// <summary>storage.Prepare, network.Allocate (its egress policy in force) and a work folder, at once (none needs another); each undo recorded on <paramref name="undo"/>.</summary>
    private async Task<(PreparedDisk Disk, NetworkSlot Slot, string WorkDir)> AcquireDiskSlotAndFolderAsync(
        string sandboxId, BaseImage baseImage, EgressPolicy? egress, UndoStack undo, CancellationToken cancellationToken)
    {
        // The folder comes first, before anything is awaited: a caller may prepare memory in it meanwhile.
        var workDir = WorkDirFor(sandboxId);
        Directory.CreateDirectory(workDir);
        undo.Push("remove the work folder", () => RemoveWorkDir(workDir));
        var diskReady = undo.AcquireAsync("remove the disk", () => storage.PrepareAsync(sandboxId, baseImage, cancellationToken),
            disk => storage.ReleaseAsync(disk, CancellationToken.None));
        var slotReady = undo.AcquireAsync("release the network slot", () => AllocateSlotAsync(sandboxId, egress, cancellationToken),
            slot => network.ReleaseAsync(slot, CancellationToken.None));
        await Task.WhenAll(diskReady, slotReady);
        return (diskReady.Result, slotReady.Result, workDir);
    }

    /// <summary>The guest's network from its slot, and what the clock plugin needs.</summary>
    private List<string> KernelArgsFor(NetworkSlot slot) =>
        GuestKernelArgs.ForNetwork(slot, hostname: "wrenn").Concat(clock?.KernelArgs ?? []).ToList();

    /// <summary>How long a guest that does not answer gRPC gets before it is asked whether it runs the old agent.</summary>
    private static readonly TimeSpan ProbeAfter = TimeSpan.FromSeconds(3);

    /// <summary>The pause before asking again when the port accepts but gRPC does not answer yet.</summary>
    private static readonly TimeSpan HealthRetry = TimeSpan.FromMilliseconds(20);

    /// <summary>How long the wait for the agent's port goes on before the VM is checked to be alive again.</summary>
    private static readonly TimeSpan LivenessEvery = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Waits until the agent answers its health call (its protocol version and capabilities come
    /// with it), the VM exits, or the timeout passes. The port is watched with fresh SYNs
    /// (<see cref="AgentPortWaiter"/>), so the call goes out the moment the guest listens; no fixed
    /// poll. A guest that keeps refusing gRPC is probed: one that runs the old Connect agent (a
    /// snapshot frozen by an older Wrenn) fails at once.
    /// </summary>
    private async Task<HealthResponse> WaitForAgentAsync(AgentClient agent, VmHandle vm, System.Net.IPAddress address, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        var nextProbe = ProbeAfter;
        while (true)
        {
            if (await AgentPortWaiter.WaitAcceptingAsync(address, AgentEndpoint.DefaultPort, LivenessEvery, cancellationToken))
            {
                try
                {
                    return await agent.HealthAsync(cancellationToken, timeout: TimeSpan.FromSeconds(2));
                }
                catch (AgentException e) when (e.Code is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal or StatusCode.Unimplemented)
                {
                    // Listening but not serving gRPC yet (or not gRPC at all: probed below).
                    await Task.Delay(HealthRetry, cancellationToken);
                }
            }
            if (await vmm.AdoptAsync(vm, cancellationToken) is null)
                throw new VmmException($"The VM of {vm.SandboxId} exited while booting.") { ConsoleTail = VmmException.TailOf(vm.ConsoleLogPath) };
            if (deadline.Elapsed > nextProbe)
            {
                nextProbe = deadline.Elapsed + ProbeAfter;
                var found = await AgentProbe.ProbeAsync(address, AgentEndpoint.DefaultPort, TimeSpan.FromSeconds(2), cancellationToken);
                if (found.Kind == AgentKind.Connect)
                    throw new LegacyAgentException(vm.SandboxId, found.ToString());
            }
            if (deadline.Elapsed > AgentReadyTimeout)
                throw new VmmException($"The guest agent of {vm.SandboxId} did not answer within {AgentReadyTimeout.TotalSeconds:0} s at {agent.BaseAddress}.") { ConsoleTail = VmmException.TailOf(vm.ConsoleLogPath) };
        }
    }

    /// <summary>Which agent a running guest answers with (after a silo restart, for a VM recorded by an older Wrenn).</summary>
    public async Task<AgentProbeResult> ProbeAgentAsync(SandboxVm sandbox, CancellationToken cancellationToken) =>
        await AgentProbe.ProbeAsync(sandbox.Network.HostAddress, AgentEndpoint.DefaultPort, TimeSpan.FromSeconds(3), cancellationToken);

    private static Task RemoveWorkDir(string workDir)
    {
        if (Directory.Exists(workDir))
            Directory.Delete(workDir, recursive: true);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} is running ({Milliseconds} ms from create to a healthy agent)")]
    private partial void LogCreated(string sandboxId, long milliseconds);
}
