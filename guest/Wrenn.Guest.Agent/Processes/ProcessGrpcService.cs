using Grpc.Core;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Agent.Processes;

/// <summary>The Process service over the process table.</summary>
internal sealed class ProcessGrpcService(ProcessTable table) : ProcessService.ProcessServiceBase
{
    public override async Task Start(StartRequest request, IServerStreamWriter<ProcessEvent> responseStream, ServerCallContext context)
    {
        var (process, owner) = table.Start(request, detached: false);
        try
        {
            await foreach (var e in owner!.ReadAllAsync(context.CancellationToken))
                await responseStream.WriteAsync(e, context.CancellationToken);
        }
        finally
        {
            owner!.Dispose();
            // The caller went away before the exit (cancelled, past its deadline, disconnected):
            // nobody will read the output, so the group ends.
            table.KillIfRunning(process);
        }
    }

    public override Task<ProcessInfo> StartProcess(StartRequest request, ServerCallContext context) =>
        Task.FromResult(table.Start(request, detached: true).Process.ToInfo());

    public override async Task Attach(AttachRequest request, IServerStreamWriter<ProcessEvent> responseStream, ServerCallContext context)
    {
        // Detaching (the call ends) only unsubscribes: the process goes on.
        using var subscription = table.Find(request.Pid).Subscribe(lossless: false);
        await foreach (var e in subscription.ReadAllAsync(context.CancellationToken))
            await responseStream.WriteAsync(e, context.CancellationToken);
    }

    public override async Task<SendInputResponse> SendInput(SendInputRequest request, ServerCallContext context)
    {
        await table.Find(request.Pid).WriteInputAsync(request.Data.Memory, request.Close, context.CancellationToken);
        return new SendInputResponse();
    }

    public override async Task<SendInputResponse> StreamInput(IAsyncStreamReader<SendInputRequest> requestStream, ServerCallContext context)
    {
        ManagedProcess? process = null;
        await foreach (var message in requestStream.ReadAllAsync(context.CancellationToken))
        {
            if (process is null)
                process = table.Find(message.Pid);
            else if (message.Pid != 0 && message.Pid != process.Pid)
                throw Errors.InvalidArgument($"This input stream is for process {process.Pid}; a message named pid {message.Pid}. Open one stream per process.");
            await process.WriteInputAsync(message.Data.Memory, message.Close, context.CancellationToken);
        }
        return new SendInputResponse();
    }

    public override Task<SendSignalResponse> SendSignal(SendSignalRequest request, ServerCallContext context)
    {
        table.Signal(request.Pid, request.Signal);
        return Task.FromResult(new SendSignalResponse());
    }

    public override Task<ResizeTerminalResponse> ResizeTerminal(ResizeTerminalRequest request, ServerCallContext context)
    {
        if (request.Cols is < 1 or > PseudoTerminal.MaxSize || request.Rows is < 1 or > PseudoTerminal.MaxSize)
            throw Errors.InvalidArgument($"A terminal of {request.Cols}×{request.Rows} is out of range: cols and rows must be 1 to {PseudoTerminal.MaxSize}.");
        table.Find(request.Pid).Resize((int)request.Cols, (int)request.Rows);
        return Task.FromResult(new ResizeTerminalResponse());
    }

    public override Task<ListProcessesResponse> List(ListProcessesRequest request, ServerCallContext context)
    {
        var response = new ListProcessesResponse();
        foreach (var process in table.All)
            response.Processes.Add(process.ToInfo());
        return Task.FromResult(response);
    }
}
