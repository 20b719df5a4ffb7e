using Microsoft.Extensions.Options;

namespace Wrenn.GraphQL;

/// <summary>
/// The API's limits (<c>Wrenn:GraphQL:…</c>, e.g. <c>WRENN__GRAPHQL__MAXDEPTH</c>). A request over a
/// limit is refused with a message naming it, before any resolver runs.
/// </summary>
public sealed class WrennApiOptions
{
    public const string Section = "Wrenn:GraphQL";

    /// <summary>Characters in a document.</summary>
    public int MaxDocumentChars { get; set; } = 1_000_000;

    /// <summary>Lexical tokens in a document (an alias flood is refused before it is parsed).</summary>
    public int MaxTokens { get; set; } = 100_000;

    /// <summary>Nesting of braces and brackets in a document, and of fields in an operation with its fragments.</summary>
    public int MaxDepth { get; set; } = 64;

    /// <summary>Fields an operation selects, each fragment counted every time it is spread (the bound on the work one document asks for).</summary>
    public int MaxFields { get; set; } = 5_000;

    /// <summary>Aliased fields in a document.</summary>
    public int MaxAliases { get; set; } = 500;

    /// <summary>Items in all lists of a request's variables together.</summary>
    public int MaxVariableListItems { get; set; } = 100_000;

    /// <summary>How long a WebSocket may wait before connection_init (graphql-transport-ws closes it with 4408 after that).</summary>
    public TimeSpan ConnectionInitTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Events a subscription may run ahead of what its WebSocket has sent.</summary>
    public int SubscriptionBuffer { get; set; } = 16;
}

/// <summary>Refuses settings that would switch a protection off, naming the setting.</summary>
public sealed class WrennApiOptionsValidator : IValidateOptions<WrennApiOptions>
{
    public ValidateOptionsResult Validate(string? name, WrennApiOptions options)
    {
        var failures = new List<string>();
        void AtLeast(string setting, long value, long minimum)
        {
            if (value < minimum)
                failures.Add($"{WrennApiOptions.Section}:{setting} must be at least {minimum} (got {value}).");
        }
        AtLeast(nameof(options.MaxDocumentChars), options.MaxDocumentChars, 1);
        AtLeast(nameof(options.MaxTokens), options.MaxTokens, 1);
        AtLeast(nameof(options.MaxDepth), options.MaxDepth, 1);
        AtLeast(nameof(options.MaxFields), options.MaxFields, 1);
        AtLeast(nameof(options.MaxAliases), options.MaxAliases, 0);
        AtLeast(nameof(options.MaxVariableListItems), options.MaxVariableListItems, 0);
        AtLeast(nameof(options.SubscriptionBuffer), options.SubscriptionBuffer, 1);
        if (options.ConnectionInitTimeout <= TimeSpan.Zero)
            failures.Add($"{WrennApiOptions.Section}:{nameof(options.ConnectionInitTimeout)} must be positive (got {options.ConnectionInitTimeout}).");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
