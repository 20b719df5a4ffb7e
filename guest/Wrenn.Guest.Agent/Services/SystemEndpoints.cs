using System.Diagnostics;
using System.Reflection;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.Connect;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Agent.Services;

/// <summary>Health, the guest clock and the guest RNG: what the host sets after every restore.</summary>
internal static class SystemEndpoints
{
    private const string PtpClock = "/dev/ptp0";

    // scripts/setup.d/30-agent.sh stamps the hash of the agent's sources in here, so the silo can
    // tell which build runs in an image.
    private static readonly string Version =
        typeof(SystemEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(SystemEndpoints).Assembly.GetName().Version?.ToString() ?? "0";

    /// <param name="uptime">Started with the agent; monotonic, so SetTime does not change the uptime.</param>
    public static void Map(ConnectServer server, Stopwatch uptime)
    {
        server.Unary(AgentEndpoint.System.Health, HealthRequest.Parser, (_, _) => Task.FromResult(new HealthResponse
        {
            Version = Version,
            UptimeMs = uptime.ElapsedMilliseconds,
            HasPtpClock = File.Exists(PtpClock),
            Hostname = Environment.MachineName,
        }));
        server.Unary(AgentEndpoint.System.GetTime, GetTimeRequest.Parser, (_, _) => Task.FromResult(Now()));
        server.Unary(AgentEndpoint.System.SetTime, SetTimeRequest.Parser, (r, _) =>
        {
            if (r.UnixNanos <= 0)
                throw new ConnectException(ConnectCode.InvalidArgument, "unix_nanos must be a positive time since 1970.");
            var time = new Native.Timespec { Seconds = r.UnixNanos / 1_000_000_000, Nanoseconds = r.UnixNanos % 1_000_000_000 };
            if (Native.clock_settime(Native.ClockRealtime, time) != 0)
                throw new ConnectException(ConnectCode.PermissionDenied, $"clock_settime failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}): the agent must run as root.");
            return Task.FromResult(Now());
        });
        server.Unary(AgentEndpoint.System.HasPtpClock, HasPtpClockRequest.Parser, (_, _) =>
            Task.FromResult(new HasPtpClockResponse { Present = File.Exists(PtpClock), Path = PtpClock }));
        server.Unary(AgentEndpoint.System.ReseedRandom, ReseedRandomRequest.Parser, (r, _) =>
        {
            if (r.Seed.Length is < 16 or > 4096)
                throw new ConnectException(ConnectCode.InvalidArgument, "The seed must hold 16 to 4096 bytes.");
            AddEntropy(r.Seed.Span);
            return Task.FromResult(new ReseedRandomResponse());
        });
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
        fixed (byte* pointer = request)
        {
            if (Native.ioctl((int)random.SafeFileHandle.DangerousGetHandle(), Native.RndAddEntropy, pointer) != 0)
                throw new ConnectException(ConnectCode.PermissionDenied, $"RNDADDENTROPY failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}): the agent must run as root.");
            if (Native.ioctl((int)random.SafeFileHandle.DangerousGetHandle(), Native.RndReseedCrng, null) != 0)
                throw new ConnectException(ConnectCode.PermissionDenied, $"RNDRESEEDCRNG failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}): the agent must run as root.");
        }
    }
}
