using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Vmm;
using Wrenn.Guest.Protocol;

namespace Wrenn.Silo.Sandboxes;

/// <summary>What a running sandbox holds on its host: the VM, its disk, its network slot and its work folder.</summary>
public sealed record SandboxVm(string SandboxId, VmHandle Vm, PreparedDisk Disk, NetworkSlot Network, string WorkDir, MemoryBacking? Memory = null)
{
    /// <summary>A client for the sandbox's guest agent, reached through its slot address.</summary>
    public AgentClient Agent(Grpc.Core.Interceptors.Interceptor? interceptor = null) => AgentClient.For(Network.HostAddress, interceptor: interceptor);
}

/// <summary>How big a sandbox's VM is.</summary>
public sealed record VmSize(int Vcpus, int MemoryMib);

/// <summary>
/// What a paused sandbox keeps: files only (its detached disk and its snapshot). No VMM process,
/// namespace or link exists for it; its network slot went back to the pool.
/// </summary>
public sealed record PausedSandboxVm(string SandboxId, PreparedDisk Disk, SnapshotFiles Snapshot);
