namespace Wrenn.Plugins.Jail.Roots;

/// <summary>
/// What a jailed process sees: only the paths added here, each at the same path as on the host (so
/// command lines, qcow2 backing paths and sockets need no translation). Symbolic links on the way
/// to a path (/lib → usr/lib on merged-/usr hosts) are made again inside, and the real path is
/// bind-mounted. Everything not added does not exist in the jail.
/// </summary>
public sealed class JailRoot
{
    private enum Access
    {
        ReadOnly,
        Writable,
    }

    private readonly Dictionary<string, Access> _paths = new(StringComparer.Ordinal);
    private readonly HashSet<string> _devices = new(StringComparer.Ordinal);
    private bool _proc;

    /// <summary>A file or folder the process may read (and run) but not change.</summary>
    public JailRoot ReadOnly(string path)
    {
        _paths.TryAdd(Check(path), Access.ReadOnly);
        return this;
    }

    public JailRoot ReadOnly(IEnumerable<string> paths)
    {
        foreach (var path in paths)
            ReadOnly(path);
        return this;
    }

    /// <summary>
    /// A file or folder of the sandbox's own that the process writes: bind-mounted read-write and
    /// given to the jail's uid while the jail lives. A device node (a block device disk) becomes a
    /// node inside the jail owned by its uid instead; the host's node is left as it is.
    /// </summary>
    public JailRoot Writable(string path)
    {
        path = Check(path);
        if (IsDevice(path))
            return Device(path);
        _paths[path] = Access.Writable;
        return this;
    }

    /// <summary>A device node (/dev/kvm, /dev/net/tun, /dev/null …) made inside the jail for its uid.</summary>
    public JailRoot Device(string path)
    {
        path = Check(path);
        if (!IsDevice(path))
            throw new JailException($"{path} is not a device node.");
        _devices.Add(Resolve(path, []));
        return this;
    }

    /// <summary>A /proc of the jail's own PID namespace (some runtimes, .NET among them, read /proc/self).</summary>
    public JailRoot WithProc()
    {
        _proc = true;
        return this;
    }

    /// <summary>The real host paths the jail's uid is given (what is chowned, and chowned back on release).</summary>
    public IReadOnlyList<string> Given() =>
        [.. _paths.Where(p => p.Value == Access.Writable).Select(p => Resolve(p.Key, [])).Distinct().Order(StringComparer.Ordinal)];

    /// <summary>The launcher's options that build this root, parents before what lies inside them.</summary>
    public IReadOnlyList<string> LauncherArguments()
    {
        var links = new Dictionary<string, string>(StringComparer.Ordinal);
        var binds = new Dictionary<string, Access>(StringComparer.Ordinal);
        foreach (var (path, access) in _paths)
        {
            var real = Resolve(path, links);
            binds[real] = binds.TryGetValue(real, out var earlier) && earlier == Access.Writable ? earlier : access;
        }
        var devices = _devices.ToList();
        foreach (var device in devices)
            Resolve(device, links);

        // A bind inside another of the same access adds nothing; links inside a bind exist there already.
        var kept = binds.Where(b => !binds.Any(o => o.Key != b.Key && Inside(b.Key, o.Key) && o.Value == b.Value)).ToList();
        var operations = new List<(string Path, string[] Arguments)>();
        operations.AddRange(links.Where(l => !kept.Any(b => Inside(l.Key, b.Key)))
            .Select(l => (l.Key, new[] { "--symlink", $"{l.Value}:{l.Key}" })));
        operations.AddRange(kept.Select(b => (b.Key, new[] { b.Value == Access.Writable ? "--bind" : "--ro-bind", b.Key })));
        operations.AddRange(devices.Select(d => (d, new[] { "--device", d })));
        if (_proc)
            operations.Add(("/proc", ["--proc"]));
        return [.. operations.OrderBy(o => o.Path, StringComparer.Ordinal).SelectMany(o => o.Arguments)];
    }

    private static bool Inside(string path, string folder) => path.StartsWith(folder.TrimEnd('/') + "/", StringComparison.Ordinal);

    private static string Check(string path)
    {
        if (!Path.IsPathFullyQualified(path))
            throw new JailException($"Jail paths must be absolute, got '{path}'.");
        path = Path.GetFullPath(path);
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new JailException($"{path} does not exist, so it cannot be put in the jail.");
        return path;
    }

    private static bool IsDevice(string path) => HostFiles.IsDevice(path);

    /// <summary>The path with every symbolic link on it followed; each link met is recorded (its path → its target as written).</summary>
    private static string Resolve(string path, Dictionary<string, string> links)
    {
        var pending = new Queue<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries));
        var current = "/";
        for (var hops = 0; pending.TryDequeue(out var part);)
        {
            var next = Path.Combine(current, part);
            if (new FileInfo(next).LinkTarget is not { } target)
            {
                current = next;
                continue;
            }
            if (++hops > 40)
                throw new JailException($"Too many symbolic links on the way to {path}.");
            links[next] = target;
            var resolved = Path.GetFullPath(target, current);
            pending = new Queue<string>(resolved.Split('/', StringSplitOptions.RemoveEmptyEntries).Concat(pending));
            current = "/";
        }
        return current;
    }
}
