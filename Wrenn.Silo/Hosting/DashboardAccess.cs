using System.Net;
using Microsoft.AspNetCore.Http;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;

namespace Wrenn.Silo.Hosting;

/// <summary>
/// The Orleans dashboard shows every silo, grain and call of the cluster: admin keys only. A key
/// comes as <c>Authorization: Bearer</c>, or from the dashboard's sign-in form, which keeps it in
/// a cookie of the dashboard's own path (HttpOnly, SameSite=Strict) so a browser can open it.
/// </summary>
public sealed class DashboardAccess(RequestDelegate next, IWrennBackend backend)
{
    private const string Cookie = "wrenn-dashboard-key";
    private const string SignIn = PublicApi.DashboardPath + "/sign-in";

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.Equals(SignIn, StringComparison.Ordinal) && HttpMethods.IsPost(context.Request.Method))
        {
            await SignInAsync(context);
            return;
        }
        var key = BearerKey(context.Request) ?? context.Request.Cookies[Cookie];
        var caller = key is null ? null : await backend.AuthenticateAsync(key, context.RequestAborted);
        if (caller is null)
        {
            await DenyAsync(context, HttpStatusCode.Unauthorized, key is null ? "Sign in with an admin API key." : "That API key is not valid.");
            return;
        }
        if (caller.Role != Role.Admin)
        {
            await DenyAsync(context, HttpStatusCode.Forbidden, "The dashboard is for admin keys only; this key is a member's.");
            return;
        }
        await next(context);
    }

    private async Task SignInAsync(HttpContext context)
    {
        var key = context.Request.HasFormContentType ? (await context.Request.ReadFormAsync(context.RequestAborted))["key"].ToString().Trim() : "";
        var caller = key.Length == 0 ? null : await backend.AuthenticateAsync(key, context.RequestAborted);
        if (caller is not { Role: Role.Admin })
        {
            await DenyAsync(context, caller is null ? HttpStatusCode.Unauthorized : HttpStatusCode.Forbidden,
                caller is null ? "That API key is not valid." : "The dashboard is for admin keys only; this key is a member's.");
            return;
        }
        context.Response.Cookies.Append(Cookie, key, new CookieOptions
        {
            HttpOnly = true, SameSite = SameSiteMode.Strict, Path = PublicApi.DashboardPath, Secure = context.Request.IsHttps,
        });
        context.Response.Redirect(PublicApi.DashboardPath + "/");
    }

    private static string? BearerKey(HttpRequest request) =>
        request.Headers.Authorization.ToString() is { } header && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? header["Bearer ".Length..].Trim()
            : null;

    /// <summary>Browsers get the sign-in form with the reason; API clients the status (the form's text explains it too).</summary>
    private static async Task DenyAsync(HttpContext context, HttpStatusCode status, string reason)
    {
        context.Response.StatusCode = (int)status;
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync($$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Wrenn dashboard: sign in</title></head>
            <body style="font-family: sans-serif; max-width: 32em; margin: 4em auto">
            <h1>Wrenn dashboard</h1>
            <p id="reason">{{WebUtility.HtmlEncode(reason)}}</p>
            <form method="post" action="{{SignIn}}">
              <label>Admin API key <input name="key" type="password" autocomplete="off" size="48"></label>
              <button type="submit">Sign in</button>
            </form>
            </body></html>
            """);
    }
}
