using System.Net;
using System.Net.Http.Headers;

namespace Wrenn.Silo.Tests.Api;

/// <summary>The Orleans dashboard, served by the silo at /dashboard for admin keys only, opened in real Chromium.</summary>
[Collection(ApiCollection.Name)]
public sealed class DashboardTests(ApiFixture api)
{
    [Fact]
    public async Task The_dashboard_lets_admin_keys_in_and_shows_the_cluster_and_refuses_everyone_else()
    {
        var memberKey = (await api.GraphQLAsync(api.AdminKey, "mutation { createApiKey(team: \"admin\", admin: false) { key } }"))
            .Body["data"]!["createApiKey"]!["key"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(null));
        Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(memberKey));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(api.AdminKey));

        if (!File.Exists(Environment.GetEnvironmentVariable("WRENN_CHROMIUM") ?? "/usr/bin/chromium"))
            Assert.Fail("Debian's chromium is missing: scripts/setup installs it (apt install chromium).");
        var screenshot = Path.Combine(Path.GetTempPath(), $"wrenn-dashboard-{Guid.NewGuid():N}.png");
        try
        {
            var result = await ApiFixture.NodeAsync("dashboard.mjs", api.BaseAddress.ToString().TrimEnd('/'), api.AdminKey, memberKey, api.Silo.Host.SiloName, screenshot);
            Assert.Null(result["error"]?.GetValue<string>());
            Assert.True(result["signInShown"]!.GetValue<bool>(), "without a key the dashboard should answer 401 with its sign-in form");
            Assert.True(result["memberRefused"]!.GetValue<bool>(), "a member's key should be refused");
            Assert.True(result["siloShown"]!.GetValue<bool>(), "an admin should see this silo in the dashboard");
            Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot of the dashboard is empty");
        }
        finally
        {
            File.Delete(screenshot);
        }
    }

    private async Task<HttpStatusCode> StatusAsync(string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(api.BaseAddress, "/dashboard/"));
        if (key is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await api.Http.SendAsync(request);
        return response.StatusCode;
    }
}
