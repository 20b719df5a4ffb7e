using GraphQL.Types;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class PortUrlType : ObjectGraphType<PortUrlInfo>
{
    public PortUrlType()
    {
        Name = "PortUrl";
        Description = "A URL that reaches one port of a sandbox without a key, until it expires or the sandbox is gone.";
        Field<NonNullGraphType<StringGraphType>, string>("url")
            .Description("Absolute, ending in `/`; a path appended to it reaches that path in the guest. Anyone holding it can use it.")
            .Resolve(c => c.Source.Url);
        Field<NonNullGraphType<DateTimeType>, DateTimeOffset>("expiresAt").Resolve(c => c.Source.ExpiresAt);
    }
}
