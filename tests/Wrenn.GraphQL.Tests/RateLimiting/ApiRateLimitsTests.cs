using Microsoft.Extensions.Options;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.RateLimiting;

namespace Wrenn.GraphQL.Tests.RateLimiting;

/// <summary>The buckets per API key: a burst of the limit goes through, the next is refused with when to retry; admin keys pass unless limited.</summary>
public sealed class ApiRateLimitsTests
{
    private static readonly Caller Member = new("team-a", "key-a", Role.Member);
    private static readonly Caller OtherMember = new("team-a", "key-b", Role.Member);
    private static readonly Caller Admin = new("team-admin", "key-admin", Role.Admin);

    private static ApiRateLimits Limits(int requests = 3, int creates = 2, bool limitAdmins = false) =>
        new(Options.Create(new RateLimitOptions { RequestsPerSecond = requests, CreatesPerSecond = creates, LimitAdminKeys = limitAdmins }));

    [Fact]
    public void A_key_past_its_requests_per_second_is_refused_with_a_retry_time_and_other_keys_are_not()
    {
        using var limits = Limits();
        for (var i = 0; i < 3; i++)
            Assert.Null(limits.AdmitRequest(Member));
        var refused = limits.AdmitRequest(Member);
        Assert.NotNull(refused);
        Assert.InRange(refused.RetryAfterSeconds, 1, 2);
        Assert.Contains("3 requests per second", refused.Message);
        Assert.Null(limits.AdmitRequest(OtherMember));
    }

    [Fact]
    public void Creates_are_counted_per_field_and_a_request_asking_more_than_the_limit_is_refused()
    {
        using var limits = Limits();
        Assert.Null(limits.AdmitCreates(Member, 0));
        Assert.NotNull(limits.AdmitCreates(Member, 3));
        Assert.Null(limits.AdmitCreates(Member, 2));
        Assert.Contains("2 sandboxes per second", limits.AdmitCreates(Member, 1)!.Message);
    }

    [Fact]
    public void Admin_keys_are_unlimited_unless_limiting_them_is_configured()
    {
        using (var limits = Limits())
        {
            for (var i = 0; i < 100; i++)
                Assert.Null(limits.AdmitRequest(Admin) ?? limits.AdmitCreates(Admin, 1));
        }
        using var limited = Limits(limitAdmins: true);
        for (var i = 0; i < 3; i++)
            Assert.Null(limited.AdmitRequest(Admin));
        Assert.NotNull(limited.AdmitRequest(Admin));
    }

    [Fact]
    public void Settings_that_would_switch_a_limit_off_are_refused_naming_them()
    {
        var result = new RateLimitOptionsValidator().Validate(null, new RateLimitOptions { RequestsPerSecond = 0, CreatesPerSecond = -1 });
        Assert.True(result.Failed);
        Assert.Contains("Wrenn:RateLimits:RequestsPerSecond", result.FailureMessage);
        Assert.Contains("Wrenn:RateLimits:CreatesPerSecond", result.FailureMessage);
    }
}
