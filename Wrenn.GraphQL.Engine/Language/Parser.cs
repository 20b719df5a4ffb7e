namespace Wrenn.GraphQL.Engine.Language;

/// <summary>Limits checked while parsing, so a hostile document is refused before it costs much.</summary>
public sealed record ParserLimits
{
    public int MaxDocumentChars { get; init; } = 1_000_000;
    public int MaxTokens { get; init; } = 100_000;
    /// <summary>Nesting of selection sets, list/object values and list types; counted while parsing so the stack cannot overflow.</summary>
    public int MaxDepth { get; init; } = 64;
    public static ParserLimits Default { get; } = new();
}

/// <summary>Recursive descent over the executable grammar of the spec (section 2, appendix B).</summary>
public sealed class Parser
{
    private readonly Lexer _lexer;
    private readonly ParserLimits _limits;
    private Token _token;
    private int _depth;

    private Parser(string source, ParserLimits limits)
    {
        _limits = limits;
        _lexer = new Lexer(source, limits.MaxTokens);
        _token = _lexer.Next();
    }

    public static Document Parse(string source, ParserLimits? limits = null)
    {
        limits ??= ParserLimits.Default;
        if (source.Length > limits.MaxDocumentChars)
            throw new GraphQLSyntaxException($"Document is {source.Length} characters long, more than the limit of {limits.MaxDocumentChars}; send a smaller document.", new Location(1, 1));
        return new Parser(source, limits).ParseDocument();
    }

    private Document ParseDocument()
    {
        Location loc = _token.Location;
        var defs = new List<Definition>();
        do defs.Add(ParseDefinition()); while (_token.Kind != TokenKind.Eof);
        return new Document(defs, loc);
    }

    private Definition ParseDefinition()
    {
        if (_token.Kind == TokenKind.BraceL) return ParseOperation();
        bool described = _token.Kind is TokenKind.String or TokenKind.BlockString;
        if (_token.Kind == TokenKind.Name || described)
        {
            Token kw = described ? PeekAfterDescription() : _token;
            switch (kw.Value)
            {
                case "query" or "mutation" or "subscription" when !described: return ParseOperation();
                case "fragment" when !described: return ParseFragment();
                case "schema" or "scalar" or "type" or "interface" or "union" or "enum" or "input" or "directive" or "extend":
                    return SkipTypeSystemDefinition();
            }
            throw Unexpected(kw);
        }
        throw Unexpected(_token);
    }

    private Token PeekAfterDescription()
    {
        Location loc = _token.Location;
        Advance();
        if (_token.Kind != TokenKind.Name) throw Unexpected(_token);
        return _token;
    }

    // Type-system definitions are not executed; they are kept as one node so that the
    // ExecutableDefinitions rule can name them. Skipped by balancing brackets up to the next definition keyword.
    private TypeSystemDefinition SkipTypeSystemDefinition()
    {
        Location loc = _token.Location;
        string keyword = _token.Value!;
        Advance();
        if (keyword == "extend") { keyword = ExpectName(); }
        string? name = _token.Kind == TokenKind.Name ? _token.Value : null;
        int nesting = 0;
        while (_token.Kind != TokenKind.Eof)
        {
            if (_token.Kind is TokenKind.BraceL or TokenKind.ParenL or TokenKind.BracketL) nesting++;
            else if (_token.Kind is TokenKind.BraceR or TokenKind.ParenR or TokenKind.BracketR) nesting--;
            Advance();
            if (nesting == 0 && _token.Kind == TokenKind.Name && _token.Value is "query" or "mutation" or "subscription" or "fragment" or "schema" or "scalar" or "type" or "interface" or "union" or "enum" or "input" or "directive" or "extend")
                break;
            if (nesting == 0 && _token.Kind is TokenKind.BraceL && keyword is not ("type" or "interface" or "enum" or "input" or "schema")) break;
        }
        return new TypeSystemDefinition(keyword, name, loc);
    }

    private OperationDefinition ParseOperation()
    {
        Location loc = _token.Location;
        if (_token.Kind == TokenKind.BraceL)
            return new OperationDefinition(OperationType.Query, null, [], [], ParseSelectionSet(), loc);
        OperationType op = ExpectName() switch
        {
            "query" => OperationType.Query,
            "mutation" => OperationType.Mutation,
            _ => OperationType.Subscription,
        };
        string? name = _token.Kind == TokenKind.Name ? ExpectName() : null;
        var vars = ParseVariableDefinitions();
        var dirs = ParseDirectives(isConst: false);
        return new OperationDefinition(op, name, vars, dirs, ParseSelectionSet(), loc);
    }

