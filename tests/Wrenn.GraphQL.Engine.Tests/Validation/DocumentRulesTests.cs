using Wrenn.GraphQL.Engine.Language;
using Wrenn.GraphQL.Engine.Validation;

namespace Wrenn.GraphQL.Engine.Tests.Validation;

/// <summary>Spec section 5 rules that need no schema: a passing and a failing example per rule, mostly from the spec text.</summary>
public sealed class DocumentRulesTests
{
    public static TheoryData<string, string> Valid => new()
    {
        { "5.1.1 executable definitions", "query getDogName { dog { name } } fragment F on Dog { name } query Q { ...F }" },
        { "5.2.1.1 operation name uniqueness", "query getDogName { dog { name } } query getOwnerName { dog { owner { name } } }" },
        { "5.2.2.1 lone anonymous operation", "{ dog { name } }" },
        { "5.4.2 argument uniqueness", "{ dog { isHouseTrained(atOtherHomes: true) } }" },
        { "5.5.1.1 fragment name uniqueness", "{ dog { ...fragmentOne ...fragmentTwo } } fragment fragmentOne on Dog { name } fragment fragmentTwo on Dog { owner { name } }" },
        { "5.5.2.2 no cycles", "{ dog { ...nameFragment } } fragment nameFragment on Dog { name ...barkVolumeFragment } fragment barkVolumeFragment on Dog { barkVolume }" },
        { "5.6.3 input object field uniqueness", "{ field(arg: { field: true, other: false }) }" },
        { "5.8.1 variable uniqueness", "query A($atOtherHomes: Boolean) { ...HouseTrainedFragment } query B($atOtherHomes: Boolean) { ...HouseTrainedFragment } fragment HouseTrainedFragment on Query { dog { isHouseTrained(atOtherHomes: $atOtherHomes) } }" },
        { "5.8.3/5.8.4 variables defined and used through fragments", "query variableUsedInFragment($atOtherHomes: Boolean) { dog { ...isHouseTrainedFragment } } fragment isHouseTrainedFragment on Dog { isHouseTrained(atOtherHomes: $atOtherHomes) }" },
        { "5.8.4 variable used in a directive", "query Q($v: Boolean!) { dog @include(if: $v) { name } }" },
    };

    public static TheoryData<string, string, string> Invalid => new()
    {
        { "5.1.1", "query getDogName { dog { name } } extend type Dog { color: String }", "The \"Dog\" definition is not executable." },
        { "5.2.1.1", "query dogOperation { dog { name } } mutation dogOperation { mutateDog { id } }", "There can be only one operation named \"dogOperation\"." },
        { "5.2.2.1", "{ dog { name } } query getName { dog { owner { name } } }", "This anonymous operation must be the only defined operation." },
        { "5.4.2", "{ dog { isHouseTrained(atOtherHomes: true, atOtherHomes: false) } }", "There can be only one argument named \"atOtherHomes\"." },
        { "5.5.1.1", "{ dog { ...fragmentOne } } fragment fragmentOne on Dog { name } fragment fragmentOne on Dog { owner { name } }", "There can be only one fragment named \"fragmentOne\"." },
        { "5.5.1.4", "fragment nameFragment on Dog { name } { dog { name } }", "Fragment \"nameFragment\" is never used." },
        { "5.5.2.1", "{ dog { ...undefinedFragment } }", "Unknown fragment \"undefinedFragment\"." },
        { "5.5.2.2", "{ dog { ...nameFragment } } fragment nameFragment on Dog { name ...barkVolumeFragment } fragment barkVolumeFragment on Dog { barkVolume ...nameFragment }", "Cannot spread fragment \"nameFragment\" within itself via \"barkVolumeFragment\"." },
        { "5.5.2.2 direct", "{ dog { ...F } } fragment F on Dog { ...F }", "Cannot spread fragment \"F\" within itself." },
        { "5.6.3", "{ field(arg: { field: true, field: false }) }", "There can be only one input field named \"field\"." },
        { "5.8.1", "query houseTrainedQuery($atOtherHomes: Boolean, $atOtherHomes: Boolean) { dog { isHouseTrained(atOtherHomes: $atOtherHomes) } }", "There can be only one variable named \"$atOtherHomes\"." },
        { "5.8.3", "query variableIsNotDefined { dog { isHouseTrained(atOtherHomes: $atOtherHomes) } }", "Variable \"$atOtherHomes\" is not defined by operation \"variableIsNotDefined\"." },
        { "5.8.3 via fragment", "query variableIsNotDefinedUsedInSingleFragment { dog { ...isHouseTrainedFragment } } fragment isHouseTrainedFragment on Dog { isHouseTrained(atOtherHomes: $atOtherHomes) }", "Variable \"$atOtherHomes\" is not defined by operation \"variableIsNotDefinedUsedInSingleFragment\"." },
        { "5.8.4", "query variableUnused($atOtherHomes: Boolean) { dog { isHouseTrained } }", "Variable \"$atOtherHomes\" is never used in operation \"variableUnused\"." },
        { "5.8.4 anonymous", "query ($x: Int) { dog { name } }", "Variable \"$x\" is never used." },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void A_document_that_follows_the_rule_passes(string rule, string source)
    {
        Assert.True(DocumentRules.Validate(Parser.Parse(source)).Count == 0,
            $"{rule}: {string.Join("; ", DocumentRules.Validate(Parser.Parse(source)).Select(e => e.Message))}");
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void A_document_that_breaks_the_rule_gets_its_error(string rule, string source, string message)
    {
        var errors = DocumentRules.Validate(Parser.Parse(source));
        Assert.True(errors.Any(e => e.Message == message), $"{rule}: got {string.Join("; ", errors.Select(e => e.Message))}");
    }

    [Fact]
    public void A_duplicate_is_located_at_both_definitions()
    {
        var error = Assert.Single(DocumentRules.Validate(Parser.Parse("query A { a }\nquery A { b }")));
        Assert.Equal([new Location(1, 1), new Location(2, 1)], error.Locations);
    }
}
