using System.IO.Pipes;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Wrenn.Guest.Agent.Services;

/// <summary>How a process ended: its exit status, or the signal that killed it.</summary>
internal readonly record struct ExitStatus(int ExitCode, int Signal);

/// <summary>
/// A child started with posix_spawn in a new session (so its pid is its process-group id) and
/// reaped by the agent itself with waitpid. Not System.Diagnostics.Process: that reaps the child
/// itself and reports "killed by signal N" as exit code 128 + N, which a process exiting with
/// 128 + N by itself cannot be told apart from.
/// </summary>
internal sealed unsafe partial class SpawnedProcess
{
    private const int OCloexec = 0x80000;
    private const short PosixSpawnSetSigDef = 0x04;
    private const short PosixSpawnSetSigMask = 0x08;
    private const short PosixSpawnSetSid = 0x80;
    private const int EIntr = 4;
    private const int SigPipe = 13;
    private const int SigTtin = 21;
    private const int SigTtou = 22;

    private readonly TaskCompletionSource<ExitStatus> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SpawnedProcess(int pid, Stream stdin, Stream stdout, Stream stderr)
    {
        Id = pid;
        StandardInput = stdin;
        StandardOutput = stdout;
        StandardError = stderr;
        // One blocked thread per child: waitpid has no asynchronous form.
        new Thread(Reap) { IsBackground = true, Name = $"reap {pid}" }.Start();
    }

    public int Id { get; }
    public Stream StandardInput { get; }
    public Stream StandardOutput { get; }
    public Stream StandardError { get; }

    /// <summary>Completes once the child has exited and been reaped.</summary>
    public Task<ExitStatus> Exited => _exited.Task;

    /// <summary>Starts <paramref name="program"/> (an absolute path) with pipes for its standard streams.</summary>
    /// <exception cref="SpawnException">posix_spawn failed; <see cref="SpawnException.Errno"/> says why.</exception>
    public static SpawnedProcess Start(string program, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment, string cwd)
    {
        var stdin = Pipe();
        var stdout = Pipe();
        var stderr = Pipe();
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
            Check(posix_spawn_file_actions_adddup2(actions, stdin.Read, 0));
            Check(posix_spawn_file_actions_adddup2(actions, stdout.Write, 1));
            Check(posix_spawn_file_actions_adddup2(actions, stderr.Write, 2));
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
                throw new SpawnException(error, $"posix_spawn of '{program}' failed: {Marshal.GetPInvokeErrorMessage(error)} (errno {error})");
            // The child holds its own ends now.
            close(stdin.Read);
            close(stdout.Write);
            close(stderr.Write);
            stdin.Read = stdout.Write = stderr.Write = -1;
            return new SpawnedProcess(pid, OpenPipe(stdin.Write, PipeDirection.Out), OpenPipe(stdout.Read, PipeDirection.In), OpenPipe(stderr.Read, PipeDirection.In));
        }
        catch
        {
            foreach (var fd in new[] { stdin.Read, stdin.Write, stdout.Read, stdout.Write, stderr.Read, stderr.Write })
            {
                if (fd >= 0)
                    close(fd);
            }
            throw;
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
        while ((result = waitpid(Id, &status, 0)) < 0 && Marshal.GetLastPInvokeError() == EIntr)
        {
        }
        if (result < 0)
        {
            _exited.TrySetException(new InvalidOperationException($"waitpid({Id}) failed (errno {Marshal.GetLastPInvokeError()})."));
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
        if (pipe2(fds, OCloexec) != 0)
            throw new SpawnException(Marshal.GetLastPInvokeError(), $"pipe2 failed (errno {Marshal.GetLastPInvokeError()})");
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

    [LibraryImport("libc")]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc")]
    private static partial int posix_spawn(int* pid, byte* path, void* actions, void* attributes, byte** argv, byte** envp);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_destroy(void* actions);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newFd);

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
