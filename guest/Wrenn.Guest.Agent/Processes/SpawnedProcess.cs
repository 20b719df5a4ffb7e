using System.IO.Pipes;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Wrenn.Guest.Agent.Interop;

namespace Wrenn.Guest.Agent.Processes;

/// <summary>How a process ended: its exit status, or the signal that killed it.</summary>
internal readonly record struct ExitStatus(int ExitCode, int Signal);

/// <summary>
/// A child started with posix_spawn in a new session (so its pid is its process-group id) and
/// reaped by the agent itself with waitpid. Not System.Diagnostics.Process: that reaps the child
/// itself and reports "killed by signal N" as exit code 128 + N, which a process exiting with
/// 128 + N by itself cannot be told apart from.
/// </summary>
/// <remarks>
/// On a terminal the child's standard streams are the pseudo-terminal's slave, opened by the child
/// itself: glibc's posix_spawn runs setsid (POSIX_SPAWN_SETSID) before the file actions, and Linux
/// makes a tty the controlling terminal of a session leader that has none when the leader opens it
/// without O_NOCTTY. So the open file action gives the child its controlling tty, which posix_spawn
/// has no TIOCSCTTY action for, without a helper program or a fork in managed code.
/// </remarks>
internal sealed unsafe partial class SpawnedProcess
{
    private const short PosixSpawnSetSigDef = 0x04;
    private const short PosixSpawnSetSigMask = 0x08;
    private const short PosixSpawnSetSid = 0x80;
    private const int SigPipe = 13;
    private const int SigTtin = 21;
    private const int SigTtou = 22;

    private readonly TaskCompletionSource<ExitStatus> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SpawnedProcess(int pid, Stream? stdin, Stream? stdout, Stream? stderr, PseudoTerminal? terminal)
    {
        Id = pid;
        StandardInput = stdin;
        StandardOutput = stdout;
        StandardError = stderr;
        Terminal = terminal;
        // One blocked thread per child: waitpid has no asynchronous form.
        new Thread(Reap) { IsBackground = true, Name = $"reap {pid}" }.Start();
    }

    public int Id { get; }

    /// <summary>The pipe ends, for a process without a terminal.</summary>
    public Stream? StandardInput { get; }
    public Stream? StandardOutput { get; }
    public Stream? StandardError { get; }

    /// <summary>The terminal's master side, for a process on a terminal.</summary>
    public PseudoTerminal? Terminal { get; }

    /// <summary>Completes once the child has exited and been reaped.</summary>
    public Task<ExitStatus> Exited => _exited.Task;

    /// <summary>Starts <paramref name="program"/> (an absolute path) with pipes for its standard streams.</summary>
    /// <exception cref="SpawnException">posix_spawn failed; <see cref="SpawnException.Errno"/> says why.</exception>
    public static SpawnedProcess Start(string program, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment, string cwd)
    {
        var stdin = Pipe();
        var stdout = Pipe();
        var stderr = Pipe();
        try
        {
            var pid = Spawn(program, args, environment, cwd, actions =>
            {
                Check(posix_spawn_file_actions_adddup2(actions, stdin.Read, 0));
                Check(posix_spawn_file_actions_adddup2(actions, stdout.Write, 1));
                Check(posix_spawn_file_actions_adddup2(actions, stderr.Write, 2));
            });
            // The child holds its own ends now.
            Native.close(stdin.Read);
            Native.close(stdout.Write);
            Native.close(stderr.Write);
            stdin.Read = stdout.Write = stderr.Write = -1;
            return new SpawnedProcess(pid, OpenPipe(stdin.Write, PipeDirection.Out), OpenPipe(stdout.Read, PipeDirection.In), OpenPipe(stderr.Read, PipeDirection.In), null);
        }
        catch
        {
            foreach (var fd in new[] { stdin.Read, stdin.Write, stdout.Read, stdout.Write, stderr.Read, stderr.Write })
            {
                if (fd >= 0)
                    Native.close(fd);
            }
            throw;
        }
    }

    /// <summary>Starts <paramref name="program"/> on a new pseudo-terminal of the given size, as its session leader.</summary>
    public static SpawnedProcess StartOnTerminal(string program, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment, string cwd, int cols, int rows)
    {
        var terminal = PseudoTerminal.Open(cols, rows);
        try
        {
            var slave = System.Text.Encoding.UTF8.GetBytes(terminal.SlavePath + "\0");
            var pid = Spawn(program, args, environment, cwd, actions =>
            {
                fixed (byte* path = slave)
                {
                    // Without O_NOCTTY: the new session leader takes the terminal as its controlling tty.
                    Check(posix_spawn_file_actions_addopen(actions, 0, path, Native.ORdwr, 0));
                }
                Check(posix_spawn_file_actions_adddup2(actions, 0, 1));
                Check(posix_spawn_file_actions_adddup2(actions, 0, 2));
            });
            return new SpawnedProcess(pid, null, null, null, terminal);
        }
        catch
        {
            terminal.Dispose();
            throw;
        }
    }

