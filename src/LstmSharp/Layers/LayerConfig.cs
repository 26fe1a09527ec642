using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using LstmSharp.Training;

namespace LstmSharp.Layers;

/// <summary>
/// Reading Keras-style configs back (<c>config.GetInt("units")</c>), and turning regularizers
/// and constraints into <c>{"class_name": ..., "config": {...}}</c> objects and back.
/// </summary>
/// <remarks>
/// A regularizer or constraint is written as its type name plus its public scalar properties
/// in snake_case; it is rebuilt by a factory given to <see cref="RegisterObject"/>, or else by
/// the public constructor of the LstmSharp type of that name whose parameters match the keys.
/// </remarks>
public static class LayerConfig
{
    private static readonly ConcurrentDictionary<string, Func<JsonObject, object>> Objects = new(StringComparer.Ordinal);

    public static int GetInt(this JsonObject config, string key) =>
        Required(config, key).GetValue<int>();

    public static int? GetIntOrNull(this JsonObject config, string key) =>
        config[key] is { } n ? n.GetValue<int>() : null;

    public static float GetFloat(this JsonObject config, string key) =>
        (float)Required(config, key).GetValue<double>();

    public static bool GetBool(this JsonObject config, string key, bool fallback) =>
        config[key] is { } n ? n.GetValue<bool>() : fallback;

    public static string? GetStringOrNull(this JsonObject config, string key) =>
        config[key]?.GetValue<string>();

    /// <summary>An int array where JSON null becomes -1 (unknown size).</summary>
    public static int[]? GetShapeOrNull(this JsonObject config, string key) =>
        config[key] is JsonArray a ? a.Select(n => n is null ? -1 : n.GetValue<int>()).ToArray() : null;

    public static JsonArray ShapeToJson(ReadOnlySpan<int> shape)
    {
        var a = new JsonArray();
        foreach (int d in shape)
        {
            a.Add(d < 0 ? null : JsonValue.Create(d));
        }

        return a;
    }

    /// <summary>The base options every layer config carries: name, trainable, declared input shape, batch size.</summary>
    public static (string? Name, int[]? InputShape, int? BatchSize, bool Trainable) GetBase(this JsonObject config)
    {
        string? name = config.GetStringOrNull("name");
        bool trainable = config.GetBool("trainable", true);
        int[]? batchInputShape = config.GetShapeOrNull("batch_input_shape");
        int[]? inputShape = batchInputShape?[1..];
        int? batch = batchInputShape is { } b && b[0] > 0 ? b[0] : config.GetIntOrNull("batch_size");
        return (name, inputShape, batch, trainable);
    }

    /// <summary>Applies the options of <see cref="GetBase"/> that constructors do not take.</summary>
    public static T WithBase<T>(this T layer, JsonObject config)
        where T : Layer
    {
        var b = config.GetBase();
        layer.Trainable = b.Trainable;
        layer.BatchSize = b.BatchSize;
        return layer;
    }

    /// <summary>Registers how to rebuild a regularizer or constraint of class <paramref name="className"/>.</summary>
    public static void RegisterObject(string className, Func<JsonObject, object> factory) => Objects[className] = factory;

    /// <summary><c>{"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}}</c>, or null.</summary>
    public static JsonNode? ObjectToJson(object? obj)
    {
        if (obj is null)
        {
            return null;
        }

        var config = new JsonObject();
        foreach (var p in obj.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetIndexParameters().Length == 0 && p.CanRead)
            {
                object? v = p.GetValue(obj);
                JsonNode? node = v switch
                {
                    null => null,
                    double d => JsonValue.Create(d),
                    float f => JsonValue.Create((double)f),
                    int i => JsonValue.Create(i),
                    bool b => JsonValue.Create(b),
                    string s => JsonValue.Create(s),
                    int[] arr => new JsonArray(arr.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
                    _ => null,
                };
                if (node is not null || v is null)
                {
                    config[LayerNames.ToSnakeCase(p.Name)] = node;
                }
            }
        }

        return new JsonObject { ["class_name"] = obj.GetType().Name, ["config"] = config };
    }

    public static IRegularizer? GetRegularizer(this JsonObject config, string key) => (IRegularizer?)ObjectFromJson(config[key], typeof(IRegularizer), key);

    public static IConstraint? GetConstraint(this JsonObject config, string key) => (IConstraint?)ObjectFromJson(config[key], typeof(IConstraint), key);

    private static object? ObjectFromJson(JsonNode? node, Type expected, string key)
    {
        if (node is null)
        {
            return null;
        }

        if (node is not JsonObject o || o["class_name"]?.GetValue<string>() is not { } className)
        {
            throw new ArgumentException($"LayerConfig: '{key}' must be null or {{\"class_name\": ..., \"config\": {{...}}}}, got {node.ToJsonString()}.");
        }

        var cfg = o["config"] as JsonObject ?? new JsonObject();
        object obj = Objects.TryGetValue(className, out var factory) ? factory(cfg) : ByConstructor(className, cfg, expected, key);
        if (!expected.IsInstanceOfType(obj))
        {
            throw new ArgumentException($"LayerConfig: '{key}' class '{className}' is not an {expected.Name}.");
        }

        return obj;
    }

    private static object ByConstructor(string className, JsonObject cfg, Type expected, string key)
    {
        var type = typeof(LayerConfig).Assembly.GetTypes()
            .FirstOrDefault(t => t.Name == className && expected.IsAssignableFrom(t) && !t.IsAbstract)
            ?? throw new ArgumentException($"LayerConfig: '{key}' names unknown class '{className}'; register it with LayerConfig.RegisterObject.");
        static string Norm(string s) => s.Replace("_", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
        var keys = cfg.Select(kv => Norm(kv.Key)).ToHashSet();
        foreach (var ctor in type.GetConstructors().OrderByDescending(c => c.GetParameters().Length))
        {
            var ps = ctor.GetParameters();
            if (ps.All(p => keys.Contains(Norm(p.Name!)) || p.HasDefaultValue))
            {
                var args = ps.Select(p =>
                {
                    var kv = cfg.FirstOrDefault(kv => Norm(kv.Key) == Norm(p.Name!));
                    if (kv.Key is null)
                    {
                        return p.DefaultValue;
                    }

                    return ConvertArg(kv.Value, p.ParameterType);
                }).ToArray();
                return ctor.Invoke(args);
            }
        }

        throw new ArgumentException($"LayerConfig: no constructor of '{className}' matches config keys [{string.Join(", ", cfg.Select(kv => kv.Key))}].");
    }

    private static JsonNode Required(JsonObject config, string key) =>
        config[key] ?? throw new ArgumentException($"LayerConfig: missing required key '{key}' in {config.ToJsonString()}.");

    private static object? ConvertArg(JsonNode? value, Type type)
    {
        if (value is null)
        {
            return null;
        }

        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(bool))
        {
            return value.GetValue<bool>();
        }

        if (t == typeof(string))
        {
            return value.GetValue<string>();
        }

        if (t == typeof(int[]))
        {
            return value.AsArray().Select(n => n!.GetValue<int>()).ToArray();
        }

        return Convert.ChangeType(value.GetValue<double>(), t, CultureInfo.InvariantCulture);
    }
}
