namespace Wrenn.Silo.Tests.Api;

/// <summary>The web console's terminal (xterm.js, served by the silo) in Debian's Chromium, on the shared sandbox.</summary>
[Collection(ApiCollection.Name)]
public sealed class ConsoleTerminalTests(ApiFixture api)
{
    [Fact]
    public async Task The_console_terminal_runs_a_shell_follows_the_window_size_and_reattaches_after_a_reload()
    {
        if (!File.Exists(Environment.GetEnvironmentVariable("WRENN_CHROMIUM") ?? "/usr/bin/chromium"))
            Assert.Fail("Debian's chromium is missing: scripts/setup installs it (apt install chromium).");
        var id = await api.SharedSandboxAsync();
        var result = await ApiFixture.NodeAsync("terminal.mjs", api.BaseAddress.ToString().TrimEnd('/'), api.AdminKey, id);
        Assert.True(result["error"] is null, $"{result.ToJsonString()}\nVM console:\n{api.ConsoleTail(id)}");
        Assert.True(result["answered"]!.GetValue<bool>(), "typed `echo $((6*7))` and saw 42");
        var size = result["sizeAfterResize"]!.GetValue<string>().Split('x');
        Assert.Equal($"{size[1]} {size[0]}", result["stty"]!.GetValue<string>()); // the shell's terminal has the page's size
        Assert.True(result["samePid"]!.GetValue<bool>() && result["replayed"]!.GetValue<bool>() && result["answeredAgain"]!.GetValue<bool>(),
            "after the reload: the same shell, its earlier output, and it still answers");
        Assert.True(result["exited"]!.GetValue<bool>(), "exit ended the shell and the page forgot it");
    }
}
