namespace Wrenn.Grains.Sandboxes;

/// <summary>
/// What a sandbox may reach, as users give it: with <see cref="Internet"/> everything but
/// <see cref="Deny"/>, without it nothing but <see cref="Allow"/> (null in a request: as the host's
/// default; always set once stored). Entries are IPv4 CIDRs or domain names (<c>*.example.com</c>);
/// the silo checks them (Wrenn.Abstractions' EgressPolicy).
/// </summary>
[GenerateSerializer]
[Alias("wrenn.NetworkPolicy")]
public sealed record NetworkPolicy(
    [Id(0)] bool? Internet,
    [Id(1)] IReadOnlyList<string> Allow,
    [Id(2)] IReadOnlyList<string> Deny)
{
    public bool Equals(NetworkPolicy? other) =>
        other is not null && Internet == other.Internet && Allow.SequenceEqual(other.Allow) && Deny.SequenceEqual(other.Deny);

    public override int GetHashCode() => HashCode.Combine(Internet, Allow.Count, Deny.Count);
}
