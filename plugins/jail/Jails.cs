using System.Globalization;
using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Plugins;
using Wrenn.Plugins.Jail.Cgroups;
using Wrenn.Plugins.Jail.Leases;
using Wrenn.Plugins.Jail.Roots;

namespace Wrenn.Plugins.Jail;

/// <summary>A TAP device the launcher opens in the sandbox's netns and hands to the program as descriptor <paramref name="Fd"/>.</summary>
public sealed record TapHandover(string Device, int Fd);

/// <summary>One program to start in a sandbox's jail.</summary>
/// <param name="Program">Its absolute path.</param>
/// <param name="Arguments">Its arguments.</param>
/// <param name="Root">The paths it sees (its own binary and libraries are added).</param>
/// <param name="LogPath">Where its stdout and stderr go (appended); quoted when it fails.</param>
/// <param name="NetworkNamespace">The netns it runs in (a name under /run/netns), if any.</param>
/// <param name="Taps">TAP devices handed over as open descriptors (QEMU).</param>
/// <param name="TapOwners">TAP devices the jail's uid may open itself (Firecracker opens its own).</param>
/// <param name="Environment">Its whole environment.</param>
/// <param name="FileSizeLimit">RLIMIT_FSIZE: the largest file it may write (its disk and state files, its console log).</param>
public sealed record JailedProgram(
    string Program,
    IReadOnlyList<string> Arguments,
    JailRoot Root,
    string LogPath,
    string? NetworkNamespace = null,
    IReadOnlyList<TapHandover>? Taps = null,
    IReadOnlyList<string>? TapOwners = null,
    IReadOnlyDictionary<string, string>? Environment = null,
    long? FileSizeLimit = null);

/// <summary>A started program: the jail's init (PID 1 of its PID namespace) and the program itself, as host pids.</summary>
public sealed record JailedProcess(int InitPid, int Pid);

/// <summary>
/// Jails for one plugin's processes: a uid of the configured range per sandbox, its cgroup and
/// limits, and the launcher (wrenn-jail, see launcher/wrenn-jail.c) that builds a fresh root,
/// drops privileges and starts the program. With jails switched off the same launcher starts the
/// program as root in the sandbox's netns, for comparison and for hosts that cannot have jails.
/// </summary>
public sealed partial class Jails
{
    private readonly JailOptions _options;
    private readonly PluginHost _host;
    private readonly ILogger _logger;
    private readonly UidLeases _leases;
    private readonly Lazy<CgroupHierarchy> _cgroups;

    /// <param name="section">The options' configuration section, named in errors.</param>
    public Jails(JailOptions options, PluginHost host, ILogger logger, string section = "Jail")
    {
        options.Validate(section);
        _options = options;
        _host = host;
        _logger = logger;
        _leases = new UidLeases(LeaseDirectory(host), options.FirstUid, options.UidCount);
        _cgroups = new Lazy<CgroupHierarchy>(() => CgroupHierarchy.Detect(options.CgroupVersion, options.CgroupParent));
    }

    public bool Enabled => _options.Enabled;

    /// <summary>The owner prefix of this silo or test run, which its jails carry.</summary>
    public string Owner => _host.OwnerPrefix;

    public JailOptions Options => _options;

    /// <summary>The launcher, beside this assembly (each plugin folder carries its copy).</summary>
    public static string Launcher => Path.Combine(Path.GetDirectoryName(typeof(Jails).Assembly.Location)!, "wrenn-jail");

    /// <summary>Where uid leases live, machine-wide.</summary>
    public static string LeaseDirectory(PluginHost host) => Path.Combine(host.MachineRuntimeDir, "jail-uids");

    /// <summary>
    /// The sandbox's jail: its uid (taken from the range, or the one it holds already: a sandbox's
    /// VMM and page server share it) and its cgroup. Unjailed when jails are off.
    /// </summary>
    public SandboxJail Acquire(string sandboxId)
    {
        if (!_options.Enabled)
            return SandboxJail.Unjailed(_host.OwnerPrefix, sandboxId);
        var lease = _leases.Take(_host.OwnerPrefix, sandboxId);
        try
        {
            if (lease.Cgroups.Count == 0)
            {
                lease = lease with { Cgroups = _cgroups.Value.Create($"{_host.OwnerPrefix}-{sandboxId}") };
                _leases.Update(lease);
            }
        }
        catch
        {
            _leases.Free(lease.Uid);
            throw;
        }
        LogAcquired(sandboxId, lease.Uid);
        return new SandboxJail(_host.OwnerPrefix, sandboxId, lease.Uid, lease.Cgroups);
    }

