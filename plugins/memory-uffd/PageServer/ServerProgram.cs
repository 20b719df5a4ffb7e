using Wrenn.Plugins.Memory.Uffd.Snapshots;

namespace Wrenn.Plugins.Memory.Uffd.PageServer;

/// <summary>
/// One sandbox's page server as a process of its own, so that a restored VM keeps getting its pages
/// when the silo restarts: <c>dotnet Wrenn.Plugins.Memory.Uffd.dll serve SOCKET HEADER</c>. It exits
/// 0 when the VMM goes away, non-zero (with the reason on stderr) when serving failed.
/// </summary>
public static class ServerProgram
{
    public static async Task<int> Main(string[] args)
    {
        if (args is not ["serve", var socket, var headerPath])
        {
            await Console.Error.WriteLineAsync("usage: Wrenn.Plugins.Memory.Uffd serve SOCKET HEADER");
            return 2;
        }
        try
        {
            var header = SnapshotHeader.Read(headerPath);
            using var server = await UffdPageServer.AcceptAsync(socket, header, Path.GetDirectoryName(headerPath)!, CancellationToken.None);
            await server.Completion;
            return 0;
        }
        catch (Exception e)
        {
            await Console.Error.WriteLineAsync($"wrenn uffd page server for {socket}: {e.Message}");
            return 1;
        }
    }
}
