using Wrenn.GraphQL.Engine.Language;

namespace Wrenn.GraphQL.Engine.Execution;

/// <summary>Limits against abusive requests; each over-limit request is refused before any resolver runs.</summary>
public sealed record ExecutionLimits
{
    public ParserLimits Parser { get; init; } = ParserLimits.Default;
    /// <summary>Field nodes in the whole document (fragments counted once each).</summary>
    public int MaxFields { get; init; } = 5_000;
    public int MaxAliases { get; init; } = 500;
    /// <summary>Items in all input lists of a request's variables together (a 10-million-item array is refused before coercion).</summary>
    public int MaxInputListItems { get; init; } = 100_000;
    public static ExecutionLimits Default { get; } = new();

    internal string? CheckVariables(IReadOnlyDictionary<string, object?>? variables)
    {
        if (variables is null)
            return null;
        long items = 0;
        var stack = new Stack<object?>(variables.Values);
        while (stack.TryPop(out var value))
        {
            switch (value)
            {
                case System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.Array } array:
                    items += array.GetArrayLength();
                    foreach (var item in array.EnumerateArray())
                        stack.Push(item);
                    break;
                case System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.Object } obj:
                    foreach (var property in obj.EnumerateObject())
                        stack.Push(property.Value);
                    break;
                case System.Collections.IDictionary dictionary:
                    foreach (var item in dictionary.Values)
                        stack.Push(item);
                    break;
                case System.Collections.IList list:
                    items += list.Count;
                    foreach (var item in list)
                        stack.Push(item);
                    break;
            }
            if (items > MaxInputListItems)
                return $"Variables hold more than {MaxInputListItems} list items; send less data per request.";
        }
        return null;
    }

    internal string? Check(Document doc)
    {
        int fields = 0, aliases = 0;
        var stack = new Stack<SelectionSet>();
        foreach (Definition d in doc.Definitions)
            if (d is OperationDefinition o) stack.Push(o.SelectionSet);
            else if (d is FragmentDefinition f) stack.Push(f.SelectionSet);
        while (stack.TryPop(out SelectionSet? set))
            foreach (Selection s in set.Selections)
                switch (s)
                {
                    case Field f:
                        fields++;
                        if (f.Alias is not null) aliases++;
                        if (f.SelectionSet is { } sub) stack.Push(sub);
                        break;
                    case InlineFragment i: stack.Push(i.SelectionSet); break;
                }
        if (fields > MaxFields) return $"Document selects {fields} fields, more than the limit of {MaxFields}; split the request.";
        if (aliases > MaxAliases) return $"Document uses {aliases} aliases, more than the limit of {MaxAliases}; split the request.";
        return null;
    }
}