    private static int Spawn(string program, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment, string cwd, Action<nint> addFileActions)
    {
        // glibc's opaque types, with room to spare: posix_spawn_file_actions_t is 80 bytes,
        // posix_spawnattr_t 336, sigset_t 128.
        var actions = NativeMemory.AllocZeroed(512);
        var attributes = NativeMemory.AllocZeroed(1024);
        var noSignals = NativeMemory.AllocZeroed(256);
        var defaultSignals = NativeMemory.AllocZeroed(256);
        var strings = new List<nint>();
        try
        {
            Check(posix_spawn_file_actions_init(actions));
            addFileActions((nint)actions);
            Check(posix_spawn_file_actions_addchdir_np(actions, cwd));
            Check(posix_spawnattr_init(attributes));
            // A new session; no blocked signals; SIGPIPE, SIGTTIN and SIGTTOU back at their defaults
            // (the .NET runtime ignores SIGPIPE, and an ignored signal stays ignored across exec;
            // handled signals reset on exec by themselves).
            Check(posix_spawnattr_setflags(attributes, (short)(PosixSpawnSetSid | PosixSpawnSetSigMask | PosixSpawnSetSigDef)));
            sigemptyset(noSignals);
            sigemptyset(defaultSignals);
            foreach (var signal in new[] { SigPipe, SigTtin, SigTtou })
                sigaddset(defaultSignals, signal);
            Check(posix_spawnattr_setsigmask(attributes, noSignals));
            Check(posix_spawnattr_setsigdefault(attributes, defaultSignals));

            var path = Utf8(program, strings);
            var argv = stackalloc byte*[args.Count + 2];
            argv[0] = path;
            for (var i = 0; i < args.Count; i++)
                argv[i + 1] = Utf8(args[i], strings);
            argv[args.Count + 1] = null;
            var envp = (byte**)NativeMemory.AllocZeroed((nuint)(environment.Count + 1), (nuint)sizeof(byte*));
            strings.Add((nint)envp);
            var e = 0;
            foreach (var (key, value) in environment)
                envp[e++] = Utf8($"{key}={value}", strings);

            int pid;
            var error = posix_spawn(&pid, path, actions, attributes, argv, envp);
            if (error != 0)
                throw new SpawnException(error, $"posix_spawn of '{program}' failed: {Native.ErrorText(error)}");
            return pid;
        }
        finally
        {
            posix_spawn_file_actions_destroy(actions);
            posix_spawnattr_destroy(attributes);
            NativeMemory.Free(actions);
            NativeMemory.Free(attributes);
            NativeMemory.Free(noSignals);
            NativeMemory.Free(defaultSignals);
            foreach (var s in strings)
                NativeMemory.Free((void*)s);
        }
    }

    private void Reap()
    {
        int status;
        int result;
        while ((result = waitpid(Id, &status, 0)) < 0 && Native.LastError == Native.EIntr)
        {
        }
        if (result < 0)
        {
            _exited.TrySetException(new InvalidOperationException($"waitpid({Id}) failed (errno {Native.LastError})."));
            return;
        }
        var signal = status & 0x7f;
        // As a shell reports it: a death by signal N also reads as exit code 128 + N.
        _exited.TrySetResult(signal == 0 ? new ExitStatus((status >> 8) & 0xff, 0) : new ExitStatus(128 + signal, signal));
    }

    private static Stream OpenPipe(int fd, PipeDirection direction) =>
        new AnonymousPipeClientStream(direction, new SafePipeHandle(fd, ownsHandle: true));

    private sealed class PipeEnds
    {
        public int Read;
        public int Write;
    }

    private static PipeEnds Pipe()
    {
        var fds = stackalloc int[2];
        if (pipe2(fds, Native.OCloexec) != 0)
            throw new SpawnException(Native.LastError, $"pipe2 failed (errno {Native.LastError})");
        return new PipeEnds { Read = fds[0], Write = fds[1] };
    }

    private static byte* Utf8(string value, List<nint> owned)
    {
        var bytes = System.Text.Encoding.UTF8.GetByteCount(value);
        var memory = (byte*)NativeMemory.Alloc((nuint)bytes + 1);
        owned.Add((nint)memory);
        System.Text.Encoding.UTF8.GetBytes(value, new Span<byte>(memory, bytes));
        memory[bytes] = 0;
        return memory;
    }

    private static void Check(int error)
    {
        if (error != 0)
            throw new SpawnException(error, $"Preparing posix_spawn failed (errno {error})");
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc")]
    private static partial int posix_spawn(int* pid, byte* path, void* actions, void* attributes, byte** argv, byte** envp);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_destroy(void* actions);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_adddup2(nint actions, int fd, int newFd);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_addopen(nint actions, int fd, byte* path, int flags, uint mode);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int posix_spawn_file_actions_addchdir_np(void* actions, string path);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_init(void* attributes);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_destroy(void* attributes);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setflags(void* attributes, short flags);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigmask(void* attributes, void* signals);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigdefault(void* attributes, void* signals);

    [LibraryImport("libc")]
    private static partial int sigemptyset(void* signals);

    [LibraryImport("libc")]
    private static partial int sigaddset(void* signals, int signal);
}

/// <summary>A process could not be started; <see cref="Errno"/> is the reason (ENOENT, EACCES, …).</summary>
internal sealed class SpawnException(int errno, string message) : Exception(message)
{
    public int Errno { get; } = errno;
}
