using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Tensors;

namespace LstmSharp.Interop.Keras;

/// <summary>
/// Keras model configs (Keras 3's <c>config.json</c> and Keras 2's <c>model_config</c>) to
/// LstmSharp models: the layer configs are normalised (initializer, regularizer and constraint
/// objects to LstmSharp's forms, Keras-only keys checked or dropped) and rebuilt through
/// <see cref="LayerRegistry"/>; Sequential models layer by layer, functional ones node by node.
/// </summary>
internal static class KerasConfig
{
    /// <summary>The Keras layer classes read (those LstmSharp has).</summary>
    public static readonly IReadOnlyList<string> Supported =
        ["InputLayer", "LSTM", "GRU", "SimpleRNN", "Bidirectional", "Dense", "Embedding", "Dropout", "Activation", "Flatten", "Reshape", "RepeatVector", "TimeDistributed", "Masking", "Concatenate", "Add",
        "Conv1D", "MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling1D", "SpatialDropout1D", "LayerNormalization", "BatchNormalization",
        "Attention", "AdditiveAttention", "MultiHeadAttention"];

    /// <summary>Options Keras passes to each call of these layers and LstmSharp keeps in the layer's config.</summary>
    private static readonly Dictionary<string, string[]> CallOptions = new(StringComparer.Ordinal)
    {
        ["Attention"] = ["use_causal_mask", "return_attention_scores"],
        ["AdditiveAttention"] = ["use_causal_mask", "return_attention_scores"],
        ["MultiHeadAttention"] = ["use_causal_mask", "return_attention_scores"],
    };

    /// <summary>A model and its layers in Keras's <c>model.layers</c> order with their Keras class names.</summary>
    public sealed record Built(Model Model, IReadOnlyList<(string ClassName, Layer Layer)> Layers);

    public static Built ToModel(JsonObject root, Func<string, Exception> error)
    {
        string className = Str(root, "class_name") ?? throw error("the model config has no class_name");
        var config = root["config"] as JsonObject ?? throw error("the model config has no 'config' object");
        return className switch
        {
            "Sequential" => SequentialFrom(config, error),
            "Functional" or "Model" => FunctionalFrom(config, error),
            _ => throw error($"model class '{className}' is not supported; LstmSharp rebuilds Sequential and Functional models"),
        };
    }

    private static Built SequentialFrom(JsonObject config, Func<string, Exception> error)
    {
        var entries = config["layers"] as JsonArray ?? throw error("the Sequential config has no 'layers' list");
        var model = new Sequential(Str(config, "name"));
        var layers = new List<(string, Layer)>();
        foreach (var entry in entries)
        {
            var (cls, cfg) = Entry(entry, error);
            if (cls == "InputLayer")
            {
                var shape = BatchShape(cfg, error);
                model.Add(new InputLayer(shape[1..], shape[0] > 0 ? shape[0] : null, Str(cfg, "name")));
                continue; // Keras's Sequential.layers leaves the InputLayer out
            }

            var layer = Build(cls, cfg, error);
            model.Add(layer);
            layers.Add((cls, layer));
        }

        return new Built(model, layers);
    }

