namespace Wrenn.Guest.Tests;

internal static class TestContext
{
    /// <summary>A token that ends a test that hangs, instead of the whole run.</summary>
    public static CancellationToken Timeout(int seconds) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;
}
