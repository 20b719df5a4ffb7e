using System.Runtime.CompilerServices;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.Connect;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Agent.Services;

/// <summary>The Process service: start and stream, stdin, signals, list.</summary>
internal static class ProcessEndpoints
{
    public static void Map(ConnectServer server, ProcessTable table)
    {
        server.ServerStream(AgentEndpoint.Process.Start, StartRequest.Parser, (request, call) => StartAsync(table, request, call.CancellationToken));
        server.Unary(AgentEndpoint.Process.SendInput, SendInputRequest.Parser, async (request, call) =>
        {
            var running = table.Find(request.Pid);
            if (!running.Request.Stdin)
                throw new ConnectException(ConnectCode.FailedPrecondition, $"Process {request.Pid} was started without stdin = true.");
            // One write at a time, in order; a write the caller gave up on keeps the lock until it ends.
            await running.InputLock.WaitAsync(call.CancellationToken);
            Task? write = null;
            try
            {
                var stdin = running.Process.StandardInput;
                // A pipe write blocks while the command does not read: the deadline ends the wait
                // whether or not the write itself can be cancelled.
                write = stdin.WriteAsync(request.Data.Memory).AsTask();
                await write.WaitAsync(call.CancellationToken);
                if (request.Close)
                    running.Process.StandardInput.Dispose();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                throw new ConnectException(ConnectCode.FailedPrecondition, $"The standard input of process {request.Pid} is closed.");
            }
            finally
            {
                if (write is { IsCompleted: false })
                    _ = write.ContinueWith(_ => running.InputLock.Release(), TaskScheduler.Default);
                else
                    running.InputLock.Release();
            }
            return new SendInputResponse();
        });
        server.Unary(AgentEndpoint.Process.SendSignal, SendSignalRequest.Parser, (request, _) =>
        {
            table.Signal(request.Pid, request.Signal);
            return Task.FromResult(new SendSignalResponse());
        });
        server.Unary(AgentEndpoint.Process.List, ListProcessesRequest.Parser, (_, _) =>
        {
            var response = new ListProcessesResponse();
            foreach (var running in table.All)
            {
                var info = new ProcessInfo { Pid = running.Process.Id, Command = running.Request.Command, Tag = running.Request.Tag };
                info.Args.AddRange(running.Request.Args);
                response.Processes.Add(info);
            }
            return Task.FromResult(response);
        });
    }

    private static async IAsyncEnumerable<ProcessEvent> StartAsync(ProcessTable table, StartRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var running = table.Start(request);
        try
        {
            yield return new ProcessEvent { Started = new Started { Pid = running.Process.Id } };
            await foreach (var e in running.Events.ReadAllAsync(cancellationToken))
                yield return e;
        }
        finally
        {
            // The caller went away before the exit: nobody will read the output, so end the group.
            table.KillIfRunning(running);
        }
    }
}