    private IReadOnlyList<VariableDefinition> ParseVariableDefinitions()
    {
        if (_token.Kind != TokenKind.ParenL) return [];
        Advance();
        var list = new List<VariableDefinition>();
        do
        {
            Location loc = _token.Location;
            Expect(TokenKind.Dollar);
            string name = ExpectName();
            Expect(TokenKind.Colon);
            TypeRef type = ParseType();
            Value? def = null;
            if (_token.Kind == TokenKind.Equals) { Advance(); def = ParseValue(isConst: true); }
            list.Add(new VariableDefinition(name, type, def, ParseDirectives(isConst: true), loc));
        } while (_token.Kind != TokenKind.ParenR);
        Advance();
        return list;
    }

    private TypeRef ParseType()
    {
        Location loc = _token.Location;
        TypeRef type;
        if (_token.Kind == TokenKind.BracketL)
        {
            Advance();
            Enter(loc);
            TypeRef inner = ParseType();
            _depth--;
            Expect(TokenKind.BracketR);
            type = new ListTypeRef(inner, loc);
        }
        else type = new NamedTypeRef(ExpectName(), loc);
        if (_token.Kind == TokenKind.Bang) { Advance(); return new NonNullTypeRef(type, loc); }
        return type;
    }

    private FragmentDefinition ParseFragment()
    {
        Location loc = _token.Location;
        Advance();
        if (_token.Value == "on") throw Unexpected(_token);
        string name = ExpectName();
        ExpectKeyword("on");
        var cond = new NamedTypeRef(_token.Value ?? "", _token.Location);
        ExpectName();
        var dirs = ParseDirectives(isConst: false);
        return new FragmentDefinition(name, cond, dirs, ParseSelectionSet(), loc);
    }

    private SelectionSet ParseSelectionSet()
    {
        Location loc = _token.Location;
        Expect(TokenKind.BraceL);
        Enter(loc);
        var selections = new List<Selection>();
        do selections.Add(ParseSelection()); while (_token.Kind != TokenKind.BraceR);
        Advance();
        _depth--;
        return new SelectionSet(selections, loc);
    }

    private Selection ParseSelection()
    {
        Location loc = _token.Location;
        if (_token.Kind == TokenKind.Spread)
        {
            Advance();
            if (_token.Kind == TokenKind.Name && _token.Value != "on")
                return new FragmentSpread(ExpectName(), ParseDirectives(isConst: false), loc);
            NamedTypeRef? cond = null;
            if (_token.Value == "on") { Advance(); cond = new NamedTypeRef(_token.Value ?? "", _token.Location); ExpectName(); }
            var d = ParseDirectives(isConst: false);
            return new InlineFragment(cond, d, ParseSelectionSet(), loc);
        }
        string nameOrAlias = ExpectName();
        string? alias = null;
        string name = nameOrAlias;
        if (_token.Kind == TokenKind.Colon) { Advance(); alias = nameOrAlias; name = ExpectName(); }
        var args = ParseArguments(isConst: false);
        var dirs = ParseDirectives(isConst: false);
        SelectionSet? set = _token.Kind == TokenKind.BraceL ? ParseSelectionSet() : null;
        return new Field(alias, name, args, dirs, set, loc);
    }

    private IReadOnlyList<Argument> ParseArguments(bool isConst)
    {
        if (_token.Kind != TokenKind.ParenL) return [];
        Advance();
        var list = new List<Argument>();
        do
        {
            Location loc = _token.Location;
            string name = ExpectName();
            Expect(TokenKind.Colon);
            list.Add(new Argument(name, ParseValue(isConst), loc));
        } while (_token.Kind != TokenKind.ParenR);
        Advance();
        return list;
    }

    private IReadOnlyList<Directive> ParseDirectives(bool isConst)
    {
        if (_token.Kind != TokenKind.At) return [];
        var list = new List<Directive>();
        while (_token.Kind == TokenKind.At)
        {
            Location loc = _token.Location;
            Advance();
            string name = ExpectName();
            list.Add(new Directive(name, ParseArguments(isConst), loc));
        }
        return list;
    }

