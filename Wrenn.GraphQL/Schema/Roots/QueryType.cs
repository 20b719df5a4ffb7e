using System.Text;
using GraphQL;
using GraphQL.Types;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;
using Wrenn.GraphQL.Schema.Types;

namespace Wrenn.GraphQL.Schema.Roots;

public sealed class QueryType : ObjectGraphType
{
    /// <summary>readFile's bound: larger files go through GET /files.</summary>
    public const int MaxReadBytes = 16 * 1024 * 1024;

    public QueryType()
    {
        Name = "Query";
        Field<SandboxType, SandboxInfo?>("sandbox").Description("A sandbox of your team, or null.")
            .Argument<NonNullGraphType<IdGraphType>>("id")
            .ResolveAsync(async c =>
            {
                var api = c.Api();
                try
                {
                    return await api.Backend.Sandbox(c.GetArgument<string>("id")).GetAsync(api.Caller);
                }
                catch (GrainException e) when (e.Code == ErrorCodes.NotFound)
                {
                    return null;
                }
            });
        Field<NonNullGraphType<SandboxConnectionType>, SandboxPage>("sandboxes").Description("Your team's sandboxes, newest first.")
            .Argument<IntGraphType>("first", a => a.DefaultValue = 50)
            .Argument<StringGraphType>("after", "The endCursor of the previous page.")
            .Argument<SandboxStateType>("state")
            .ResolveAsync(async c =>
            {
                var api = c.Api();
                var state = c.GetArgument<ApiSandboxState?>("state");
                return await api.Backend.ListSandboxesAsync(api.Caller, state is { } s ? SandboxStateType.ToSilo(s) : null,
                    c.GetArgument<string?>("after"), c.GetArgument("first", 50), c.CancellationToken);
            });
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<TemplateType>>>, IReadOnlyList<TemplateInfo>>("templates").Description("Your team's templates and the public ones.")
            .ResolveAsync(async c => await c.Api().Backend.TemplatesAsync(c.Api().Caller, c.CancellationToken));
        Field<TemplateType, TemplateInfo?>("template")
            .Argument<NonNullGraphType<StringGraphType>>("name")
            .ResolveAsync(async c => await c.Api().Backend.TemplateAsync(c.Api().Caller, c.GetArgument<string>("name"), c.CancellationToken));
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<HostType>>>, IReadOnlyList<HostInfo>>("hosts")
            .ResolveAsync(async c => await c.Api().Backend.HostsAsync(c.Api().Caller, c.CancellationToken));
        Field<NonNullGraphType<FileContentType>, FileContent>("readFile").Description("A file's content (up to 16 MiB; use GET /files for larger ones).")
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .Argument<NonNullGraphType<StringGraphType>>("path")
            .Argument<FileEncodingType>("encoding", a => a.DefaultValue = FileEncoding.Utf8)
            .ResolveAsync(ReadFileAsync);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FileInfoType>>>, IReadOnlyList<FileEntry>>("listDir")
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .Argument<NonNullGraphType<StringGraphType>>("path")
            .ResolveAsync(async c => await c.Api().Backend.Sandbox(c.GetArgument<string>("sandboxId")).ListDirAsync(c.Api().Caller, c.GetArgument<string>("path"), c.CancellationToken));
        Field<FileInfoType, FileEntry?>("stat").Description("What is at a path, or null if nothing is.")
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .Argument<NonNullGraphType<StringGraphType>>("path")
            .ResolveAsync(async c => await c.Api().Backend.Sandbox(c.GetArgument<string>("sandboxId")).StatAsync(c.Api().Caller, c.GetArgument<string>("path"), c.CancellationToken));
        ProcessRoots.AddQueries(this);
        Field<NonNullGraphType<TeamType>, TeamInfo>("me").Description("Your team.")
            .ResolveAsync(async c => await c.Api().Backend.TeamAsync(c.Api().Caller, c.CancellationToken));
    }

    private static async Task<FileContent?> ReadFileAsync(IResolveFieldContext<object?> c)
    {
        var api = c.Api();
        var sandboxId = c.GetArgument<string>("sandboxId");
        var path = c.GetArgument<string>("path");
        var encoding = c.GetArgument("encoding", FileEncoding.Utf8);
        using var bytes = new MemoryStream();
        await foreach (var chunk in api.Backend.Sandbox(sandboxId).ReadFileAsync(api.Caller, path, c.CancellationToken))
        {
            bytes.Write(chunk);
            if (bytes.Length > MaxReadBytes)
                throw ApiErrors.Error("BAD_USER_INPUT", $"{path} is larger than 16 MiB; download it with GET /files/{sandboxId}?path=… instead.");
        }
        var data = bytes.ToArray();
        if (encoding == FileEncoding.Base64)
            return new FileContent(path, Convert.ToBase64String(data), encoding, data.Length);
        try
        {
            return new FileContent(path, new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(data), encoding, data.Length);
        }
        catch (DecoderFallbackException)
        {
            throw ApiErrors.Error("BAD_USER_INPUT", $"{path} is not UTF-8 text; read it with encoding: BASE64.");
        }
    }
}
