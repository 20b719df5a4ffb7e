using Wrenn.Plugins.Jail;
using Wrenn.Plugins.Jail.Roots;
using Wrenn.Testing;

namespace Wrenn.Jail.Tests;

/// <summary>How a jail's root is described to the launcher: real paths bound, links on the way made again, nothing twice.</summary>
public sealed class JailRootTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory($"{TestPrefix.Family}-root-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_path_through_symbolic_links_is_bound_at_its_real_path_and_the_links_are_made_again()
    {
        var real = Directory.CreateDirectory(Path.Combine(_folder, "usr", "lib")).FullName;
        File.WriteAllText(Path.Combine(real, "libx.so"), "");
        Directory.CreateSymbolicLink(Path.Combine(_folder, "lib"), "usr/lib"); // as merged-/usr hosts have /lib
        Directory.CreateSymbolicLink(Path.Combine(_folder, "abs"), real);

        var arguments = new JailRoot().ReadOnly(Path.Combine(_folder, "lib", "libx.so")).ReadOnly(Path.Combine(_folder, "abs")).LauncherArguments();

        Assert.Equal([
            "--symlink", $"{real}:{_folder}/abs",
            "--symlink", $"usr/lib:{_folder}/lib",
            "--ro-bind", real,
        ], arguments);
    }

    [Fact]
    public void A_path_inside_a_bound_folder_is_not_bound_again_unless_it_is_writable_there()
    {
        var system = Directory.CreateDirectory(Path.Combine(_folder, "system")).FullName;
        File.WriteAllText(Path.Combine(system, "inner"), "");
        var work = Directory.CreateDirectory(Path.Combine(_folder, "work")).FullName;
        File.WriteAllText(Path.Combine(work, "memory"), "");
        File.WriteAllText(Path.Combine(work, "kernel"), "");

        var root = new JailRoot()
            .ReadOnly(Path.Combine(system, "inner")).ReadOnly(system)
            .Writable(work).Writable(Path.Combine(work, "memory")).ReadOnly(Path.Combine(work, "kernel"));

        Assert.Equal(["--ro-bind", system, "--bind", work, "--ro-bind", Path.Combine(work, "kernel")], root.LauncherArguments());
        Assert.Equal([work, Path.Combine(work, "memory")], root.Given()); // what is chowned to the jail's uid
    }

    [Fact]
    public void A_device_is_made_as_a_node_and_a_writable_device_disk_is_one_too_never_a_given_host_path()
    {
        var root = new JailRoot().Device("/dev/null").Writable("/dev/zero").WithProc();
        Assert.Equal(["--device", "/dev/null", "--device", "/dev/zero", "--proc"], root.LauncherArguments());
        Assert.Empty(root.Given());
        Assert.Contains("is not a device node", Assert.Throws<JailException>(() => new JailRoot().Device(_folder)).Message);
    }

    [Fact]
    public void A_missing_or_relative_path_is_refused_naming_it()
    {
        Assert.Contains($"{_folder}/missing does not exist", Assert.Throws<JailException>(() => new JailRoot().ReadOnly($"{_folder}/missing")).Message);
        Assert.Contains("must be absolute", Assert.Throws<JailException>(() => new JailRoot().Writable("relative/path")).Message);
    }
}
