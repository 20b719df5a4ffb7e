using GraphQL.Execution;
using GraphQLParser;
using GraphQLParser.AST;
using GraphQLParser.Exceptions;
using Microsoft.Extensions.Options;

namespace Wrenn.GraphQL.Execution;

/// <summary>A document that is not GraphQL, or that a limit refuses; worded as graphql-js words syntax errors.</summary>
public sealed class DocumentRefusedError : DocumentError
{
    public DocumentRefusedError(string description, int line = 1, int column = 1)
        : base($"Syntax Error: {description}")
    {
        AddLocation(new Location(line, column));
    }
}

/// <summary>
/// Parses documents for GraphQL.NET's executer with Wrenn's limits: size, tokens and nesting are
/// checked while lexing (GraphQL.NET's own lexer), before a parse tree exists; fields and aliases once
/// parsed, before validation. Fragments are followed by counting, never by expanding them, so a
/// fragment bomb or a chain of thousands of fragments is refused in time linear in its size (GraphQL.NET's
/// complexity analyzer and validation rules walk every spread, recursively).
/// </summary>
public sealed class DocumentLimits(IOptions<WrennApiOptions> options) : IDocumentBuilder
{
    private readonly WrennApiOptions _limits = options.Value;

    public GraphQLDocument Build(string body)
    {
        if (body.Length > _limits.MaxDocumentChars)
            throw new DocumentRefusedError($"Document is {body.Length} characters long, more than the limit of {_limits.MaxDocumentChars}; send a smaller document.");
        GraphQLDocument document;
        try
        {
            CheckTokens(body);
            // The parser's own depth (parse-tree nodes) only backs the brace count up: a level of selections is two or three nodes.
            document = Parser.Parse(body, new ParserOptions { Ignore = IgnoreOptions.Comments, MaxDepth = _limits.MaxDepth * 4 + 16 });
        }
        catch (GraphQLSyntaxErrorException e)
        {
            throw new DocumentRefusedError(e.Description, e.Location.Line, e.Location.Column);
        }
        catch (GraphQLMaxDepthExceededException)
        {
            throw new DocumentRefusedError($"Document nests deeper than the limit of {_limits.MaxDepth}; flatten the query.");
        }
        catch (IndexOutOfRangeException)
        {
            // GraphQL-Parser 9.5 fails while quoting the source around some errors after a carriage return
            // (found by the fuzz test): the document is not valid either way; say why from a copy the parser can quote.
            throw Unquotable(body);
        }
        if (document.Definitions.Count == 0)
            throw new DocumentRefusedError("Unexpected <EOF>.");
        CheckSelections(document);
        return document;
    }

    /// <summary>The syntax error of a document whose error GraphQL-Parser cannot quote, found again with its carriage returns as newlines (same length, same places).</summary>
    private DocumentRefusedError Unquotable(string body)
    {
        var copy = body.Replace("\r\n", " \n", StringComparison.Ordinal).Replace('\r', '\n');
        try
        {
            CheckTokens(copy);
            Parser.Parse(copy, new ParserOptions { Ignore = IgnoreOptions.Comments, MaxDepth = _limits.MaxDepth * 4 + 16 });
        }
        catch (GraphQLSyntaxErrorException e)
        {
            return new DocumentRefusedError(e.Description, e.Location.Line, e.Location.Column);
        }
        catch (Exception e) when (e is GraphQLParserException or IndexOutOfRangeException)
        {
        }
        return new DocumentRefusedError("The document is not valid GraphQL around a carriage return.");
    }

    private void CheckTokens(string body)
    {
        var source = new ROM(body.AsMemory());
        int tokens = 0, depth = 0, at = 0;
        while (true)
        {
            var token = Lexer.Lex(source, at);
            if (token.Kind == TokenKind.EOF)
                return;
            at = token.End;
            if (token.Kind == TokenKind.COMMENT)
                continue;
            if (++tokens > _limits.MaxTokens)
                throw Refused($"Document contains more than {_limits.MaxTokens} tokens; send a smaller document.", body, token.Start);
            if (token.Kind is TokenKind.BRACE_L or TokenKind.BRACKET_L && ++depth > _limits.MaxDepth)
                throw Refused($"Document nests deeper than the limit of {_limits.MaxDepth}; flatten the query.", body, token.Start);
            if (token.Kind is TokenKind.BRACE_R or TokenKind.BRACKET_R && depth > 0)
                depth--;
        }
    }

