using GraphQL.Types;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class KeyValueType : ObjectGraphType<KeyValuePair<string, string>>
{
    public KeyValueType()
    {
        Name = "KeyValue";
        Field<NonNullGraphType<StringGraphType>, string>("key").Resolve(c => c.Source.Key);
        Field<NonNullGraphType<StringGraphType>, string>("value").Resolve(c => c.Source.Value);
    }
}
