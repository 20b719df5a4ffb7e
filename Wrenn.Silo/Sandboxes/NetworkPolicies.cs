using Wrenn.Abstractions.Network;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.Silo.Sandboxes;

/// <summary>Between a policy as users give it (<see cref="NetworkPolicy"/>) and as plugins enforce it (<see cref="EgressPolicy"/>).</summary>
public static class NetworkPolicies
{
    /// <summary>
    /// Checks every entry; the first bad one is INVALID_ARGUMENT (BAD_USER_INPUT in the API) naming it.
    /// An unset <see cref="NetworkPolicy.Internet"/> takes <paramref name="hostDefault"/>'s (off without one).
    /// </summary>
    public static EgressPolicy Parse(NetworkPolicy network, EgressPolicy? hostDefault = null)
    {
        try
        {
            return EgressPolicy.Create(network.Internet ?? hostDefault?.Internet ?? false, network.Allow, network.Deny);
        }
        catch (EgressPolicyException e)
        {
            throw new GrainException(ErrorCodes.InvalidArgument, e.Message);
        }
    }

    /// <summary>As stored and shown: the normalised entries.</summary>
    public static NetworkPolicy Describe(EgressPolicy policy) => new(policy.Internet, policy.Allow, policy.Deny);
}
