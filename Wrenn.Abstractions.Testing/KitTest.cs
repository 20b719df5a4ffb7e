namespace Wrenn.Abstractions.Testing;

/// <summary>
/// What the kit classes that need no VM share: each test gets a fresh owner prefix and a
/// <see cref="KitHost"/>, made before the plugin and removed after the test's own clean-up.
/// </summary>
public abstract class KitTest : Xunit.IAsyncLifetime
{
    protected KitHost Kit { get; private set; } = null!;

    /// <summary>A fresh owner prefix for this test; override to register it with your test sweep.</summary>
    protected virtual string NewOwnerPrefix() => KitHost.RandomOwnerPrefix();

    /// <summary>Called when the test is done with its owner prefix.</summary>
    protected virtual void RetireOwnerPrefix(string ownerPrefix)
    {
    }

    /// <summary>Makes the plugin under test for <see cref="Kit"/>.</summary>
    private protected abstract void CreatePlugin();

    /// <summary>Frees what the plugin still holds under the test's owner prefix.</summary>
    private protected virtual Task CleanUpAsync() => Task.CompletedTask;

    public Task InitializeAsync()
    {
        Kit = KitHost.Create(NewOwnerPrefix());
        CreatePlugin();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        try
        {
            await CleanUpAsync();
        }
        finally
        {
            Kit.Dispose();
            RetireOwnerPrefix(Kit.Host.OwnerPrefix);
        }
    }
}