    /// <summary>Sets the sandbox's CPU, memory and process limits.</summary>
    public void Limit(SandboxJail jail, CgroupLimits limits)
    {
        if (jail.Jailed)
            _cgroups.Value.Limit(jail.Cgroups, limits);
    }

    /// <summary>The limits for a VM of <paramref name="vcpus"/> and <paramref name="memoryBytes"/> (its RAM plus its VMM's overhead).</summary>
    public CgroupLimits LimitsFor(int vcpus, long memoryBytes) => new(vcpus * _options.CpuPerVcpu, memoryBytes, _options.Pids);

    /// <summary>The cgroup's own accounting (CPU time, throttling, memory).</summary>
    public CgroupUsage Usage(SandboxJail jail) => jail.Jailed ? _cgroups.Value.Usage(jail.Cgroups) : new CgroupUsage(0, 0, 0);

    /// <summary>The folder of the jail's cgroup that holds <paramref name="controller"/>.</summary>
    public string? CgroupOf(SandboxJail jail, string controller) => jail.Jailed ? _cgroups.Value.FolderOf(jail.Cgroups, controller) : null;

    /// <summary>
    /// Starts the program in the jail and returns once it runs (not once it is ready). The paths it
    /// writes are given to the jail's uid first (recorded, to be given back on release).
    /// </summary>
    /// <exception cref="JailException">The jail could not be built or the program did not start; the message quotes the launcher and the program's log.</exception>
    public async Task<JailedProcess> StartAsync(SandboxJail jail, JailedProgram program, CancellationToken cancellationToken)
    {
        var args = new List<string> { "--log", program.LogPath };
        if (program.NetworkNamespace is { } ns)
            args.AddRange(["--netns", Path.Combine("/run/netns", ns)]);
        foreach (var tap in program.Taps ?? [])
            args.AddRange(["--tap-fd", $"{tap.Device}:{tap.Fd.ToString(CultureInfo.InvariantCulture)}"]);
        if (jail.Jailed)
        {
            Give(jail, program.Root.Given());
            var root = program.Root.ReadOnly(await SystemFolders.ForAsync(program.Program, cancellationToken));
            var rootDir = Path.Combine(_host.MachineRuntimeDir, "jail-root");
            Directory.CreateDirectory(rootDir);
            foreach (var tap in program.TapOwners ?? [])
                args.AddRange(["--tap-owner", tap]);
            args.AddRange(["--uid", jail.Uid.ToString(CultureInfo.InvariantCulture), "--gid", jail.Gid.ToString(CultureInfo.InvariantCulture), "--new-pid",
                "--nofile", _options.OpenFiles.ToString(CultureInfo.InvariantCulture)]);
            if (program.FileSizeLimit is { } fsize)
                args.AddRange(["--fsize", fsize.ToString(CultureInfo.InvariantCulture)]);
            foreach (var cgroup in jail.Cgroups)
                args.AddRange(["--cgroup", cgroup]);
            args.AddRange(["--root", rootDir]);
            args.AddRange(root.LauncherArguments());
        }
        foreach (var (name, value) in program.Environment ?? new Dictionary<string, string>())
            args.AddRange(["--env", $"{name}={value}"]);
        args.Add("--");
        args.Add(program.Program);
        args.AddRange(program.Arguments);

        var result = await HostCommand.TryRunAsync(Launcher, args, cancellationToken);
        var pids = result.Stdout.Trim().Split(' ');
        if (result.ExitCode != 0 || pids.Length != 2
            || !int.TryParse(pids[0], CultureInfo.InvariantCulture, out var init) || !int.TryParse(pids[1], CultureInfo.InvariantCulture, out var pid))
        {
            var log = File.Exists(program.LogPath) ? string.Join('\n', File.ReadLines(program.LogPath).TakeLast(20)) : "";
            throw new JailException($"{Path.GetFileName(program.Program)} could not be started{(jail.Jailed ? $" in the jail of {jail.SandboxId} (uid {jail.Uid})" : "")}: {result.Stderr.Trim()}{(log.Length > 0 ? $"\n{log}" : "")}");
        }
        LogStarted(Path.GetFileName(program.Program), jail.SandboxId, pid, jail.Uid);
        return new JailedProcess(init, pid);
    }

    /// <summary>
    /// Ends everything in the sandbox's cgroup, removes it, gives the paths the jail was given back
    /// to their owners and frees the uid. Idempotent; nothing is freed while a process lives on.
    /// </summary>
    public Task ReleaseAsync(SandboxJail jail, CancellationToken cancellationToken) =>
        jail.Jailed ? ReleaseAsync(_leases, jail.Uid, jail.Owner, jail.SandboxId, jail.Cgroups, _logger, cancellationToken) : Task.CompletedTask;