    private static Built FunctionalFrom(JsonObject config, Func<string, Exception> error)
    {
        var entries = config["layers"] as JsonArray ?? throw error("the Functional config has no 'layers' list");
        var layers = new List<(string ClassName, Layer? Layer, string Name, List<List<(string, int, int)>> Nodes, JsonObject Config)>();
        foreach (var entry in entries)
        {
            var (cls, cfg) = Entry(entry, error);
            string name = Str(entry!.AsObject(), "name") ?? Str(cfg, "name") ?? throw error($"a {cls} entry of the Functional config has no name");
            var nodes = new List<List<(string, int, int)>>();
            foreach (var node in entry["inbound_nodes"] as JsonArray ?? [])
            {
                var refs = new List<(string, int, int)>();
                CollectRefs(node, refs, error);
                nodes.Add(refs);
            }

            if (CallOptions.TryGetValue(cls, out var options))
            {
                cfg = WithCallOptions(cls, name, cfg, entry["inbound_nodes"] as JsonArray, options, error);
            }

            layers.Add((cls, cls == "InputLayer" ? null : Build(cls, cfg, error), name, nodes, cfg));
        }

        var outputs = new Dictionary<(string, int), SymbolicTensor[]>();
        var pending = new List<(int Layer, int Node)>();
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i].ClassName == "InputLayer")
            {
                var shape = BatchShape(layers[i].Config, error);
                outputs[(layers[i].Name, 0)] = [Input.Create(shape[1..], layers[i].Name, shape[0] > 0 ? shape[0] : null)];
            }
            else
            {
                for (int n = 0; n < layers[i].Nodes.Count; n++)
                {
                    pending.Add((i, n));
                }
            }
        }

        // Layers are listed in a topological order; a shared layer's later call may wait for others.
        while (pending.Count > 0)
        {
            int before = pending.Count;
            foreach (var (i, n) in pending.ToArray())
            {
                var refs = layers[i].Nodes[n];
                if (refs.All(r => outputs.ContainsKey((r.Item1, r.Item2))))
                {
                    var ins = refs.Select(r => Resolve(outputs, r, error)).ToArray();
                    try
                    {
                        outputs[(layers[i].Name, n)] = layers[i].Layer!.ApplyAll(ins);
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                    {
                        throw error($"layer '{layers[i].Name}' cannot be called on its inputs: {e.Message}");
                    }

                    pending.Remove((i, n));
                }
            }

            if (pending.Count == before)
            {
                var (i, n) = pending[0];
                throw error($"layer '{layers[i].Name}' waits for inputs no layer produces ({string.Join(", ", layers[i].Nodes[n].Select(r => r.Item1))})");
            }
        }

        var modelInputs = Refs(config["input_layers"], error).Select(r => Resolve(outputs, r, error)).ToArray();
        var modelOutputs = Refs(config["output_layers"], error).Select(r => Resolve(outputs, r, error)).ToArray();
        try
        {
            var model = new Functional(modelInputs, modelOutputs, Str(config, "name"));
            return new Built(model, layers.Select(l => (l.ClassName, l.Layer ?? outputs[(l.Name, 0)][0].Node.Layer)).ToArray());
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw error($"the functional graph cannot be built: {e.Message}");
        }
    }

    /// <summary>
    /// The layer's config with the options Keras gives per call (Keras 3: a node's "kwargs"; Keras 2:
    /// the kwargs of a node's first input reference) folded in; every call must agree on them.
    /// </summary>
    private static JsonObject WithCallOptions(string cls, string name, JsonObject cfg, JsonArray? nodes, string[] options, Func<string, Exception> error)
    {
        var merged = (JsonObject)cfg.DeepClone();
        var seen = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var node in nodes ?? [])
        {
            var kwargs = node switch
            {
                JsonObject o => o["kwargs"] as JsonObject,
                JsonArray { Count: > 0 } a when a[0] is JsonArray { Count: >= 4 } first => first[3] as JsonObject,
                _ => null,
            };
            foreach (string option in options)
            {
                bool value = false;
                if (kwargs?[option] is { } v)
                {
                    value = v is JsonValue jv && jv.TryGetValue(out bool b) ? b
                        : throw error($"layer '{name}' ({cls}) is called with {option} = {v.ToJsonString()}; expected true or false");
                }

                if (seen.TryGetValue(option, out bool before) && before != value)
                {
                    throw error($"layer '{name}' ({cls}) is called with {option} = {before.ToString().ToLowerInvariant()} and = {value.ToString().ToLowerInvariant()}; LstmSharp keeps one value per layer");
                }

                seen[option] = value;
            }
        }

        foreach (var (option, value) in seen)
        {
            merged[option] = value || (merged[option] is JsonValue jv && jv.TryGetValue(out bool b) && b);
        }

        return merged;
    }

    private static SymbolicTensor Resolve(Dictionary<(string, int), SymbolicTensor[]> outputs, (string Layer, int Node, int Index) r, Func<string, Exception> error) =>
        outputs.TryGetValue((r.Layer, r.Node), out var ts) && r.Index >= 0 && r.Index < ts.Length
            ? ts[r.Index]
            : throw error($"the config refers to output {r.Index} of call {r.Node} of layer '{r.Layer}', which does not exist");

    private static List<(string, int, int)> Refs(JsonNode? node, Func<string, Exception> error)
    {
        if (node is not JsonArray a)
        {
            throw error("the Functional config lacks input_layers/output_layers");
        }

        // Keras 3 writes a single input as ["name", 0, 0], several as [["a", 0, 0], ...].
        if (a.Count == 3 && a[0] is JsonValue v && v.TryGetValue(out string? _))
        {
            return [Triple(a, error)];
        }

        return a.Select(x => Triple(x as JsonArray ?? throw error("a model input/output reference is not [name, node, index]"), error)).ToList();
    }

    private static (string, int, int) Triple(JsonArray a, Func<string, Exception> error)
    {
        try
        {
            return (a[0]!.GetValue<string>(), a[1]!.GetValue<int>(), a[2]!.GetValue<int>());
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException or ArgumentOutOfRangeException)
        {
            throw error($"a tensor reference {a.ToJsonString()} is not [layer name, node index, tensor index]");
        }
    }

    /// <summary>Keras 2: [[name, node, index, kwargs], ...]; Keras 3: {"args": [...keras tensors...], "kwargs": {...}}.</summary>
    private static void CollectRefs(JsonNode? node, List<(string, int, int)> refs, Func<string, Exception> error)
    {
        switch (node)
        {
            case JsonObject o when Str(o, "class_name") == "__keras_tensor__":
                refs.Add(Triple(o["config"]?["keras_history"] as JsonArray ?? throw error("a __keras_tensor__ has no keras_history"), error));
                break;
            case JsonObject o when o.ContainsKey("args"):
                CollectRefs(o["args"], refs, error);
                if (o["kwargs"] is JsonObject kw)
                {
                    // Tensors passed by keyword, in the order the layer takes them (MultiHeadAttention's query, value, key).
                    foreach (string name in new[] { "query", "value", "key", "initial_state" })
                    {
                        if (kw[name] is { } given)
                        {
                            CollectRefs(given, refs, error);
                        }
                    }
                }

                break;
            case JsonArray a when a.Count >= 3 && a[0] is JsonValue v && v.TryGetValue(out string? _):
                refs.Add(Triple(a, error));
                break;
            case JsonArray a:
                foreach (var x in a)
                {
                    CollectRefs(x, refs, error);
                }

                break;
        }
    }

    private static (string ClassName, JsonObject Config) Entry(JsonNode? entry, Func<string, Exception> error)
    {
        var obj = entry as JsonObject ?? throw error("a layer entry of the config is not an object");
        string cls = Str(obj, "class_name") ?? throw error("a layer entry of the config has no class_name");
        var cfg = obj["config"] as JsonObject ?? throw error($"the {cls} entry has no config object");
        return (cls, cfg);
    }

    private static int[] BatchShape(JsonObject cfg, Func<string, Exception> error)
    {
        var shape = cfg["batch_shape"] as JsonArray ?? cfg["batch_input_shape"] as JsonArray
            ?? throw error($"InputLayer '{Str(cfg, "name")}' has no batch_shape / batch_input_shape");
        if (shape.Count < 2 || shape.Count > 8)
        {
            throw error($"InputLayer '{Str(cfg, "name")}' has batch shape {shape.ToJsonString()}; expected [batch, ...] with 1 to 7 sample dimensions");
        }

        return shape.Select(d => d is null ? -1 : Int(d, "batch_shape", error)).ToArray();
    }

    /// <summary>One LstmSharp layer from a Keras layer config.</summary>
    public static Layer Build(string className, JsonObject kerasConfig, Func<string, Exception> error)
    {
        string name = Str(kerasConfig, "name") ?? className;
        if (!Supported.Contains(className) || className == "InputLayer")
        {
            throw error($"layer '{name}' is a {className}; LstmSharp rebuilds {string.Join(", ", Supported.Where(s => s != "InputLayer"))}");
        }

        var c = Normalize(className, kerasConfig, error);
        try
        {
            return LayerRegistry.FromConfig(className, c);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or KeyNotFoundException or InvalidCastException)
        {
            throw error($"layer '{name}' ({className}): {e.Message}");
        }
    }

    private static JsonObject Normalize(string className, JsonObject k, Func<string, Exception> error)
    {
        string name = Str(k, "name") ?? className;
        var c = new JsonObject();
        foreach (var (key, value) in k)
        {
            switch (key)
            {
                case "dtype" or "unroll" or "implementation" or "use_cudnn" or "sparse" or "ragged" or "build_config" or "input_dim" when className != "Embedding":
                    break;
                case "time_major":
                    if (value is JsonValue tv && tv.TryGetValue(out bool major) && major)
                    {
                        throw error($"layer '{name}' has time_major=true; LstmSharp reads [batch, time, features]");
                    }

                    break;
                case "layer" or "backward_layer":
                    if (value is JsonObject inner)
                    {
                        var (cls, cfg) = Entry(inner, error);
                        if (!Supported.Contains(cls) || cls == "InputLayer")
                        {
                            throw error($"layer '{name}' wraps a {cls}; LstmSharp has {string.Join(", ", Supported.Where(s => s != "InputLayer"))}");
                        }

                        c[key] = new JsonObject { ["class_name"] = cls, ["config"] = Normalize(cls, cfg, error) };
                    }

                    break;
                case var _ when key.EndsWith("_initializer", StringComparison.Ordinal):
                    if (Initializer(value) is { } init)
                    {
                        c[key] = init;
                    }

                    break;
                case var _ when key.EndsWith("_regularizer", StringComparison.Ordinal) || key.EndsWith("_constraint", StringComparison.Ordinal):
                    c[key] = value is JsonObject o
                        ? new JsonObject { ["class_name"] = Str(o, "class_name"), ["config"] = o["config"]?.DeepClone() ?? new JsonObject() }
                        : null;
                    break;
                case "activation" or "recurrent_activation" when value is JsonObject fn:
                    c[key] = Str(fn, "class_name")?.ToLowerInvariant() is { } act && fn["config"] is null ? act
                        : throw error($"layer '{name}' has a custom {key} {fn.ToJsonString()}");
                    break;
                case "seed" when value is not JsonValue:
                    break;
                default:
                    c[key] = value?.DeepClone();
                    break;
            }
        }

        return c;
    }

    /// <summary>Keras's {"class_name": "GlorotUniform", "config": {...}} (or a name) as LstmSharp's text form; null = use the default.</summary>
    private static string? Initializer(JsonNode? value)
    {
        string? text = value switch
        {
            JsonValue v when v.TryGetValue(out string? s) => s,
            JsonObject o when Str(o, "class_name") is { } cls => Snake(cls) + Args(o["config"] as JsonObject),
            _ => null,
        };
        if (text is null)
        {
            return null;
        }

        try
        {
            Initializers.Get(text);
            return text;
        }
        catch (ArgumentException)
        {
            // Only the initial values differ; the weights are read from the file anyway.
            return null;
        }
    }

    private static string Args(JsonObject? config)
    {
        if (config is null)
        {
            return string.Empty;
        }

        var parts = config.Where(kv => kv.Key != "seed" && kv.Value is JsonValue).Select(kv =>
            kv.Value is JsonValue v && v.TryGetValue(out double d) ? $"{kv.Key}={d.ToString("R", CultureInfo.InvariantCulture)}" : $"{kv.Key}={kv.Value!.ToString()}").ToArray();
        return parts.Length == 0 ? string.Empty : "(" + string.Join(", ", parts) + ")";
    }

    /// <summary>Keras's naming.to_snake_case: GlorotUniform → glorot_uniform, SimpleRNN → simple_rnn.</summary>
    public static string Snake(string name)
    {
        var s = new StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            char ch = name[i];
            bool upper = char.IsUpper(ch);
            if (upper && i > 0 && (char.IsLower(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]) && name[i - 1] != '_')))
            {
                s.Append('_');
            }

            s.Append(char.ToLowerInvariant(ch));
        }

        return s.ToString();
    }

    private static int Int(JsonNode d, string what, Func<string, Exception> error)
    {
        try
        {
            return d.GetValue<int>();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw error($"{what} holds {d.ToJsonString()}, not an integer");
        }
    }

    internal static string? Str(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}