    /// <summary>Fields per operation with every spread counted, nesting of selections through fragments, aliases in the document.</summary>
    private void CheckSelections(GraphQLDocument document)
    {
        var fragments = new Dictionary<string, Shape>();
        var operations = new List<Shape>();
        var aliases = 0;
        foreach (var definition in document.Definitions)
        {
            var selections = definition switch
            {
                GraphQLOperationDefinition o => o.SelectionSet,
                GraphQLFragmentDefinition f => f.SelectionSet,
                _ => null,
            };
            if (selections is null)
                continue;
            var shape = Shape.Of(selections, ref aliases);
            if (definition is GraphQLFragmentDefinition fragment)
                fragments.TryAdd((string)fragment.FragmentName.Name.Value, shape);
            else
                operations.Add(shape);
        }
        if (aliases > _limits.MaxAliases)
            throw new DocumentRefusedError($"Document uses {aliases} aliases, more than the limit of {_limits.MaxAliases}; split the request.");

        var expanded = Expand(fragments);
        foreach (var operation in operations)
        {
            var (fields, depth) = operation.Expanded(expanded);
            if (depth > _limits.MaxDepth)
                throw new DocumentRefusedError($"Operation nests selections {depth} deep through its fragments, more than the limit of {_limits.MaxDepth}; flatten the query.");
            if (fields > _limits.MaxFields)
                throw new DocumentRefusedError($"Operation selects {fields:0} fields (fragments counted at every spread), more than the limit of {_limits.MaxFields}; split the request.");
        }
    }

    /// <summary>Each fragment's fields and depth with its spreads followed, in dependency order, without recursion (a cycle counts as nothing: validation reports it).</summary>
    private static Dictionary<string, (double Fields, int Depth)> Expand(Dictionary<string, Shape> fragments)
    {
        var done = new Dictionary<string, (double Fields, int Depth)>();
        var onPath = new HashSet<string>();
        foreach (var root in fragments.Keys)
        {
            if (done.ContainsKey(root))
                continue;
            var stack = new Stack<(string Name, bool Children)>();
            stack.Push((root, false));
            while (stack.TryPop(out var item))
            {
                if (item.Children)
                {
                    onPath.Remove(item.Name);
                    done[item.Name] = fragments[item.Name].Expanded(done);
                    continue;
                }
                if (done.ContainsKey(item.Name) || !onPath.Add(item.Name))
                    continue;
                stack.Push((item.Name, true));
                foreach (var spread in fragments[item.Name].Spreads.Keys)
                    if (fragments.ContainsKey(spread) && !done.ContainsKey(spread) && !onPath.Contains(spread))
                        stack.Push((spread, false));
            }
        }
        return done;
    }

    /// <summary>
    /// A selection set without its fragments: its own fields and depth, and for each fragment it spreads
    /// how often and at which depth (the deepest spread of each).
    /// </summary>
    private sealed record Shape(double Fields, int Depth, Dictionary<string, (int Count, int Depth)> Spreads)
    {
        public static Shape Of(GraphQLSelectionSet root, ref int aliases)
        {
            double fields = 0;
            var depth = 0;
            var spreads = new Dictionary<string, (int Count, int Depth)>();
            var stack = new Stack<(GraphQLSelectionSet Set, int Depth)>();
            stack.Push((root, 1));
            while (stack.TryPop(out var item))
            {
                depth = Math.Max(depth, item.Depth);
                foreach (var selection in item.Set.Selections)
                {
                    switch (selection)
                    {
                        case GraphQLField field:
                            fields++;
                            if (field.Alias is not null)
                                aliases++;
                            if (field.SelectionSet is { } sub)
                                stack.Push((sub, item.Depth + 1));
                            break;
                        case GraphQLInlineFragment inline:
                            stack.Push((inline.SelectionSet, item.Depth + 1));
                            break;
                        case GraphQLFragmentSpread spread:
                            var name = (string)spread.FragmentName.Name.Value;
                            var (count, deepest) = spreads.GetValueOrDefault(name);
                            spreads[name] = (count + 1, Math.Max(deepest, item.Depth));
                            break;
                    }
                }
            }
            return new Shape(fields, depth, spreads);
        }

        /// <summary>Fields and depth with the spreads replaced by what their fragments expand to (unknown fragments: nothing; validation reports them).</summary>
        public (double Fields, int Depth) Expanded(IReadOnlyDictionary<string, (double Fields, int Depth)> fragments)
        {
            var fields = Fields;
            var depth = Depth;
            foreach (var (name, spread) in Spreads)
            {
                if (!fragments.TryGetValue(name, out var fragment))
                    continue;
                fields += spread.Count * fragment.Fields;
                depth = Math.Max(depth, spread.Depth + fragment.Depth);
            }
            return (fields, depth);
        }
    }

    private static DocumentRefusedError Refused(string description, string body, int offset)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < offset && i < body.Length; i++)
        {
            if (body[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }
        return new DocumentRefusedError(description, line, offset - lineStart + 1);
    }
}
