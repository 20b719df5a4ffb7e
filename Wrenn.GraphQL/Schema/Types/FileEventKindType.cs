using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

/// <summary>The enum the schema calls <c>FileEventType</c> (the C# name <see cref="FileEventType"/> is the object type <c>FileEvent</c>).</summary>
public sealed class FileEventKindType : EnumerationGraphType<FileChangeKind>
{
    public FileEventKindType()
    {
        Name = "FileEventType";
        Describe(FileChangeKind.Create, "Created, or moved in from outside the watched folder.");
        Describe(FileChangeKind.Write, "Its content changed.");
        Describe(FileChangeKind.Remove, "Removed, or moved out of the watched folder.");
        Describe(FileChangeKind.Rename, "Renamed within the watched folder: path is the new name, oldPath the old one.");
        Describe(FileChangeKind.Chmod, "Its permissions, owner or times changed.");
    }

    private void Describe(FileChangeKind value, string description) => Values.FindByValue(value)!.Description = description;
}
