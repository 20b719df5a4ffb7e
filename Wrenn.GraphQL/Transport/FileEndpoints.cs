using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Transport;

/// <summary>
/// Large files over plain HTTP, same API keys: <c>PUT /files/{sandboxId}?path=…</c> streams the body
/// to the guest in 1 MiB pieces (never whole in memory); <c>GET</c> streams a file back.
/// </summary>
internal sealed class FileEndpoints(IWrennBackend backend)
{
    private const int PieceBytes = 1024 * 1024;

    public async Task UploadAsync(HttpContext context, string sandboxId)
    {
        if (ApiCallers.Of(context) is not { } caller || context.Request.Query["path"].ToString() is not { Length: > 0 } path)
        {
            await RefuseAsync(context);
            return;
        }
        try
        {
            var sandbox = backend.Sandbox(sandboxId);
            var buffer = new byte[PieceBytes];
            long offset = 0;
            FileEntry? entry = null;
            while (true)
            {
                var filled = 0;
                int n;
                while (filled < buffer.Length && (n = await context.Request.Body.ReadAsync(buffer.AsMemory(filled), context.RequestAborted)) > 0)
                    filled += n;
                if (filled == 0 && entry is not null)
                    break;
                entry = await sandbox.WriteFileChunkAsync(caller, path, offset, buffer[..filled], truncate: offset == 0, context.RequestAborted);
                offset += filled;
                if (filled < buffer.Length)
                    break;
            }
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new { entry!.Path, size = offset }, JsonSerializerOptions.Web), context.RequestAborted);
        }
        catch (GrainException e)
        {
            await ErrorAsync(context, e);
        }
    }

    public async Task DownloadAsync(HttpContext context, string sandboxId)
    {
        if (ApiCallers.Of(context) is not { } caller || context.Request.Query["path"].ToString() is not { Length: > 0 } path)
        {
            await RefuseAsync(context);
            return;
        }
        var started = false;
        try
        {
            await foreach (var chunk in backend.Sandbox(sandboxId).ReadFileAsync(caller, path, context.RequestAborted))
            {
                if (!started)
                {
                    context.Response.ContentType = "application/octet-stream";
                    context.Response.Headers.ContentDisposition = $"attachment; filename=\"{Path.GetFileName(path).Replace("\"", "")}\"";
                    started = true;
                }
                await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
            }
            if (!started)
                context.Response.ContentType = "application/octet-stream"; // an empty file
        }
        catch (GrainException e) when (!started)
        {
            await ErrorAsync(context, e);
        }
    }

    private static async Task RefuseAsync(HttpContext context)
    {
        var authenticated = context.Request.Headers.Authorization.Count > 0;
        context.Response.StatusCode = context.Request.Query["path"].Count == 0 && authenticated ? StatusCodes.Status400BadRequest : StatusCodes.Status401Unauthorized;
        await context.Response.WriteAsync(context.Response.StatusCode == 400
            ? "Give the file's path in the sandbox: ?path=/home/user/file\n"
            : "Missing or unknown API key: send Authorization: Bearer wrn_…\n");
    }

    private static async Task ErrorAsync(HttpContext context, GrainException e)
    {
        context.Response.StatusCode = e.Code switch
        {
            ErrorCodes.NotFound => StatusCodes.Status404NotFound,
            ErrorCodes.InvalidArgument => StatusCodes.Status400BadRequest,
            ErrorCodes.FailedPrecondition => StatusCodes.Status409Conflict,
            ErrorCodes.ResourceExhausted => StatusCodes.Status429TooManyRequests, // e.g. waking it (autoResume) would pass its team's quota
            ErrorCodes.PermissionDenied => StatusCodes.Status403Forbidden,
            ErrorCodes.Unavailable or "LOST" => StatusCodes.Status503ServiceUnavailable,
            _ => StatusCodes.Status500InternalServerError,
        };
        await context.Response.WriteAsync(e.Message + "\n");
    }
}
