using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Serialization;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Models;

/// <summary>
/// Saving and loading. A model file is ONE safetensors file: the weights as F32 tensors named
/// by <see cref="Parameter.Path"/> (<c>lstm/kernel</c>, <c>dense/bias</c>), optionally the
/// optimizer's slots under <c>optimizer/...</c>, and in the header's <c>__metadata__</c> the
/// architecture (<c>config</c>, Keras-style JSON), the compile settings and the epoch — so the
/// Python <c>safetensors</c> library reads the weights as they are.
/// </summary>
public abstract partial class Model
{
    /// <summary>Value of the <c>format</c> metadata key.</summary>
    public const string FileFormat = "lstmsharp-model";

    /// <summary>Version of the layout of the metadata.</summary>
    public const int FileVersion = 1;

    private const string OptimizerPrefix = "optimizer/";

    private const string TextVectorizationKey = "text_vectorization";

    /// <summary>
    /// The text preprocessing that turns the model's raw input strings into its input indices
    /// (Keras puts a <c>TextVectorization</c> layer first in the model; strings cannot flow through
    /// float tensors here, so it rides alongside). Saved with the model, vocabulary included.
    /// </summary>
    public TextVectorization? TextVectorization { get; set; }

    /// <summary>The architecture as Keras-style JSON: <c>{"class_name": ..., "config": {...}}</c>.</summary>
    public abstract JsonObject GetConfig();

    /// <summary>
    /// Writes the model (architecture and weights; with <paramref name="includeOptimizer"/> also
    /// the compile settings and optimizer state, for resuming) atomically to <paramref name="path"/>.
    /// </summary>
    public void Save(string path, bool includeOptimizer = true, int? epoch = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var tensors = new List<SafeTensor>();
        var metadata = new Dictionary<string, string>
        {
            ["format"] = FileFormat,
            ["version"] = FileVersion.ToString(CultureInfo.InvariantCulture),
            ["config"] = GetConfig().ToJsonString(),
            ["weights"] = JsonSerializer.Serialize(Parameters.Select(p => p.Path).ToArray()),
        };
        foreach (var p in Parameters)
        {
            tensors.Add(SafeTensor.FromTensor(p.Path, p.Value));
        }

        if (TextVectorization is { } text)
        {
            metadata[TextVectorizationKey] = text.GetConfig().ToJsonString();
        }

        if (epoch is { } e)
        {
            metadata["epoch"] = e.ToString(CultureInfo.InvariantCulture);
        }

        if (includeOptimizer && Compiled)
        {
            var compile = new JsonObject
            {
                ["optimizer"] = Optimizer!.GetConfig(),
                ["loss"] = Loss!.GetConfig(),
                ["metrics"] = new JsonArray(MetricNames.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()),
            };
            var state = Optimizer.GetState();
            compile["iterations"] = state.Iterations;
            compile["learning_rate"] = state.LearningRate;
            metadata["compile"] = compile.ToJsonString();
            foreach (var (name, slot) in state.Slots.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                tensors.Add(SafeTensor.FromSingles(OptimizerPrefix + name, slot.Values, slot.Shape));
            }
        }

        SafeTensors.Save(path, tensors, metadata);
    }

    /// <summary>Writes only the weights (safetensors, names = parameter paths).</summary>
    public void SaveWeights(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeTensors.Save(path, Parameters.Select(p => new KeyValuePair<string, Tensor>(p.Path, p.Value)));
    }

    /// <summary>Reads weights saved by <see cref="SaveWeights"/> or <see cref="Save"/>; every parameter must be present with its shape.</summary>
    public void LoadWeights(string path)
    {
        var file = SafeTensors.Load(path);
        AssignWeights(file, path);
    }

    /// <summary>Rebuilds a model saved with <see cref="Save"/>: same architecture, same weights, and (when saved) compiled with the same optimizer state.</summary>
    public static Model Load(string path) => Load(path, out _);

    /// <summary>As <see cref="Load(string)"/>; <paramref name="epoch"/> is the epoch stored by a checkpoint (or null).</summary>
    public static Model Load(string path, out int? epoch)
    {
        var file = SafeTensors.Load(path);
        var meta = file.Metadata;
        if (!meta.TryGetValue("format", out var format) || format != FileFormat)
        {
            throw new ModelFormatException(path, null, $"not an LstmSharp model file (metadata 'format' is {(format is null ? "missing" : $"'{format}'")}, expected '{FileFormat}'); for a weights-only file use LoadWeights.");
        }

        if (!meta.TryGetValue("version", out var version) || version != FileVersion.ToString(CultureInfo.InvariantCulture))
        {
            throw new ModelFormatException(path, null, $"unsupported model file version '{version}', expected {FileVersion}.");
        }

        JsonObject config = ParseObject(path, meta, "config");
        Model model;
        long stored = file.Tensors.Where(t => !t.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)).Sum(t => (long)t.ElementCount);
        try
        {
            using (Layer.LimitWeights(stored))
            {
                model = FromConfig(config);
                model.EnsureBuilt();
            }
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or KeyNotFoundException or FormatException or InvalidCastException)
        {
            throw new ModelFormatException(path, null, $"invalid architecture config: {e.Message}", e);
        }

