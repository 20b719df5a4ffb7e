using System.Diagnostics;
using Wrenn.GraphQL.Engine.Language;

namespace Wrenn.GraphQL.Engine.Tests.Language;

/// <summary>Examples from the GraphQL specification (October 2021), section 2 (Language).</summary>
public sealed class ParserTests
{
    [Fact]
    public void A_query_with_variables_defaults_fragments_and_directives_parses_into_the_expected_tree()
    {
        Document doc = Parser.Parse("""
            query withFragments($id: ID! = "4", $sizes: [Int!] = [1, 2]) @live {
              user(id: $id) {
                friends(first: 10) { ...friendFields }
                ... on User @include(if: true) { name }
                ... { id }
                smallPic: profilePic(size: 64, opts: {crop: CENTER, ratio: 1.5e0, tag: null})
              }
            }
            fragment friendFields on User { id name }
            """);

        var op = Assert.IsType<OperationDefinition>(doc.Definitions[0]);
        Assert.Equal(OperationType.Query, op.Operation);
        Assert.Equal("withFragments", op.Name);
        Assert.Equal(2, op.Variables.Count);
        Assert.IsType<NonNullTypeRef>(op.Variables[0].Type);
        Assert.Equal("4", Assert.IsType<StringValue>(op.Variables[0].DefaultValue).Text);
        var list = Assert.IsType<ListTypeRef>(op.Variables[1].Type);
        Assert.Equal("Int", Assert.IsType<NamedTypeRef>(Assert.IsType<NonNullTypeRef>(list.OfType).OfType).Name);
        Assert.Equal("live", op.Directives[0].Name);

        var user = Assert.IsType<Field>(op.SelectionSet.Selections[0]);
        Assert.Equal(new Location(2, 3), user.Location);
        Assert.Equal("id", user.Arguments[0].Name);
        Assert.Equal("id", Assert.IsType<VariableValue>(user.Arguments[0].Value).Name);
        var sels = user.SelectionSet!.Selections;
        Assert.Equal("friendFields", Assert.IsType<FragmentSpread>(Assert.IsType<Field>(sels[0]).SelectionSet!.Selections[0]).Name);
        var inline = Assert.IsType<InlineFragment>(sels[1]);
        Assert.Equal("User", inline.TypeCondition!.Name);
        Assert.True(Assert.IsType<BooleanValue>(inline.Directives[0].Arguments[0].Value).Is);
        Assert.Null(Assert.IsType<InlineFragment>(sels[2]).TypeCondition);
        var pic = Assert.IsType<Field>(sels[3]);
        Assert.Equal("smallPic", pic.ResponseKey);
        Assert.Equal("profilePic", pic.Name);
        var opts = Assert.IsType<ObjectValue>(pic.Arguments[1].Value);
        Assert.Equal("CENTER", Assert.IsType<EnumValue>(opts.Fields[0].Value).Name);
        Assert.Equal("1.5e0", Assert.IsType<FloatValue>(opts.Fields[1].Value).Raw);
        Assert.IsType<NullValue>(opts.Fields[2].Value);

        var frag = Assert.IsType<FragmentDefinition>(doc.Definitions[1]);
        Assert.Equal("User", frag.TypeCondition.Name);
    }

    [Fact]
    public void Query_shorthand_mutation_and_subscription_are_told_apart()
    {
        Document doc = Parser.Parse("{ a } mutation M { b } subscription S { c }");
        Assert.Equal(
            [OperationType.Query, OperationType.Mutation, OperationType.Subscription],
            doc.Definitions.Cast<OperationDefinition>().Select(o => o.Operation));
    }

    [Fact]
    public void Commas_comments_and_a_byte_order_mark_are_ignored()
    {
        Document doc = Parser.Parse("\uFEFF# comment\n{ a,, b # trailing\n ,c }");
        Assert.Equal(["a", "b", "c"], ((OperationDefinition)doc.Definitions[0]).SelectionSet.Selections.Cast<Field>().Select(f => f.Name));
    }

    [Theory]
    [InlineData("\"\\u00e9\\n\\t\\\"\\\\\\/\"", "é\n\t\"\\/")]
    [InlineData("\"\\u{1F600}\"", "\U0001F600")]
    [InlineData("\"\\uD83D\\uDE00\"", "\U0001F600")]
    [InlineData("\"unicode ☃ as is\"", "unicode ☃ as is")]
    public void String_escapes_decode_as_the_spec_says(string literal, string expected)
    {
        Assert.Equal(expected, ArgumentString($"{{ f(s: {literal}) }}"));
    }

    [Fact]
    public void A_block_string_loses_its_common_indentation_and_blank_edge_lines()
    {
        string literal = "\"\"\"\n    Hello,\n      World!\n\n    Yours,\n      GraphQL. \\\"\"\"\n  \"\"\"";
        Assert.Equal("Hello,\n  World!\n\nYours,\n  GraphQL. \"\"\"", ArgumentString($"{{ f(s: {literal}) }}"));
    }

