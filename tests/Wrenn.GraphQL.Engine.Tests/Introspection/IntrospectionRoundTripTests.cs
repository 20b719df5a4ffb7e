using System.Diagnostics;
using Wrenn.GraphQL.Engine.Execution;
using Wrenn.Testing;

namespace Wrenn.GraphQL.Engine.Tests.Introspection;

/// <summary>Our introspection, read by graphql-js buildClientSchema and printed by its printSchema, equals our own SDL.</summary>
public sealed class IntrospectionRoundTripTests
{
    private static GraphQLSchema RichSchema()
    {
        ObjectType? machine = null;
        var size = new EnumType("Size", [new EnumValueDefinition("SMALL", "One vCPU."), new EnumValueDefinition("LARGE"), new EnumValueDefinition("HUGE", null, "Too big.")])
        { Description = "How big a machine is." };
        var duration = new ScalarType("Duration", v => v.ToString()!, v => v.ToString()!, "https://www.rfc-editor.org/rfc/rfc3339")
        { Description = "An ISO-8601 duration such as PT5M." };
        var node = new InterfaceType("Node", _ => machine!).Field("id", ScalarType.ID.NonNull(), description: "Unique everywhere.");
        var filter = new InputObjectType("MachineFilter") { Description = "Which machines to list." }
            .Field(new InputValue("size", size, "Only this size.").WithDefault("SMALL"))
            .Field(new InputValue("names", ScalarType.String.NonNull().List()).WithDefault(new List<object?> { "a", "b" }))
            .Field(new InputValue("old", ScalarType.Boolean) { DeprecationReason = "Ignored." })
            .Field("ratio", ScalarType.Float);
        machine = new ObjectType("Machine") { Description = "A machine that runs things.\n\nIt has several lines of description, which graphql-js prints as an indented block string." }
            .Implements(node)
            .Field("id", ScalarType.ID.NonNull(), c => "m1")
            .Field("size", size.NonNull(), [], c => "SMALL", "Its size; a description longer than seventy characters is printed on lines of its own.")
            .Field("uptime", duration, [new InputValue("unit", ScalarType.String, "The unit.").WithDefault("s"), new InputValue("round", ScalarType.Boolean)], c => "PT1M")
            .Field("legacy", ScalarType.String, [], c => null, deprecationReason: "No longer supported")
            .Field("older", ScalarType.String, [], c => null, deprecationReason: "Use \"legacy\".");
        var result = new UnionType("SearchResult", _ => machine, machine);
        var query = new ObjectType("Query")
            .Field("machines", machine.NonNull().List().NonNull(), [new InputValue("filter", filter), new InputValue("first", ScalarType.Int.NonNull()).WithDefault(10L)], c => Array.Empty<object>())
            .Field("search", result.List(), [new InputValue("text", ScalarType.String.NonNull())], c => null)
            .Field("node", node, [new InputValue("id", ScalarType.ID.NonNull())], c => null);
        var mutation = new ObjectType("Mutation").Field("start", machine, [new InputValue("size", size.NonNull())], c => null, "Starts one.");
        var subscription = new ObjectType("Subscription").SubscriptionField("ticks", ScalarType.Int.NonNull(), [new InputValue("every", duration)], _ => Ticks());
        return new GraphQLSchema(query, mutation, subscription)
        {
            Unions = [result],
            Description = "A schema with something of everything.",
            Directives = [.. DirectiveDefinition.BuiltIn, new DirectiveDefinition("audit", ["FIELD", "QUERY"], [new InputValue("tag", ScalarType.String)], "Marks a field for auditing.", IsRepeatable: true)],
        };
    }

    private static async IAsyncEnumerable<object?> Ticks()
    {
        await Task.Yield();
        yield return 1;
    }

    [Fact]
    public async Task Graphql_js_rebuilds_our_introspection_into_exactly_our_SDL()
    {
        var schema = RichSchema();
        var introspectionQuery = await NodeAsync("query", null);
        var result = await new Executor().ExecuteAsync(schema, new GraphQLRequest(introspectionQuery));
        Assert.Empty(result.Errors);

        var printedByGraphqlJs = await NodeAsync("sdl", result.ToJson());

        Assert.Equal(SchemaPrinter.Print(schema), printedByGraphqlJs);
        Assert.Contains("directive @audit(tag: String) repeatable on FIELD | QUERY", printedByGraphqlJs);
        Assert.Contains("scalar Duration @specifiedBy(url: \"https://www.rfc-editor.org/rfc/rfc3339\")", printedByGraphqlJs);
    }

    [Fact]
    public async Task The_type_field_answers_one_type_and_null_for_an_unknown_name()
    {
        var result = await new Executor().ExecuteAsync(RichSchema(), new GraphQLRequest(
            """{ t: __type(name: "Size") { kind name enumValues(includeDeprecated: true) { name isDeprecated } } none: __type(name: "Nope") { name } }"""));
        Assert.Equal("""{"data":{"t":{"kind":"ENUM","name":"Size","enumValues":[{"name":"SMALL","isDeprecated":false},{"name":"LARGE","isDeprecated":false},{"name":"HUGE","isDeprecated":true}]},"none":null}}""", result.ToJson());
    }

    private static async Task<string> NodeAsync(string mode, string? input)
    {
        var start = new ProcessStartInfo("node", [Path.Combine(RepoPaths.NodeTests, "graphql-diff", "introspection.mjs"), mode])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            WorkingDirectory = Path.Combine(RepoPaths.NodeTests, "graphql-diff"),
        };
        using var node = Process.Start(start)!;
        if (input is not null)
            await node.StandardInput.WriteAsync(input);
        node.StandardInput.Close();
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync();
        Assert.True(node.ExitCode == 0, $"node introspection.mjs {mode} failed: {await stderr}");
        return await stdout;
    }
}
