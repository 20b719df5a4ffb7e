using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

public sealed record NetworkPolicyInput
{
    public bool? Internet { get; init; }

    public IReadOnlyList<string>? Allow { get; init; }

    public IReadOnlyList<string>? Deny { get; init; }

    public NetworkPolicy ToPolicy() => new(Internet, Allow ?? [], Deny ?? []);
}

public sealed class NetworkPolicyInputType : InputObjectGraphType<NetworkPolicyInput>
{
    public NetworkPolicyInputType()
    {
        Name = "NetworkPolicyInput";
        Description = "What a sandbox may reach. Entries are IPv4 CIDRs (a bare address is a /32) or domain names (`*.example.com`: any name below example.com). A CIDR in deny beats every allow; a name in deny beats one in allow. Names are enforced by the sandbox's DNS resolver: an allowed name's addresses are admitted for its records' TTL, any other name is NXDOMAIN. At most 1,000 entries per list.";
        Field<BooleanGraphType>("internet").Description("true: everything is reachable but deny; false: nothing is but allow. Default: the host's setting.");
        Field<ListGraphType<NonNullGraphType<StringGraphType>>>("allow").Description("Reachable even with internet false.");
        Field<ListGraphType<NonNullGraphType<StringGraphType>>>("deny").Description("Never reachable.");
    }
}

public sealed class NetworkPolicyType : ObjectGraphType<NetworkPolicy>
{
    public NetworkPolicyType()
    {
        Name = "NetworkPolicy";
        Description = "The egress policy in force for a sandbox (entries normalised: lower case, a bare address as /32).";
        Field<NonNullGraphType<BooleanGraphType>, bool>("internet").Resolve(c => c.Source.Internet ?? false);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>, IReadOnlyList<string>>("allow").Resolve(c => c.Source.Allow);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>, IReadOnlyList<string>>("deny").Resolve(c => c.Source.Deny);
    }
}
