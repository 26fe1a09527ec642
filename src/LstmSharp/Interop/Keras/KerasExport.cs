using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using PureHDF;

namespace LstmSharp.Interop.Keras;

/// <summary>
/// Writes a model as a Keras 3 <c>.keras</c> file: <c>metadata.json</c>, <c>config.json</c> (the
/// model serialised as <c>keras.saving.serialize_keras_object</c> does, with only the constructor
/// arguments Keras 3 takes) and <c>model.weights.h5</c> in saving_lib's layout, so
/// <c>keras.saving.load_model</c> opens it; <see cref="KerasImport.LoadKeras"/> reads it back bit
/// for bit. Standard LSTM cells only (Keras has no peepholes or coupled gates).
/// </summary>
public static class KerasExport
{
    /// <summary>Keras version written to metadata.json (the layout followed).</summary>
    public const string KerasVersion = "3.6.0";

    private static readonly string[] Base = ["name", "trainable", "dtype"];
    private static readonly string[] RecurrentArgs =
    [
        "units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
        "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
        "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed",
        "return_sequences", "return_state", "go_backwards", "stateful", "zero_output_for_mask",
    ];

    private static readonly Dictionary<string, string[]> Args = new(StringComparer.Ordinal)
    {
        ["LSTM"] = [.. RecurrentArgs, "recurrent_activation", "unit_forget_bias"],
        ["GRU"] = [.. RecurrentArgs, "recurrent_activation", "reset_after"],
        ["SimpleRNN"] = RecurrentArgs,
        ["Dense"] = ["units", "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"],
        ["Embedding"] = ["input_dim", "output_dim", "embeddings_initializer", "embeddings_regularizer", "activity_regularizer", "embeddings_constraint", "mask_zero"],
        ["Bidirectional"] = ["layer", "merge_mode", "backward_layer"],
        ["Dropout"] = ["rate", "noise_shape", "seed"],
        ["Activation"] = ["activation"],
        ["Flatten"] = [],
        ["Reshape"] = ["target_shape"],
        ["RepeatVector"] = ["n"],
        ["TimeDistributed"] = ["layer"],
        ["Masking"] = ["mask_value"],
        ["Concatenate"] = ["axis"],
        ["Add"] = [],
        ["Conv1D"] = ["filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups", "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"],
        ["MaxPooling1D"] = ["pool_size", "strides", "padding", "data_format"],
        ["AveragePooling1D"] = ["pool_size", "strides", "padding", "data_format"],
        ["GlobalMaxPooling1D"] = ["data_format", "keepdims"],
        ["GlobalAveragePooling1D"] = ["data_format", "keepdims"],
        ["SpatialDropout1D"] = ["rate", "seed"],
        ["LayerNormalization"] = ["axis", "epsilon", "center", "scale", "rms_scaling", "beta_initializer", "gamma_initializer", "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"],
        ["Attention"] = ["use_scale", "score_mode", "dropout", "seed"],
        ["AdditiveAttention"] = ["use_scale", "dropout", "seed"],
        ["MultiHeadAttention"] = ["num_heads", "key_dim", "value_dim", "dropout", "use_bias", "output_shape", "attention_axes", "kernel_initializer", "bias_initializer", "seed"],
        ["BatchNormalization"] = ["axis", "momentum", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"],
    };

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> (a .keras file), atomically.</summary>
    public static void SaveKeras(this Model model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        _ = model.Parameters; // build
        var (config, layers) = model switch
        {
            Sequential s => SequentialConfig(s),
            Functional f => FunctionalConfig(f),
            _ => throw new NotSupportedException($"SaveKeras: {model.GetType().Name} models cannot be written as Keras."),
        };
        var h5 = new H5File { ["vars"] = new H5Group() };
        var groups = new H5Group();
        h5["layers"] = groups;
        var used = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var layer in layers)
        {
            string snake = KerasConfig.Snake(ClassName(layer));
            int k = used.TryGetValue(snake, out int c) ? c + 1 : 0;
            used[snake] = k;
            var g = new H5Group { ["vars"] = new H5Group() };
            groups[k == 0 ? snake : $"{snake}_{k}"] = g;
            foreach (var (sub, _, ps) in KerasImport.Keras3Groups(layer))
            {
                var node = g;
                foreach (string part in sub.Split('/', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (!node.TryGetValue(part, out var child))
                    {
                        child = new H5Group { ["vars"] = new H5Group() };
                        node[part] = child;
                    }

                    node = (H5Group)child;
                }

                var vars = (H5Group)node["vars"];
                for (int i = 0; i < ps.Count; i++)
                {
                    vars[i.ToString(CultureInfo.InvariantCulture)] = new H5Dataset(ps[i].Value.ToArray(), fileDims: ps[i].Value.ShapeArray.Select(d => (ulong)d).ToArray());
                }
            }
        }

        var weights = new MemoryStream();
        h5.Write(weights);
        string metadata = new JsonObject { ["keras_version"] = KerasVersion, ["date_saved"] = DateTime.UtcNow.ToString("yyyy-MM-dd@HH:mm:ss", CultureInfo.InvariantCulture) }.ToJsonString();
        string full = Path.GetFullPath(path);
        string temp = full + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            using (var file = File.Create(temp))
            using (var zip = new ZipArchive(file, ZipArchiveMode.Create))
            {
                AddEntry(zip, "metadata.json", Encoding.UTF8.GetBytes(metadata));
                AddEntry(zip, "config.json", Encoding.UTF8.GetBytes(config.ToJsonString()));
                AddEntry(zip, "model.weights.h5", weights.ToArray());
            }

            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    private static void AddEntry(ZipArchive zip, string name, byte[] data)
    {
        using var s = zip.CreateEntry(name, CompressionLevel.Optimal).Open();
        s.Write(data);
    }

    private static (JsonObject Config, List<Layer> Layers) SequentialConfig(Sequential model)
    {
        var entries = new JsonArray();
        var layers = new List<Layer>();
        var first = model.Layers[0];
        int[] shape = first is InputLayer input ? input.Shape : first.InputShape ?? first.BuiltInputShapes?[0]
            ?? throw new InvalidOperationException("SaveKeras: the model's input shape is unknown; give the first layer an inputShape.");
        entries.Add(InputEntry(first is InputLayer named ? named.Name : "input_layer", shape, first.BatchSize));
        var current = shape;
        foreach (var layer in model.Layers)
        {
            if (layer is InputLayer)
            {
                continue;
            }

            var entry = LayerEntry(layer);
            entry["build_config"] = new JsonObject { ["input_shape"] = Shape(current, null) };
            entries.Add(entry);
            layers.Add(layer);
            current = layer.ComputeOutputShape(current);
        }

        var config = Obj("keras", "Sequential", new JsonObject
        {
            ["name"] = model.Name,
            ["trainable"] = true,
            ["dtype"] = "float32",
            ["layers"] = entries,
        });
        config["build_config"] = new JsonObject { ["input_shape"] = Shape(shape, null) };
        return (config, layers);
    }

    private static (JsonObject Config, List<Layer> Layers) FunctionalConfig(Functional model)
    {
        var ls = model.GetConfig()["config"]!.AsObject();
        var nodes = ls["nodes"]!.AsArray();
        // The config's layer list includes the InputLayers (model.Layers may not); Keras's Functional.layers does too.
        var byName = model.Layers.ToDictionary(l => l.Name, StringComparer.Ordinal);
        foreach (var entry in ls["layers"]!.AsArray())
        {
            if (entry!["class_name"]!.GetValue<string>() == "InputLayer")
            {
                var cfg = entry["config"]!.AsObject();
                var b = cfg.GetBase();
                string inName = b.Name ?? "input_layer";
                if (!byName.ContainsKey(inName))
                {
                    byName[inName] = new InputLayer(b.InputShape!, b.BatchSize, inName);
                }
            }
        }

        var calls = new Dictionary<string, int>(StringComparer.Ordinal);
        var nodeInfo = new List<(string Layer, int Call, int[][] Shapes)>();
        var inbound = new Dictionary<string, JsonArray>(StringComparer.Ordinal);
        JsonObject Tensor(JsonNode? reference)
        {
            var r = reference!.AsArray();
            var (layer, call, shapes) = nodeInfo[r[0]!.GetValue<int>()];
            int index = r[1]!.GetValue<int>();
            return new JsonObject
            {
                ["class_name"] = "__keras_tensor__",
                ["config"] = new JsonObject { ["shape"] = Shape(shapes[index], null), ["dtype"] = "float32", ["keras_history"] = new JsonArray(layer, call, index) },
            };
        }

        foreach (var n in nodes)
        {
            string name = n!["layer"]!.GetValue<string>();
            var layer = byName[name];
            int call = calls.TryGetValue(name, out int c) ? c + 1 : 0;
            calls[name] = call;
            var inputs = n["inputs"]!.AsArray();
            var tensors = inputs.Select(Tensor).ToArray();
            int[][] shapes = layer is InputLayer il
                ? [il.Shape]
                : layer.ComputeOutputShapes(inputs.Select(r => nodeInfo[r![0]!.GetValue<int>()].Shapes[r[1]!.GetValue<int>()]).ToArray()).ToArray();
            nodeInfo.Add((name, call, shapes));
            if (layer is InputLayer)
            {
                continue;
            }

            JsonObject node = layer switch
            {
                Concatenate or LstmSharp.Layers.Add => new JsonObject { ["args"] = new JsonArray(new JsonArray(tensors)), ["kwargs"] = new JsonObject() },
                MultiHeadAttention m => new JsonObject
                {
                    ["args"] = new JsonArray(tensors[0], tensors[1]),
                    ["kwargs"] = tensors.Length > 2
                        ? new JsonObject { ["key"] = tensors[2], ["use_causal_mask"] = m.UseCausalMask, ["return_attention_scores"] = m.ReturnAttentionScores }
                        : new JsonObject { ["use_causal_mask"] = m.UseCausalMask, ["return_attention_scores"] = m.ReturnAttentionScores },
                },
                AttentionBase a => new JsonObject
                {
                    ["args"] = new JsonArray(new JsonArray(tensors)),
                    ["kwargs"] = new JsonObject { ["use_causal_mask"] = a.UseCausalMask, ["return_attention_scores"] = a.ReturnAttentionScores },
                },
                (RecurrentLayer or Bidirectional) when tensors.Length > 1 => new JsonObject
                {
                    ["args"] = new JsonArray(tensors[0]),
                    ["kwargs"] = new JsonObject { ["initial_state"] = new JsonArray(tensors[1..]) },
                },
                _ => new JsonObject { ["args"] = new JsonArray(tensors), ["kwargs"] = new JsonObject() },
            };
            if (!inbound.TryGetValue(name, out var list))
            {
                inbound[name] = list = [];
            }

            list.Add(node);
        }

        var entries = new JsonArray();
        var ordered = ls["layers"]!.AsArray().Select(e => byName[e!["config"]!["name"]!.GetValue<string>()]).ToList();
        foreach (var layer in ordered)
        {
            var entry = layer is InputLayer input ? InputEntry(input.Name, input.Shape, input.BatchSize) : LayerEntry(layer);
            entry["name"] = layer.Name;
            entry["inbound_nodes"] = inbound.TryGetValue(layer.Name, out var list) ? list : new JsonArray();
            entries.Add(entry);
        }

        JsonArray Refs(string key) => new(ls[key]!.AsArray().Select(r =>
        {
            var (layer, call, _) = nodeInfo[r![0]!.GetValue<int>()];
            return (JsonNode)new JsonArray(layer, call, r[1]!.GetValue<int>());
        }).ToArray());

        var config = new JsonObject
        {
            ["module"] = "keras.src.models.functional",
            ["class_name"] = "Functional",
            ["config"] = new JsonObject
            {
                ["name"] = model.Name,
                ["trainable"] = true,
                ["layers"] = entries,
                ["input_layers"] = Refs("inputs"),
                ["output_layers"] = Refs("outputs"),
            },
            ["registered_name"] = "Functional",
            ["build_config"] = new JsonObject { ["input_shape"] = null },
        };
        return (config, ordered);
    }

    private static JsonObject InputEntry(string name, int[] shape, int? batch) =>
        Obj("keras.layers", "InputLayer", new JsonObject
        {
            ["batch_shape"] = Shape(shape, batch),
            ["dtype"] = "float32",
            ["sparse"] = false,
            ["name"] = name,
        });

    private static JsonObject LayerEntry(Layer layer)
    {
        if (layer is LSTM { ProjSize: > 0 } projected)
        {
            throw new NotSupportedException($"SaveKeras: LSTM '{projected.Name}' projects h to proj_size={projected.ProjSize}; Keras's LSTM has no projection.");
        }

        if (layer is LSTM lstm && lstm.Variant != (LstmVariant.Standard with { Activation = lstm.Variant.Activation, RecurrentActivation = lstm.Variant.RecurrentActivation }))
        {
            throw new NotSupportedException($"SaveKeras: LSTM '{lstm.Name}' is a {lstm.Variant} cell; Keras's LSTM has no peepholes, coupled or missing gates.");
        }

        string cls = ClassName(layer);
        if (!Args.TryGetValue(cls, out var args))
        {
            throw new NotSupportedException($"SaveKeras: layer '{layer.Name}' is a {cls}, which has no Keras counterpart here.");
        }

        var own = layer.GetConfig();
        var k = new JsonObject { ["name"] = layer.Name, ["trainable"] = own["trainable"]?.DeepClone() ?? true, ["dtype"] = "float32" };
        foreach (string key in args)
        {
            if (!own.ContainsKey(key))
            {
                continue;
            }

            var value = own[key];
            k[key] = key switch
            {
                "layer" or "backward_layer" => layer switch
                {
                    Bidirectional b => LayerEntry(key == "layer" ? b.Forward : b.Backward),
                    TimeDistributed t => LayerEntry(t.Inner),
                    _ => null,
                },
                _ when key.EndsWith("_initializer", StringComparison.Ordinal) => Initializer(value),
                _ when key.EndsWith("_regularizer", StringComparison.Ordinal) => Wrap(value, "keras.regularizers"),
                _ when key.EndsWith("_constraint", StringComparison.Ordinal) => Wrap(value, "keras.constraints"),
                _ => value?.DeepClone(),
            };
        }

        if (layer is Bidirectional bi)
        {
            // Keras names the template layer after the forward one and rebuilds forward_/backward_ from it.
            k["layer"]!["config"]!["name"] = bi.Forward.Name;
        }

        return Obj("keras.layers", cls, k);
    }

    private static string ClassName(Layer layer) => layer.ClassName;

    private static JsonNode? Initializer(JsonNode? value)
    {
        if (value is not JsonValue v || !v.TryGetValue(out string? text))
        {
            return value?.DeepClone();
        }

        // LstmSharp's text form name(k=v, ...) → {"class_name": "Name", "config": {k: v}}.
        int open = text.IndexOf('(', StringComparison.Ordinal);
        string name = open < 0 ? text : text[..open];
        var config = new JsonObject();
        if (open >= 0)
        {
            foreach (string part in text[(open + 1)..].TrimEnd(')').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                int eq = part.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                {
                    string val = part[(eq + 1)..].Trim();
                    config[part[..eq].Trim()] = double.TryParse(val, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? JsonValue.Create(d) : JsonValue.Create(val);
                }
            }
        }

        string camel = string.Concat(name.Split('_', StringSplitOptions.RemoveEmptyEntries).Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
        config["seed"] = null;
        if (camel is "Zeros" or "Ones")
        {
            config.Remove("seed");
        }

        return Obj("keras.initializers", camel, config);
    }

    private static JsonNode? Wrap(JsonNode? value, string module)
    {
        if (value is not JsonObject o)
        {
            return null;
        }

        return Obj(module, o["class_name"]!.GetValue<string>(), o["config"]?.DeepClone() as JsonObject ?? new JsonObject());
    }

    private static JsonObject Obj(string module, string cls, JsonObject config) => new()
    {
        ["module"] = module,
        ["class_name"] = cls,
        ["config"] = config,
        ["registered_name"] = null,
    };

    private static JsonArray Shape(int[] shape, int? batch)
    {
        var a = new JsonArray { batch is { } b ? JsonValue.Create(b) : null };
        foreach (int d in shape)
        {
            a.Add(d < 0 ? null : JsonValue.Create(d));
        }

        return a;
    }
}
