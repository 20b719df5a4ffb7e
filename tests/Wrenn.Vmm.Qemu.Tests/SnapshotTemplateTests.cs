using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;

namespace Wrenn.Vmm.Qemu.Tests;

/// <summary>Templates frozen from a running sandbox, and sandboxes started from them, on real QEMU VMs.</summary>
public sealed class SnapshotTemplateTests(VmFixture fixture) : IClassFixture<VmFixture>
{
    private readonly CancellationToken Ct = new CancellationTokenSource(TimeSpan.FromMinutes(5)).Token;

    [Fact]
    public async Task Sandboxes_from_a_template_start_in_its_warm_state_with_their_own_disk_slot_and_randomness()
    {
        var vms = fixture.Plugins.WithSnapshots(NullLoggerFactory.Instance);
        var templateDir = Path.Combine(fixture.Host.DataDir, "templates", "tpl-warm");
        var children = new List<SandboxVm>();
        SandboxVm source;
        using (await MachineGate.EnterAsync())
            source = await vms.CreateAsync(Grains.Ids.SandboxId.New().ToString(), fixture.Image, new VmSize(1, 256), Ct);
        try
        {
            using (var agent = source.Agent())
            {
                // A warmed process (in its own session, so it outlives this exec) and a file.
                await agent.ExecAsync("sh", ["-c", "setsid python3 -c \"import os,time\nopen('/root/warm.pid','w').write(str(os.getpid()))\nwhile True: time.sleep(1)\" >/dev/null 2>&1 &"], Ct);
                await agent.WriteAllBytesAsync("/root/state.txt", "warmed"u8.ToArray(), Ct);
                await WaitForAsync(agent, "/root/warm.pid");
            }

            TemplateSnapshot template;
            using (await MachineGate.EnterAsync())
                (template, source) = await vms.CreateTemplateAsync(source, templateDir, fixture.Image, Ct);

            // The source goes on running, its warm process included.
            using (var agent = source.Agent())
                Assert.Equal(0, (await agent.ExecAsync("sh", ["-c", "kill -0 $(cat /root/warm.pid)"], Ct)).ExitCode);

            for (var i = 0; i < 3; i++)
            {
                using (await MachineGate.EnterAsync())
                    children.Add(await vms.CreateFromTemplateAsync(Grains.Ids.SandboxId.New().ToString(), template, fixture.Image, Ct));
            }

            var randomness = new List<string>();
            for (var i = 0; i < children.Count; i++)
            {
                var child = children[i];
                await GuestConsole.QuoteOnFailureAsync(child, async () =>
                {
                    using var agent = child.Agent();
                    Assert.Equal(0, (await agent.ExecAsync("sh", ["-c", "kill -0 $(cat /root/warm.pid)"], Ct)).ExitCode);
                    Assert.Equal("warmed", System.Text.Encoding.UTF8.GetString(await agent.ReadAllBytesAsync("/root/state.txt", Ct)));
                    await agent.WriteAllBytesAsync($"/root/child-{i}.txt", "mine"u8.ToArray(), Ct);
                    randomness.Add((await agent.ExecAsync("sh", ["-c", "head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'"], Ct)).StdoutText);
                });
            }

            // Separate disks: a file written in one child is in no other, nor in the source.
            using (var second = children[1].Agent())
                Assert.Equal(1, (await second.ExecAsync("test", ["-e", "/root/child-0.txt"], Ct)).ExitCode);
            using (var sourceAgent = source.Agent())
                Assert.Equal(1, (await sourceAgent.ExecAsync("test", ["-e", "/root/child-0.txt"], Ct)).ExitCode);
            // Separate slots, and different random numbers (the RNG was reseeded in each).
            Assert.Equal(4, children.Select(c => c.Network.Index).Append(source.Network.Index).Distinct().Count());
            Assert.Equal(3, randomness.Distinct().Count());
            // A child pauses and resumes like any sandbox; its own pages travel in its snapshot (all
            // of its RAM: the restore maps an empty file under the stream, not the template's). Memory
            // it wrote (a tmpfs file) and memory it only inherited (the warm process) come back.
            string written;
            using (var agent = children[0].Agent())
                written = (await agent.ExecAsync("sh", ["-c", "head -c 8388608 /dev/urandom > /dev/shm/pattern && sha256sum /dev/shm/pattern"], Ct)).StdoutText;
            using (await MachineGate.EnterAsync())
            {
                var paused = await vms.PauseAsync(children[0], Ct);
                children[0] = await vms.ResumeAsync(paused, fixture.Image, Ct);
            }
            await GuestConsole.QuoteOnFailureAsync(children[0], async () =>
            {
                using var agent = children[0].Agent();
                Assert.Equal(0, (await agent.ExecAsync("sh", ["-c", "kill -0 $(cat /root/warm.pid)"], Ct)).ExitCode);
                Assert.Equal("mine", System.Text.Encoding.UTF8.GetString(await agent.ReadAllBytesAsync("/root/child-0.txt", Ct)));
                Assert.Equal(written, (await agent.ExecAsync("sh", ["-c", "sha256sum /dev/shm/pattern"], Ct)).StdoutText);
                Assert.Equal("warmed", System.Text.Encoding.UTF8.GetString(await agent.ReadAllBytesAsync("/root/state.txt", Ct)));
            });
            // The template's memory file is shared, never written: it is read-only on disk.
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(template.Snapshot.MemoryFiles[0]));
        }
        finally
        {
            foreach (var child in children)
                await vms.DestroyAsync(child, CancellationToken.None);
            await vms.DestroyAsync(source, CancellationToken.None);
            if (Directory.Exists(templateDir))
                Directory.Delete(templateDir, recursive: true);
        }
    }

    private async Task WaitForAsync(Wrenn.Guest.Protocol.AgentClient agent, string path)
    {
        for (var i = 0; i < 120; i++)
        {
            if ((await agent.ExecAsync("test", ["-s", path], Ct)).ExitCode == 0)
                return;
            await Task.Delay(250, Ct);
        }
        throw new TimeoutException($"{path} never appeared in the guest");
    }
}
