using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json.Nodes;
using LstmSharp.Training;

namespace LstmSharp.Layers;

/// <summary>
/// Reading Keras-style configs back (<c>config.GetInt("units")</c>), and turning regularizers
/// and constraints into <c>{"class_name": ..., "config": {...}}</c> objects and back.
/// </summary>
/// <remarks>
/// Built-in regularizers (L1, L2, L1L2) and constraints (MaxNorm, NonNeg, UnitNorm, MinMaxNorm)
/// use the Training folder's configs; others need a factory given to <see cref="RegisterObject"/>.
/// </remarks>
public static class LayerConfig
{
    private static readonly ConcurrentDictionary<string, Func<JsonObject, object>> Objects = new(StringComparer.Ordinal);

    public static int GetInt(this JsonObject config, string key) =>
        Required(config, key).GetValue<int>();

    public static int? GetIntOrNull(this JsonObject config, string key) =>
        config[key] is { } n ? n.GetValue<int>() : null;

    /// <summary>A number, whether parsed from text (a double) or put in the object as a float by a GetConfig.</summary>
    public static float GetFloat(this JsonObject config, string key) =>
        Required(config, key) is JsonValue v && v.TryGetValue(out float f) ? f : (float)Required(config, key).GetValue<double>();

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
            a.Add((JsonNode?)(d < 0 ? null : JsonValue.Create(d)));
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

    /// <summary>
    /// <c>{"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}}</c>, or null. Built-in
    /// regularizers and constraints write their own config; any other object is written as its
    /// type name and public scalar properties (rebuild it through <see cref="RegisterObject"/>).
    /// </summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Only a user's own regularizer/constraint type reaches the reflection; a trimmed app that saves such a model keeps that type's public properties by using them, and a missing one is reported by FromConfig by name.")]
    public static JsonNode? ObjectToJson(object? obj)
    {
        switch (obj)
        {
            case null:
                return null;
            case Regularizer r:
                return r.GetConfig();
            case NormConstraint or NonNeg:
                return Constraints.ToConfig((IConstraint)obj);
        }

        var config = new JsonObject();
        foreach (var p in obj.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetIndexParameters().Length == 0 && p.CanRead)
            {
                object? v = p.GetValue(obj);
                JsonNode? node = v switch
                {
                    double d => JsonValue.Create(d),
                    float f => JsonValue.Create((double)f),
                    int i => JsonValue.Create(i),
                    bool b => JsonValue.Create(b),
                    string s => JsonValue.Create(s),
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

        object obj;
        if (Objects.TryGetValue(className, out var factory))
        {
            obj = factory(o["config"] as JsonObject ?? new JsonObject());
        }
        else if (expected == typeof(IRegularizer))
        {
            obj = Regularizers.FromConfig(o);
        }
        else
        {
            obj = Constraints.FromConfig(o);
        }

        if (!expected.IsInstanceOfType(obj))
        {
            throw new ArgumentException($"LayerConfig: '{key}' class '{className}' is not an {expected.Name}.");
        }

        return obj;
    }

    private static JsonNode Required(JsonObject config, string key) =>
        config[key] ?? throw new ArgumentException($"LayerConfig: missing required key '{key}' in {config.ToJsonString()}.");

}
