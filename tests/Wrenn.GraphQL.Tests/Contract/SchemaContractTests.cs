using Wrenn.GraphQL.Schema;

namespace Wrenn.GraphQL.Tests.Contract;

/// <summary>The schema clients see: the SDL at /schema.graphql is the committed contract, type for type and description for description.</summary>
public sealed class SchemaContractTests
{
    [Fact]
    public void The_printed_schema_is_the_committed_contract()
    {
        using var api = new ApiServices();
        var expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Contract", "schema.graphql"));
        var printed = SchemaSdl.Print(api.Schema) + "\n";
        File.WriteAllText(Path.Combine(Path.GetTempPath(), "wrenn-schema-printed.graphql"), printed);
        Assert.Equal(expected, printed);
    }
}
