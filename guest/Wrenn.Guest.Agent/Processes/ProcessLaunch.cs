using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Agent.Processes;

/// <summary>A start request checked and resolved: the program's path, its argv, environment and working directory.</summary>
internal sealed record ProcessLaunch(string Program, List<string> Args, Dictionary<string, string> Environment, string Cwd, string User)
{
    public static ProcessLaunch Prepare(StartRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.Command))
            throw Errors.InvalidArgument("The command is empty: give a program name found on PATH, or an absolute path.");
        if (request.Pty is { } pty && (pty.Cols is < 1 or > PseudoTerminal.MaxSize || pty.Rows is < 1 or > PseudoTerminal.MaxSize))
            throw Errors.InvalidArgument($"A terminal of {pty.Cols}×{pty.Rows} is out of range: cols and rows must be 1 to {PseudoTerminal.MaxSize}.");
        var path = request.Env.TryGetValue("PATH", out var p) ? p : ProcessTable.StandardPath;
        var program = Resolve(request.Command, path)
            ?? throw Errors.NotFound($"Command '{request.Command}' was not found on PATH ({path}). Commands run without a shell: use an absolute path, or run e.g. 'sh' with args ['-c', '...'].");
        var user = string.IsNullOrEmpty(request.User) ? "root" : request.User;
        var home = HomeOf(user)
            ?? throw Errors.InvalidArgument($"User '{user}' does not exist in the guest's /etc/passwd: create it first, or run as root.");
        var cwd = string.IsNullOrEmpty(request.Cwd) ? (Directory.Exists(home) ? home : "/") : request.Cwd;
        if (!cwd.StartsWith('/'))
            throw Errors.InvalidArgument($"The working directory '{cwd}' is not absolute: paths in the guest start with '/'.");
        if (!Directory.Exists(cwd))
            throw Errors.InvalidArgument($"The working directory '{cwd}' does not exist.");
        if (request.Args.Any(a => a.Contains('\0')) || request.Command.Contains('\0'))
            throw Errors.InvalidArgument("The command or an argument contains a NUL character, which no program can receive.");
        if (request.Env.Keys.Any(k => k.Length == 0 || k.Contains('=') || k.Contains('\0')) || request.Env.Values.Any(v => v.Contains('\0')))
            throw Errors.InvalidArgument("An environment variable's name is empty or holds '=' or NUL, or its value holds NUL.");

        var argv = new List<string>();
        if (user != "root")
        {
            // runuser (util-linux) switches uid, gids and supplementary groups, then runs the command.
            argv.AddRange(["-u", user, "--", program]);
            program = Resolve("runuser", ProcessTable.StandardPath)
                ?? throw Errors.FailedPrecondition("runuser (util-linux) is missing in the guest: it is needed to run commands as another user.");
        }
        argv.AddRange(request.Args);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry variable in System.Environment.GetEnvironmentVariables())
            environment[(string)variable.Key] = (string?)variable.Value ?? "";
        environment["PATH"] = path;
        environment["HOME"] = home;
        environment["USER"] = user;
        environment.TryAdd("LANG", "C.UTF-8");
        if (request.Pty is not null)
            environment["TERM"] = ProcessTable.DefaultTerm;
        foreach (var (key, value) in request.Env)
            environment[key] = value;
        return new ProcessLaunch(program, argv, environment, cwd, user);
    }

    private static string? Resolve(string command, string path)
    {
        if (command.Contains('/'))
            return File.Exists(command) ? command : null;
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, command);
            if (File.Exists(candidate) && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
                return candidate;
        }
        return null;
    }

    /// <summary>The user's home from /etc/passwd, or null when there is no such user.</summary>
    private static string? HomeOf(string user)
    {
        if (user.Contains(':') || user.Contains('\n'))
            return null;
        if (!File.Exists("/etc/passwd"))
            return user == "root" ? "/root" : null;
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            // name:password:uid:gid:gecos:home:shell
            var fields = line.Split(':');
            if (fields.Length >= 7 && fields[0] == user)
                return fields[5].Length > 0 ? fields[5] : "/";
        }
        return user == "root" ? "/root" : null;
    }
}