    [Fact]
    public void A_block_string_keeps_escapes_other_than_triple_quotes_raw()
    {
        Assert.Equal("a \\n b", ArgumentString("{ f(s: \"\"\"a \\n b\"\"\") }"));
    }

    [Theory]
    [InlineData("{ a", 1, 4, "Expected Name, found <EOF>.")]
    [InlineData("query {\n  a(x: 1.)\n}", 2, 10, "Invalid number, expected digit but got: \")\".")]
    [InlineData("{ a(x: 01) }", 1, 9, "Invalid number, unexpected digit after 0: \"1\".")]
    [InlineData("{\n  a(s: \"abc\n\") }", 2, 12, "Unterminated string.")]
    [InlineData("{ a(s: \"\\x\") }", 1, 9, "Invalid character escape sequence: \"\\x\".")]
    [InlineData("{ a(s: \"\\u{D800}\") }", 1, 9, "Invalid Unicode escape sequence.")]
    [InlineData("{ ..a }", 1, 3, "Unexpected \".\", did you mean \"...\"?")]
    [InlineData("{ a ? }", 1, 5, "Unexpected character: \"?\".")]
    [InlineData("fragment on on T { a }", 1, 10, "Unexpected Name \"on\".")]
    [InlineData("query Q($v: Int = $w) { a }", 1, 19, "Unexpected variable \"$w\" in constant value.")]
    [InlineData("{}", 1, 2, "Expected Name, found \"}\".")]
    [InlineData("notAKeyword { a }", 1, 1, "Unexpected Name \"notAKeyword\".")]
    public void A_syntax_error_names_the_problem_with_line_and_column(string source, int line, int column, string message)
    {
        var ex = Assert.Throws<GraphQLSyntaxException>(() => Parser.Parse(source));
        Assert.Equal(message, ex.Description);
        Assert.Equal(new Location(line, column), ex.Location);
        Assert.Contains($"({line}:{column})", ex.Message);
    }

    [Fact]
    public void Type_system_definitions_are_kept_as_nodes_so_validation_can_refuse_them()
    {
        Document doc = Parser.Parse("""
            { a }
            "described" type Foo implements Bar { f(x: [Int!]): String @deprecated }
            extend scalar Url
            fragment F on Foo { f }
            """);
        Assert.Equal(4, doc.Definitions.Count);
        Assert.Equal("type", Assert.IsType<TypeSystemDefinition>(doc.Definitions[1]).Keyword);
        Assert.Equal("scalar", Assert.IsType<TypeSystemDefinition>(doc.Definitions[2]).Keyword);
        Assert.IsType<FragmentDefinition>(doc.Definitions[3]);
    }

    [Theory]
    [InlineData("selection sets")]
    [InlineData("list values")]
    [InlineData("object values")]
    [InlineData("list types")]
    public void Nesting_a_hundred_thousand_levels_deep_is_refused_without_overflowing_the_stack(string what)
    {
        const int n = 100_000;
        string source = what switch
        {
            "selection sets" => string.Concat(Enumerable.Repeat("{ a ", n)) + new string('}', n),
            "list values" => "{ f(x: " + new string('[', n) + new string(']', n) + ") }",
            "object values" => "{ f(x: " + string.Concat(Enumerable.Repeat("{a:", n)) + "1" + new string('}', n) + ") }",
            _ => "query($v: " + new string('[', n) + "Int" + new string(']', n) + ") { a }",
        };
        var ex = Assert.Throws<GraphQLSyntaxException>(() => Parser.Parse(source));
        Assert.Contains("nests deeper than the limit of 64", ex.Description);
    }

    [Fact]
    public void A_ten_megabyte_document_is_refused_before_it_is_read()
    {
        string source = "{ " + new string('a', 10 * 1024 * 1024) + " }";
        var ex = Assert.Throws<GraphQLSyntaxException>(() => Parser.Parse(source));
        Assert.Contains("more than the limit of 1000000", ex.Description);
    }

    [Fact]
    public void An_alias_flood_within_the_size_limit_is_refused_by_the_token_limit()
    {
        string source = "{" + string.Concat(Enumerable.Range(0, 60_000).Select(i => $" a{i}:b")) + " }";
        var ex = Assert.Throws<GraphQLSyntaxException>(() => Parser.Parse(source, new ParserLimits { MaxDocumentChars = 2_000_000 }));
        Assert.Contains("more than 100000 tokens", ex.Description);
    }

    [Fact]
    public void Limits_are_configurable()
    {
        Assert.Throws<GraphQLSyntaxException>(() => Parser.Parse("{ a { b { c } } }", new ParserLimits { MaxDepth = 2 }));
        Assert.NotNull(Parser.Parse("{ a { b } }", new ParserLimits { MaxDepth = 2 }));
    }

    private static string ArgumentString(string source)
    {
        var op = (OperationDefinition)Parser.Parse(source).Definitions[0];
        return Assert.IsType<StringValue>(((Field)op.SelectionSet.Selections[0]).Arguments[0].Value).Text;
    }
}
