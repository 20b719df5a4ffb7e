using System.Globalization;
using System.Text.Json;
using Wrenn.GraphQL.Engine.Language;

namespace Wrenn.GraphQL.Engine.Execution;

/// <summary>A value that cannot be coerced to its input type; the message says why, in graphql-js wording.</summary>
public sealed class CoercionException(string message) : Exception(message);

/// <summary>
/// Input coercion (spec 3.x "Input Coercion", 6.1.2 CoerceVariableValues, 6.4.1 CoerceArgumentValues).
/// Input values are: string, long/int, double, bool, null, List&lt;object?&gt;, Dictionary&lt;string, object?&gt;
/// (JSON elements are converted first). Resolvers get: scalars as their ParseValue makes them
/// (String/ID → string, Int → int, Float → double, Boolean → bool), enum values as their name,
/// lists as List&lt;object?&gt;, input objects as Dictionary&lt;string, object?&gt;.
/// </summary>
public static class Coercion
{
    /// <summary>Converts a JSON value (a variable as sent over HTTP) into the plain input representation.</summary>
    public static object? FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.TryGetInt64(out var l) ? l : element.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Array => element.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.Object => element.EnumerateObject().ToDictionary(p => p.Name, p => FromJson(p.Value)),
        _ => null,
    };

    private static object? Normalize(object? value) => value switch
    {
        JsonElement e => FromJson(e),
        int i => (long)i,
        float f => (double)f,
        decimal d => (double)d,
        _ => value,
    };

    /// <summary>Coerces an input value (from variables) to <paramref name="type"/>.</summary>
    public static object? CoerceInput(GraphQLType type, object? value) => CoerceInput(type, Normalize(value), "");

    private static object? CoerceInput(GraphQLType type, object? value, string at)
    {
        if (type is NonNullType nn)
        {
            if (value is null)
                throw new CoercionException($"{At(at)}Expected non-nullable type \"{type}\" not to be null.");
            return CoerceInput(nn.OfType, value, at);
        }
        if (value is null)
            return null;
        switch (type)
        {
            case ListType list:
                if (value is System.Collections.IList items)
                {
                    var coerced = new List<object?>(items.Count);
                    for (var i = 0; i < items.Count; i++)
                        coerced.Add(CoerceInput(list.OfType, Normalize(items[i]), $"{at}[{i}]"));
                    return coerced;
                }
                return new List<object?> { CoerceInput(list.OfType, value, at) };
            case ScalarType scalar:
                try
                {
                    return scalar.ParseValue(value);
                }
                catch (InputCoercionException e)
                {
                    throw new CoercionException($"{At(at)}{e.Message}");
                }
            case EnumType enumType:
                if (value is string name && enumType.Values.Contains(name))
                    return name;
                throw new CoercionException(value is string s
                    ? $"{At(at)}Value \"{s}\" does not exist in \"{enumType.Name}\" enum."
                    : $"{At(at)}Enum \"{enumType.Name}\" cannot represent non-string value: {ScalarType.Printed(value)}.");
            case InputObjectType input:
                if (value is not IDictionary<string, object?> fields)
                    throw new CoercionException($"{At(at)}Expected type \"{input.Name}\" to be an object.");
                foreach (var key in fields.Keys)
                {
                    if (!input.Fields.ContainsKey(key))
                        throw new CoercionException($"{At(at)}Field \"{key}\" is not defined by type \"{input.Name}\".");
                }
                var result = new Dictionary<string, object?>();
                foreach (var field in input.Fields.Values)
                {
                    if (fields.TryGetValue(field.Name, out var given))
                        result[field.Name] = CoerceInput(field.Type, Normalize(given), $"{at}.{field.Name}");
                    else if (field.HasDefault)
                        result[field.Name] = CoerceInput(field.Type, Normalize(field.DefaultValue), $"{at}.{field.Name}");
                    else if (field.Type is NonNullType)
                        throw new CoercionException($"{At(at)}Field \"{field.Name}\" of required type \"{field.Type}\" was not provided.");
                }
                return result;
            default:
                throw new CoercionException($"{At(at)}Type \"{type}\" is not an input type.");
        }
    }

    private static string At(string at) => at.Length == 0 ? "" : $"At \"value{at}\": ";

    /// <summary>A variable that the request did not provide (different from one provided as null).</summary>
    public static readonly object Missing = new();

    /// <summary>
    /// Coerces a literal (with variables already coerced) to <paramref name="type"/>; returns
    /// <see cref="Missing"/> for an unprovided variable in a position that allows it to be absent.
    /// </summary>
    public static object? CoerceLiteral(GraphQLType type, Value literal, IReadOnlyDictionary<string, object?> variables)
    {
        if (literal is VariableValue variable)
        {
            if (!variables.TryGetValue(variable.Name, out var provided))
                return Missing;
            if (provided is null && type is NonNullType)
                throw new CoercionException($"Expected non-nullable type \"{type}\" not to be null.");
            return provided;
        }
        if (type is NonNullType nn)
        {
            if (literal is NullValue)
                throw new CoercionException($"Expected value of type \"{type}\", found null.");
            return CoerceLiteral(nn.OfType, literal, variables);
        }
        if (literal is NullValue)
            return null;
        switch (type)
        {
            case ListType list:
                if (literal is ListValue items)
                {
                    var coerced = new List<object?>(items.Items.Count);
                    foreach (var item in items.Items)
                    {
                        var value = CoerceLiteral(list.OfType, item, variables);
                        if (value == Missing)
                        {
                            if (list.OfType is NonNullType)
                                throw new CoercionException($"Expected value of type \"{list.OfType}\", found null.");
                            value = null;
                        }
                        coerced.Add(value);
                    }
                    return coerced;
                }
                var single = CoerceLiteral(list.OfType, literal, variables);
                return single == Missing ? Missing : new List<object?> { single };
            case InputObjectType input:
                if (literal is not ObjectValue obj)
                    throw new CoercionException($"Expected value of type \"{input.Name}\", found {Printer.Print(literal)}.");
                var result = new Dictionary<string, object?>();
                foreach (var f in obj.Fields)
                {
                    if (!input.Fields.ContainsKey(f.Name))
                        throw new CoercionException($"Field \"{f.Name}\" is not defined by type \"{input.Name}\".");
                }
                foreach (var field in input.Fields.Values)
                {
                    var given = obj.Fields.FirstOrDefault(f => f.Name == field.Name);
                    var value = given is null ? Missing : CoerceLiteral(field.Type, given.Value, variables);
                    if (value != Missing)
                        result[field.Name] = value;
                    else if (field.HasDefault)
                        result[field.Name] = CoerceInput(field.Type, field.DefaultValue);
                    else if (field.Type is NonNullType)
                        throw new CoercionException($"Field \"{input.Name}.{field.Name}\" of required type \"{field.Type}\" was not provided.");
                }
                return result;
            case EnumType enumType:
                if (literal is EnumValue e && enumType.Values.Contains(e.Name))
                    return e.Name;
                throw new CoercionException(literal is EnumValue unknown
                    ? $"Value \"{unknown.Name}\" does not exist in \"{enumType.Name}\" enum."
                    : $"Enum \"{enumType.Name}\" cannot represent non-enum value: {Printer.Print(literal)}.");
            case ScalarType scalar:
                object? raw = literal switch
                {
                    IntValue i => long.TryParse(i.Raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) ? l : double.Parse(i.Raw, CultureInfo.InvariantCulture),
                    FloatValue f => double.Parse(f.Raw, CultureInfo.InvariantCulture),
                    StringValue s => s.Text,
                    BooleanValue b => b.Is,
                    _ => Missing,
                };
                // Literals of the wrong kind (an enum name, a list, an object) are refused the way graphql-js does.
                if (raw == Missing || (scalar == ScalarType.Float && literal is StringValue) || (scalar == ScalarType.ID && literal is FloatValue))
                    throw new CoercionException($"{scalar.Name} cannot represent {DescribeLiteral(scalar, literal)}: {Printer.Print(literal)}");
                try
                {
                    return scalar.ParseValue(raw!);
                }
                catch (InputCoercionException ex)
                {
                    throw new CoercionException(ex.Message.Replace(ScalarType.Printed(raw), Printer.Print(literal), StringComparison.Ordinal));
                }
            default:
                throw new CoercionException($"Type \"{type}\" is not an input type.");
        }
    }

    private static string DescribeLiteral(ScalarType scalar, Value literal) => scalar.Name switch
    {
        "Int" => "non-integer value",
        "Float" => "non numeric value",
        "String" => "a non string value",
        "Boolean" => "a non boolean value",
        "ID" => "a non-string and non-integer value",
        _ => "value",
    };

    /// <summary>CoerceVariableValues (6.1.2): the operation's variables, coerced, or the request errors.</summary>
    public static (Dictionary<string, object?> Values, List<(string Message, Location Location)> Errors) CoerceVariables(
        GraphQLSchema schema, OperationDefinition operation, IReadOnlyDictionary<string, object?>? given)
    {
        var values = new Dictionary<string, object?>();
        var errors = new List<(string, Location)>();
        given ??= new Dictionary<string, object?>();
        foreach (var definition in operation.Variables)
        {
            var type = TypeFromRef(schema, definition.Type);
            if (type is null || !IsInputType(type))
            {
                errors.Add(($"Variable \"${definition.Name}\" expected value of type \"{Printer.Print(definition.Type)}\" which cannot be used as an input type.", definition.Location));
                continue;
            }
            if (!given.TryGetValue(definition.Name, out var value))
            {
                if (definition.DefaultValue is { } fallback)
                {
                    try
                    {
                        values[definition.Name] = CoerceLiteral(type, fallback, new Dictionary<string, object?>());
                    }
                    catch (CoercionException e)
                    {
                        errors.Add(($"Variable \"${definition.Name}\" has an invalid default value: {e.Message}", definition.Location));
                    }
                }
                else if (type is NonNullType)
                {
                    errors.Add(($"Variable \"${definition.Name}\" of required type \"{type}\" was not provided.", definition.Location));
                }
                continue;
            }
            var normalized = Normalize(value);
            if (normalized is null && type is NonNullType)
            {
                errors.Add(($"Variable \"${definition.Name}\" of non-null type \"{type}\" must not be null.", definition.Location));
                continue;
            }
            try
            {
                values[definition.Name] = CoerceInput(type, normalized);
            }
            catch (CoercionException e)
            {
                errors.Add(($"Variable \"${definition.Name}\" got invalid value {JsonSerializer.Serialize(normalized)}; {e.Message}", definition.Location));
            }
        }
        return (values, errors);
    }

    /// <summary>CoerceArgumentValues (6.4.1). Arguments not given and without default are absent from the result.</summary>
    public static Dictionary<string, object?> CoerceArguments(IReadOnlyList<InputValue> definitions, IReadOnlyList<Argument> given, IReadOnlyDictionary<string, object?> variables)
    {
        var values = new Dictionary<string, object?>();
        foreach (var definition in definitions)
        {
            var argument = given.FirstOrDefault(a => a.Name == definition.Name);
            object? value = Missing;
            if (argument is not null)
            {
                try
                {
                    value = CoerceLiteral(definition.Type, argument.Value, variables);
                }
                catch (CoercionException e)
                {
                    throw new CoercionException($"Argument \"{definition.Name}\" has invalid value {Printer.Print(argument.Value)}: {e.Message}");
                }
            }
            if (value != Missing)
            {
                values[definition.Name] = value;
            }
            else if (definition.HasDefault)
            {
                values[definition.Name] = CoerceInput(definition.Type, definition.DefaultValue);
            }
            else if (definition.Type is NonNullType)
            {
                throw new CoercionException(argument?.Value is VariableValue v
                    ? $"Argument \"{definition.Name}\" of required type \"{definition.Type}\" was provided the variable \"${v.Name}\" which was not provided a runtime value."
                    : $"Argument \"{definition.Name}\" of required type \"{definition.Type}\" was not provided.");
            }
        }
        return values;
    }

    public static GraphQLType? TypeFromRef(GraphQLSchema schema, TypeRef reference) => reference switch
    {
        NamedTypeRef n => schema.Type(n.Name),
        ListTypeRef l => TypeFromRef(schema, l.OfType)?.List(),
        NonNullTypeRef nn => TypeFromRef(schema, nn.OfType) is { } inner and not NonNullType ? inner.NonNull() : null,
        _ => null,
    };

    public static bool IsInputType(GraphQLType type) => type.Named is ScalarType or EnumType or InputObjectType;

    public static bool IsOutputType(GraphQLType type) => type.Named is ScalarType or EnumType or FieldsType;
}
