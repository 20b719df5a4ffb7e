using System.Diagnostics;
using System.Reflection;
using Grpc.Core;
using Wrenn.Guest.Agent.Interop;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Agent.Health;

/// <summary>Health, the guest clock and the guest RNG: what the host sets after every restore.</summary>
internal sealed class SystemGrpcService(AgentUptime uptime) : SystemService.SystemServiceBase
{
    private const string PtpClock = "/dev/ptp0";

    // scripts/setup.d/30-agent.sh stamps the hash of the agent's sources in here, so the silo can
    // tell which build runs in an image.
    private static readonly string Version =
        typeof(SystemGrpcService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(SystemGrpcService).Assembly.GetName().Version?.ToString() ?? "0";

    public override Task<HealthResponse> Health(HealthRequest request, ServerCallContext context)
    {
        var response = new HealthResponse
        {
            Version = Version,
            UptimeMs = uptime.Elapsed.ElapsedMilliseconds,
            HasPtpClock = File.Exists(PtpClock),
            Hostname = Environment.MachineName,
            ProtocolVersion = AgentEndpoint.ProtocolVersion,
        };
        response.Capabilities.AddRange(AgentEndpoint.Capabilities.All);
        return Task.FromResult(response);
    }

    public override Task<TimeResponse> GetTime(GetTimeRequest request, ServerCallContext context) => Task.FromResult(Now());

    public override Task<TimeResponse> SetTime(SetTimeRequest request, ServerCallContext context)
    {
        SetClock(request.UnixNanos);
        return Task.FromResult(Now());
    }

    public override Task<HasPtpClockResponse> HasPtpClock(HasPtpClockRequest request, ServerCallContext context) =>
        Task.FromResult(new HasPtpClockResponse { Present = File.Exists(PtpClock), Path = PtpClock });

    public override Task<ReseedRandomResponse> ReseedRandom(ReseedRandomRequest request, ServerCallContext context)
    {
        CheckSeed(request.Seed);
        AddEntropy(request.Seed.Span);
        return Task.FromResult(new ReseedRandomResponse());
    }

    public override Task<TimeResponse> Settle(SettleRequest request, ServerCallContext context)
    {
        // Both checked before either is applied: a bad request changes nothing.
        CheckSeed(request.Seed);
        CheckTime(request.UnixNanos);
        AddEntropy(request.Seed.Span);
        SetClock(request.UnixNanos);
        return Task.FromResult(Now());
    }

    private static void CheckSeed(Google.Protobuf.ByteString seed)
    {
        if (seed.Length is < 16 or > 4096)
            throw Errors.InvalidArgument($"The seed must hold 16 to 4096 bytes (got {seed.Length}).");
    }

    private static void CheckTime(long unixNanos)
    {
        if (unixNanos <= 0)
            throw Errors.InvalidArgument("unix_nanos must be a positive time since 1970.");
    }

    private static void SetClock(long unixNanos)
    {
        CheckTime(unixNanos);
        var time = new Native.Timespec { Seconds = unixNanos / 1_000_000_000, Nanoseconds = unixNanos % 1_000_000_000 };
        if (Native.clock_settime(Native.ClockRealtime, time) != 0)
            throw Errors.PermissionDenied($"clock_settime failed (errno {Native.LastError}): the agent must run as root.");
    }

    private static TimeResponse Now() =>
        new() { UnixNanos = (DateTimeOffset.UtcNow.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100 };

    /// <summary>
    /// RNDADDENTROPY mixes the seed into the input pool and credits it; RNDRESEEDCRNG then makes the
    /// kernel reseed its CRNG from that pool at once. Without the second call a kernel whose CRNG is
    /// already initialised keeps its old key until its next periodic reseed (up to a minute), and
    /// clones restored from one snapshot produce the same random numbers meanwhile (seen in tests).
    /// </summary>
    private static unsafe void AddEntropy(ReadOnlySpan<byte> seed)
    {
        // struct rand_pool_info { int entropy_count; int buf_size; __u32 buf[]; }
        var request = new byte[8 + seed.Length];
        BitConverter.TryWriteBytes(request.AsSpan(0, 4), seed.Length * 8);
        BitConverter.TryWriteBytes(request.AsSpan(4, 4), seed.Length);
        seed.CopyTo(request.AsSpan(8));
        using var random = new FileStream("/dev/random", FileMode.Open, FileAccess.Write);
        var fd = (int)random.SafeFileHandle.DangerousGetHandle();
        fixed (byte* pointer = request)
        {
            if (Native.ioctl(fd, Native.RndAddEntropy, pointer) != 0)
                throw Errors.PermissionDenied($"RNDADDENTROPY failed (errno {Native.LastError}): the agent must run as root.");
            if (Native.ioctl(fd, Native.RndReseedCrng, null) != 0)
                throw Errors.PermissionDenied($"RNDRESEEDCRNG failed (errno {Native.LastError}): the agent must run as root.");
        }
    }
}

/// <summary>Started with the agent; monotonic, so SetTime does not change the uptime.</summary>
internal sealed class AgentUptime
{
    public Stopwatch Elapsed { get; } = Stopwatch.StartNew();
}