        model.AssignWeights(file, path);
        if (meta.ContainsKey(TextVectorizationKey))
        {
            var textConfig = ParseObject(path, meta, TextVectorizationKey);
            try
            {
                model.TextVectorization = TextVectorization.FromConfig(textConfig);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException or FormatException or InvalidCastException)
            {
                throw new ModelFormatException(path, null, $"invalid text_vectorization metadata: {e.Message}", e);
            }
        }

        epoch = meta.TryGetValue("epoch", out var ep) && int.TryParse(ep, NumberStyles.Integer, CultureInfo.InvariantCulture, out int epv) ? epv : null;
        if (meta.ContainsKey("compile"))
        {
            var compile = ParseObject(path, meta, "compile");
            try
            {
                var optimizer = Optimizers.FromConfig(compile["optimizer"]!.AsObject());
                var loss = Losses.FromConfig(compile["loss"]!.AsObject());
                var metrics = compile["metrics"]?.AsArray().Select(m => m!.GetValue<string>()).ToArray() ?? [];
                model.Compile(optimizer, loss, metrics);
                var slots = new Dictionary<string, StateArray>(StringComparer.Ordinal);
                foreach (var t in file.Tensors.Where(t => t.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)))
                {
                    slots[t.Name[OptimizerPrefix.Length..]] = new StateArray(t.ShapeArray, t.ToSingleArray());
                }

                long iterations = compile["iterations"]?.GetValue<long>() ?? 0;
                double? lr = compile["learning_rate"]?.GetValue<double>();
                optimizer.SetState(new OptimizerState(iterations, lr, slots), model.TrainableParameters);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or KeyNotFoundException or FormatException or InvalidCastException or NullReferenceException)
            {
                throw new ModelFormatException(path, null, $"invalid compile settings or optimizer state: {e.Message}", e);
            }
        }

        return model;
    }

    /// <summary>A new, unbuilt-weights model from <see cref="GetConfig"/>'s JSON.</summary>
    public static Model FromConfig(JsonObject config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string className = config["class_name"]?.GetValue<string>() ?? throw new ArgumentException("model config: missing 'class_name'.");
        var inner = config["config"] as JsonObject ?? throw new ArgumentException("model config: missing 'config' object.");
        return className switch
        {
            "Sequential" => Sequential.FromConfig(inner),
            "Functional" or "Model" => Functional.FromConfig(inner),
            _ => throw new ArgumentException($"model config: unknown model class '{className}'; expected Sequential or Functional."),
        };
    }

    /// <summary>A layer's <c>{"class_name", "config"}</c> pair.</summary>
    internal static JsonObject LayerEntry(Layer layer) => new()
    {
        ["class_name"] = layer.ClassName,
        ["config"] = layer.GetConfig(),
    };

    internal static Layer LayerFromEntry(JsonNode? entry)
    {
        var obj = entry as JsonObject ?? throw new ArgumentException("model config: a layer entry is not an object.");
        string className = obj["class_name"]?.GetValue<string>() ?? throw new ArgumentException("model config: a layer entry has no 'class_name'.");
        var cfg = obj["config"] as JsonObject ?? throw new ArgumentException($"model config: layer '{className}' has no 'config' object.");
        return LayerRegistry.FromConfig(className, (JsonObject)cfg.DeepClone());
    }

    private void AssignWeights(SafeTensorsFile file, string path)
    {
        var ps = Parameters;
        foreach (var p in ps)
        {
            if (!file.TryGet(p.Path, out var t))
            {
                throw new ModelFormatException(path, p.Path, $"weight missing from the file (expected {Tensor.FormatShape(p.Value.Shape)}).");
            }

            if (t.DType != SafeTensorDType.F32)
            {
                throw new ModelFormatException(path, p.Path, $"dtype {t.DType.FileName()}, expected F32.");
            }

            if (!t.Shape.SequenceEqual(p.Value.Shape))
            {
                throw new ModelFormatException(path, p.Path, $"shape {Tensor.FormatShape(t.Shape)} does not match the model's {Tensor.FormatShape(p.Value.Shape)}.");
            }
        }

        foreach (var p in ps)
        {
            file.Get(p.Path).ToSingleArray().CopyTo(p.Value.Span);
        }
    }

    private static JsonObject ParseObject(string path, IReadOnlyDictionary<string, string> meta, string key)
    {
        if (!meta.TryGetValue(key, out var text))
        {
            throw new ModelFormatException(path, null, $"metadata '{key}' is missing.");
        }

        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw new ModelFormatException(path, null, $"metadata '{key}' is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, null, $"metadata '{key}' is not valid JSON: {e.Message}", e);
        }
    }
}