    /// <summary>
    /// Gives a file a jailed process wrote (and that leaves its jail, such as a snapshot moved out)
    /// to the silo (root), so that nothing outside a jail stays owned by a uid another sandbox gets next.
    /// </summary>
    public static void TakeBack(string path) => HostFiles.Chown(path, 0, 0);

    /// <summary>The jails of an owner on this machine, from their leases (for the reconciler).</summary>
    public IReadOnlyList<SandboxJail> OwnedBy(string owner) =>
        [.. _leases.OwnedBy(owner).Select(l => new SandboxJail(l.Owner, l.SandboxId, l.Uid, l.Cgroups))];

    /// <summary>
    /// Frees every jail of <paramref name="owner"/> found under <paramref name="machineRuntimeDir"/>
    /// whose sandbox <paramref name="keep"/> does not claim: what a reconciler or a test sweep runs,
    /// needing nothing but the leases. Returns a line per jail freed.
    /// </summary>
    public static async Task<IReadOnlyList<string>> ReleaseOrphansAsync(string machineRuntimeDir, string owner, Func<string, bool> keep, ILogger logger, CancellationToken cancellationToken)
    {
        var leases = new UidLeases(Path.Combine(machineRuntimeDir, "jail-uids"), 0, 0);
        var freed = new List<string>();
        foreach (var lease in leases.OwnedBy(owner).ToList())
        {
            if (keep(lease.SandboxId))
                continue;
            await ReleaseAsync(leases, lease.Uid, lease.Owner, lease.SandboxId, lease.Cgroups, logger, cancellationToken);
            freed.Add($"jail of {lease.SandboxId} (uid {lease.Uid}, cgroup {string.Join(", ", lease.Cgroups)})");
        }
        return freed;
    }

    private void Give(SandboxJail jail, IReadOnlyList<string> paths)
    {
        var lease = _leases.Of(jail.Uid) ?? throw new JailException($"The uid lease {jail.Uid} of {jail.SandboxId} is gone from {_leases.Directory}.");
        var given = lease.Given.ToList();
        foreach (var path in paths)
        {
            var owner = HostFiles.Stat(path) ?? throw new JailException($"{path} does not exist, so it cannot be given to the jail of {jail.SandboxId}.");
            if (owner.Uid == jail.Uid)
                continue;
            given.RemoveAll(g => g.Path == path);
            given.Add(new GivenPath(path, owner.Uid, owner.Gid));
            // Recorded before it happens: a crash in between leaves nothing unreturnable.
            _leases.Update(lease with { Given = given });
            HostFiles.Chown(path, jail.Uid, jail.Gid);
        }
    }

    private static async Task ReleaseAsync(UidLeases leases, int uid, string owner, string sandboxId, IReadOnlyList<string> cgroups, ILogger logger, CancellationToken cancellationToken)
    {
        var lease = leases.Of(uid);
        if (lease is not null && (lease.Owner != owner || lease.SandboxId != sandboxId))
        {
            // The uid went to another sandbox after this one's jail was freed: nothing of it is ours.
            return;
        }
        await CgroupProcesses.KillAndRemoveAsync([.. cgroups.Union(lease?.Cgroups ?? [])], TimeSpan.FromSeconds(10), cancellationToken);
        foreach (var given in lease?.Given ?? [])
            GiveBack(given, uid);
        if (lease is not null)
            leases.Free(uid);
        LogReleased(logger, sandboxId, uid);
    }

    /// <summary>
    /// A given path, and what the jail created inside a given folder, go back to the path's owner;
    /// only what the jail's uid still owns (a path that changed hands since is not ours to touch).
    /// </summary>
    private static void GiveBack(GivenPath given, int uid)
    {
        if (HostFiles.Stat(given.Path) is not { } now || now.Uid != uid)
            return;
        if (Directory.Exists(given.Path) && new FileInfo(given.Path).LinkTarget is null)
        {
            foreach (var inside in Directory.EnumerateFileSystemEntries(given.Path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            {
                if (HostFiles.Lstat(inside) is { } entry && entry.Uid == uid)
                    HostFiles.Chown(inside, given.Uid, given.Gid);
            }
        }
        HostFiles.Chown(given.Path, given.Uid, given.Gid);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Jail of {SandboxId}: uid {Uid}")]
    private partial void LogAcquired(string sandboxId, int uid);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Started {Program} for {SandboxId}: pid {Pid}, uid {Uid}")]
    private partial void LogStarted(string program, string sandboxId, int pid, int uid);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Jail of {SandboxId} (uid {Uid}) freed")]
    private static partial void LogReleased(ILogger logger, string sandboxId, int uid);
}
