using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Silo.Sandboxes;

/// <summary>A snapshot template: a frozen disk and a snapshot whose memory file never changes; vCPUs and memory are fixed.</summary>
public sealed record TemplateSnapshot(string Directory, BaseImage Disk, SnapshotFiles Snapshot);

/// <summary>
/// Making a template failed. The source was paused for it: <see cref="Resumed"/> is the source running
/// again (as a new VM), or <see cref="StillPaused"/> what it holds if it could not be resumed.
/// </summary>
public sealed class TemplateFailedException(SandboxVm? resumed, PausedSandboxVm? stillPaused, Exception inner)
    : Exception($"Making the template failed: {inner.Message}", inner)
{
    public SandboxVm? Resumed { get; } = resumed;

    public PausedSandboxVm? StillPaused { get; } = stillPaused;
}

public sealed partial class SandboxVms
{
    /// <summary>
    /// The pause path, then the snapshot becomes a template: the disk is frozen (the sandbox goes on
    /// on a fresh layer over it), the device state and the memory file are copied into the template's
    /// folder, and the source sandbox resumes from its own snapshot, running on as before.
    /// </summary>
    /// <remarks><paramref name="paused"/> and <paramref name="resumed"/> record the source's progress, as for a pause and a resume.</remarks>
    public async Task<(TemplateSnapshot Template, SandboxVm Source)> CreateTemplateAsync(
        SandboxVm sandbox, string templateDirectory, GuestImage image, CancellationToken cancellationToken,
        Func<PausedSandboxVm, Task>? paused = null, Func<SandboxVm, Task>? resumed = null, EgressPolicy? egress = null)
    {
        if (memory is null)
            throw new InvalidOperationException("Snapshot templates need a memory plugin (guest RAM in a file).");
        var elapsed = Stopwatch.StartNew();
        var frozen = await PauseAsync(sandbox, cancellationToken, paused);
        TemplateSnapshot? template = null;
        Exception? failure = null;
        try
        {
            Directory.CreateDirectory(templateDirectory);
            var disk = await storage.FreezeAsync(frozen.Disk, templateDirectory, cancellationToken);
            var state = Path.Combine(templateDirectory, "vmstate");
            File.Copy(frozen.Snapshot.StateFile, state);
            var ram = Path.Combine(templateDirectory, "memory.ram");
            // --sparse keeps the copy as small as what the guest really wrote.
            await Abstractions.Plugins.HostCommand.RunAsync("cp", ["--sparse=always", frozen.Snapshot.MemoryFiles[0], ram], cancellationToken);
            File.SetUnixFileMode(ram, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            var snapshot = frozen.Snapshot with
            {
                Directory = templateDirectory,
                StateFile = state,
                MemoryFiles = [ram],
                Properties = new Dictionary<string, string>(frozen.Snapshot.Properties) { ["memoryShared"] = "false" },
            };
            template = new TemplateSnapshot(templateDirectory, disk, snapshot);
        }
        catch (Exception e)
        {
            if (Directory.Exists(templateDirectory))
                Directory.Delete(templateDirectory, recursive: true);
            failure = e;
        }

        // The source runs on whatever happened to the template; the caller learns where it is either way.
        try
        {
            sandbox = await ResumeAsync(frozen, image, cancellationToken, resumed, egress);
        }
        catch (Exception e)
        {
            throw new TemplateFailedException(null, frozen, failure ?? e);
        }
        if (failure is not null)
            throw new TemplateFailedException(sandbox, null, failure);
        LogTemplate(sandbox.SandboxId, templateDirectory, elapsed.ElapsedMilliseconds);
        return (template!, sandbox);
    }

    /// <summary>
    /// A new sandbox from a template, already running in the template's state: its own CoW disk over
    /// the frozen one, its own network slot, the template's memory mapped private, then the RNG
    /// reseeded and the clock set (clones must not share RNG state).
    /// </summary>
    public async Task<SandboxVm> CreateFromTemplateAsync(string sandboxId, TemplateSnapshot template, GuestImage image, CancellationToken cancellationToken, EgressPolicy? egress = null)
    {
        if (memory is null)
            throw new InvalidOperationException("Snapshot templates need a memory plugin (guest RAM in a file).");
        var undo = new UndoStack(logger);
        try
        {
            // The template's memory is prepared while the disk and the network are (the work folder exists once the call returns).
            var acquired = AcquireDiskSlotAndFolderAsync(sandboxId, template.Disk, egress, undo, cancellationToken);
            var ramReady = memory.PrepareRestoreAsync(sandboxId, template.Snapshot, WorkDirFor(sandboxId), cancellationToken);
            await Task.WhenAll(acquired, ramReady);
            var ((disk, slot, workDir), ram) = (acquired.Result, ramReady.Result);

            var spec = new VmSpec(sandboxId, template.Snapshot.Vcpus, template.Snapshot.MemoryMib, image.Kernel, disk, slot, ram, KernelArgsFor(slot), workDir);
            var vm = await vmm.RestoreAsync(spec, template.Snapshot, cancellationToken);
            undo.Push("stop the VM", () => vmm.StopAsync(vm, CancellationToken.None));

            var created = new SandboxVm(sandboxId, vm, disk, slot, workDir, ram);
            using (var agent = created.Agent())
            {
                var health = await WaitForAgentAsync(agent, vm, created.Network.HostAddress, cancellationToken);
                await SettleGuestAsync(sandboxId, agent, restored: true, cancellationToken, health);
            }
            undo.Commit();
            return created;
        }
        catch
        {
            await undo.UndoAllAsync();
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} frozen into the template in {Directory} in {Milliseconds} ms; it runs on")]
    private partial void LogTemplate(string sandboxId, string directory, long milliseconds);
}
