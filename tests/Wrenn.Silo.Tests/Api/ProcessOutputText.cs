using System.Text;
using System.Text.Json.Nodes;

namespace Wrenn.Silo.Tests.Api;

/// <summary>What a processOutput subscription has shown: PTY bytes decoded from base64, text streams as sent, and the exit.</summary>
public sealed class ProcessOutputText(ApiSubscription subscription)
{
    private readonly List<byte> _pty = [];
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    public string Pty => Encoding.UTF8.GetString(_pty.ToArray());

    /// <summary>The terminal's text split at carriage returns and line feeds.</summary>
    public IReadOnlyList<string> PtyLines => Pty.Split(['\r', '\n']);

    public string Stdout => _stdout.ToString();

    public string Stderr => _stderr.ToString();

    public int? ExitCode { get; private set; }

    /// <summary>Reads events until <paramref name="done"/> holds for what was shown; fails if the stream ends first.</summary>
    public async Task UntilAsync(Func<ProcessOutputText, bool> done)
    {
        if (done(this))
            return;
        await subscription.UntilAsync(e =>
        {
            Add(e);
            return done(this);
        });
    }

    /// <summary>Reads until the process's EXIT; returns its exit code.</summary>
    public async Task<int> ExitAsync()
    {
        await UntilAsync(o => o.ExitCode is not null);
        return ExitCode!.Value;
    }

    private void Add(JsonObject e)
    {
        var type = e["type"]!.GetValue<string>();
        var data = e["data"]?.GetValue<string>();
        var encoding = e["encoding"]?.GetValue<string>();
        switch (type)
        {
            case "PTY":
                Assert.Equal("BASE64", encoding);
                _pty.AddRange(Convert.FromBase64String(data!));
                break;
            case "STDOUT":
                Assert.Equal("UTF8", encoding);
                _stdout.Append(data);
                break;
            case "STDERR":
                Assert.Equal("UTF8", encoding);
                _stderr.Append(data);
                break;
            case "EXIT":
                ExitCode = e["exitCode"]!.GetValue<int>();
                break;
        }
    }
}