    private Value ParseValue(bool isConst)
    {
        Token t = _token;
        Location loc = t.Location;
        switch (t.Kind)
        {
            case TokenKind.BracketL:
            {
                Advance();
                Enter(loc);
                var items = new List<Value>();
                while (_token.Kind != TokenKind.BracketR) items.Add(ParseValue(isConst));
                Advance();
                _depth--;
                return new ListValue(items, loc);
            }
            case TokenKind.BraceL:
            {
                Advance();
                Enter(loc);
                var fields = new List<ObjectField>();
                while (_token.Kind != TokenKind.BraceR)
                {
                    Location fl = _token.Location;
                    string name = ExpectName();
                    Expect(TokenKind.Colon);
                    fields.Add(new ObjectField(name, ParseValue(isConst), fl));
                }
                Advance();
                _depth--;
                return new ObjectValue(fields, loc);
            }
            case TokenKind.Int: Advance(); return new IntValue(t.Value!, loc);
            case TokenKind.Float: Advance(); return new FloatValue(t.Value!, loc);
            case TokenKind.String: Advance(); return new StringValue(t.Value!, false, loc);
            case TokenKind.BlockString: Advance(); return new StringValue(t.Value!, true, loc);
            case TokenKind.Name:
                Advance();
                return t.Value switch
                {
                    "true" => new BooleanValue(true, loc),
                    "false" => new BooleanValue(false, loc),
                    "null" => new NullValue(loc),
                    _ => new EnumValue(t.Value!, loc),
                };
            case TokenKind.Dollar when !isConst:
                Advance();
                return new VariableValue(ExpectName(), loc);
            case TokenKind.Dollar:
                Advance();
                throw new GraphQLSyntaxException($"Unexpected variable \"${_token.Value}\" in constant value.", loc);
            default:
                throw Unexpected(t);
        }
    }

    private void Enter(Location loc)
    {
        if (++_depth > _limits.MaxDepth)
            throw new GraphQLSyntaxException($"Document nests deeper than the limit of {_limits.MaxDepth}; flatten the query.", loc);
    }

    private void Advance() => _token = _lexer.Next();

    private void Expect(TokenKind kind)
    {
        if (_token.Kind != kind)
            throw new GraphQLSyntaxException($"Expected {Describe(kind)}, found {Describe(_token)}.", _token.Location);
        Advance();
    }

    private string ExpectName()
    {
        if (_token.Kind != TokenKind.Name)
            throw new GraphQLSyntaxException($"Expected Name, found {Describe(_token)}.", _token.Location);
        string v = _token.Value!;
        Advance();
        return v;
    }

    private void ExpectKeyword(string keyword)
    {
        if (_token.Kind != TokenKind.Name || _token.Value != keyword)
            throw new GraphQLSyntaxException($"Expected \"{keyword}\", found {Describe(_token)}.", _token.Location);
        Advance();
    }

    private static GraphQLSyntaxException Unexpected(Token t) => new($"Unexpected {Describe(t)}.", t.Location);

    private static string Describe(Token t) => t.Kind switch
    {
        TokenKind.Name => $"Name \"{t.Value}\"",
        TokenKind.Int => $"Int \"{t.Value}\"",
        TokenKind.Float => $"Float \"{t.Value}\"",
        TokenKind.String or TokenKind.BlockString => "String",
        _ => Describe(t.Kind),
    };

    private static string Describe(TokenKind k) => k switch
    {
        TokenKind.Eof => "<EOF>", TokenKind.Bang => "\"!\"", TokenKind.Dollar => "\"$\"", TokenKind.Amp => "\"&\"",
        TokenKind.ParenL => "\"(\"", TokenKind.ParenR => "\")\"", TokenKind.Spread => "\"...\"", TokenKind.Colon => "\":\"",
        TokenKind.Equals => "\"=\"", TokenKind.At => "\"@\"", TokenKind.BracketL => "\"[\"", TokenKind.BracketR => "\"]\"",
        TokenKind.BraceL => "\"{\"", TokenKind.Pipe => "\"|\"", TokenKind.BraceR => "\"}\"", _ => k.ToString(),
    };
}
