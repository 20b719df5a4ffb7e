using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Wrenn.Silo.Persistence.Migrations;

/// <summary>
/// One versioned step of a module's schema. Modules (the runtime, the sandbox store, …) number
/// their steps independently; an applied step must never change, which its checksum enforces.
/// </summary>
public sealed partial record Migration(string Module, int Version, string Name, string Sql)
{
    public string Checksum => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Sql.ReplaceLineEndings("\n"))));

    /// <summary>
    /// Reads a module's migrations from embedded resources named
    /// <c>migrations/{module}/V0001__what_it_does.sql</c> (embed them with
    /// <c>&lt;EmbeddedResource Include="Migrations/*.sql" LogicalName="migrations/{module}/%(Filename)%(Extension)" /&gt;</c>),
    /// so that one assembly can carry the migrations of several modules.
    /// </summary>
    public static IReadOnlyList<Migration> FromEmbeddedResources(Assembly assembly, string module)
    {
        var found = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var match = ResourceName().Match(resource);
            if (!match.Success || match.Groups["module"].Value != module)
                continue;
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            found.Add(new Migration(module, int.Parse(match.Groups["version"].Value), match.Groups["name"].Value, reader.ReadToEnd()));
        }
        var duplicate = found.GroupBy(m => m.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidOperationException($"Module {module} has two migrations numbered {duplicate.Key} in {assembly.GetName().Name}.");
        return found.OrderBy(m => m.Version).ToList();
    }

    [GeneratedRegex(@"^migrations/(?<module>[a-z0-9_-]+)/V(?<version>\d+)__(?<name>[A-Za-z0-9_]+)\.sql$")]
    private static partial Regex ResourceName();
}
