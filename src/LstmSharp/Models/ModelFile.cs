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
            tensors.AddRange(StoredTensors(p));
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

    /// <summary>
    /// Reads weights saved by <see cref="SaveWeights"/> or <see cref="Save"/>; every parameter must
    /// be present with its shape. Weights holding NaN or ±Inf are refused (the model is left
    /// unchanged) unless <paramref name="allowNonFiniteWeights"/>.
    /// </summary>
    public void LoadWeights(string path, bool allowNonFiniteWeights = false)
    {
        RequireFloatWeights(nameof(LoadWeights));
        var file = SafeTensors.Load(path);
        foreach (var p in Parameters)
        {
            if (file.TryGet(p.Path, out var t) && t.DType == SafeTensorDType.F32 && !allowNonFiniteWeights)
            {
                CheckFinite(path, p.Path, t.ToSingleArray());
            }
        }

        AssignWeights(file, path);
    }

    /// <summary>Rebuilds a model saved with <see cref="Save"/>: same architecture, same weights, and (when saved) compiled with the same optimizer state.</summary>
    public static Model Load(string path) => Load(path, out _);

    /// <summary>As <see cref="Load(string)"/>; with <paramref name="allowNonFiniteWeights"/> weights and optimizer state holding NaN or ±Inf are accepted.</summary>
    public static Model Load(string path, bool allowNonFiniteWeights) => Load(path, out _, allowNonFiniteWeights);

    /// <summary>
    /// As <see cref="Load(string)"/>; <paramref name="epoch"/> is the epoch stored by a checkpoint (or null).
    /// </summary>
    /// <remarks>
    /// Only the header is read as a whole; each weight's bytes are read from the file straight into
    /// the new model's tensor, so loading costs about the model's size in memory, not twice it.
    /// Every problem of the file is a <see cref="ModelFormatException"/> naming the file and the
    /// tensor; so are weights holding NaN or ±Inf unless <paramref name="allowNonFiniteWeights"/>.
    /// </remarks>
    public static Model Load(string path, out int? epoch, bool allowNonFiniteWeights = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.RandomAccess);
        var file = SafeTensors.ReadLayout(stream, path);
        var byName = file.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
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
        long stored = file.Entries.Where(t => !t.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)).Sum(t => t.ElementCount);
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

        model.CheckWeightEntries(byName, path);
        foreach (var p in model.Parameters)
        {
            if (p.Quantized is { } q)
            {
                ReadQuantized(stream, file, byName, path, p, q);
            }
            else
            {
                ReadF32(stream, file, byName[p.Path], path, p.Value.Span, allowNonFiniteWeights);
            }
        }

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
                var optimizer = Optimizers.FromConfig(compile["optimizer"] as JsonObject ?? throw new ArgumentException("'optimizer' is missing or not an object."));
                var loss = Losses.FromConfig(compile["loss"] as JsonObject ?? throw new ArgumentException("'loss' is missing or not an object."));
                var metrics = compile["metrics"] switch
                {
                    null => [],
                    JsonArray a => a.Select(m => m is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw new ArgumentException("'metrics' holds an entry that is not a string.")).ToArray(),
                    _ => throw new ArgumentException("'metrics' is not a list of names."),
                };
                model.Compile(optimizer, loss, metrics);
                var slots = new Dictionary<string, StateArray>(StringComparer.Ordinal);
                foreach (var t in file.Entries.Where(t => t.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)))
                {
                    if (t.DType != SafeTensorDType.F32)
                    {
                        throw new ModelFormatException(path, t.Name, $"dtype {t.DType.FileName()}, expected F32.");
                    }

                    var values = new float[t.ElementCount];
                    ReadF32(stream, file, t, path, values, allowNonFiniteWeights);
                    slots[t.Name[OptimizerPrefix.Length..]] = new StateArray((int[])t.Shape.Clone(), values);
                }

                long iterations = compile["iterations"]?.GetValue<long>() ?? 0;
                double? lr = compile["learning_rate"]?.GetValue<double>();
                optimizer.SetState(new OptimizerState(iterations, lr, slots), model.TrainableParameters);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or KeyNotFoundException or FormatException or InvalidCastException)
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

    private void AssignWeights(SafeTensorsFile file, string path)
    {
        var ps = Parameters;
        foreach (var p in ps)
        {
            if (!file.TryGet(p.Path, out var t))
            {
                throw new ModelFormatException(path, p.Path, $"weight missing from the file (expected {Tensor.FormatShape(p.Value.Shape)}).");
            }

            CheckWeightEntry(path, p, t.DType, t.Shape);
        }

        foreach (var p in ps)
        {
            file.Get(p.Path).ToSingleArray().CopyTo(p.Value.Span);
        }
    }

    private void CheckWeightEntries(Dictionary<string, SafeTensors.FileEntry> byName, string path)
    {
        foreach (var p in Parameters)
        {
            if (!byName.TryGetValue(p.Path, out var e))
            {
                throw new ModelFormatException(path, p.Path, $"weight missing from the file (expected {Tensor.FormatShape(p.Value.Shape)}).");
            }

            CheckWeightEntry(path, p, e.DType, e.Shape);
            CheckScaleEntry(byName, path, p);
        }
    }

    private static void CheckWeightEntry(string path, Parameter p, SafeTensorDType dtype, ReadOnlySpan<int> shape)
    {
        var expected = StoredDType(p);
        if (dtype != expected)
        {
            throw new ModelFormatException(path, p.Path, $"dtype {dtype.FileName()}, expected {expected.FileName()}.");
        }

        if (!shape.SequenceEqual(p.Value.Shape))
        {
            throw new ModelFormatException(path, p.Path, $"shape {Tensor.FormatShape(shape)} does not match the model's {Tensor.FormatShape(p.Value.Shape)}.");
        }
    }

    /// <summary>Reads a tensor's bytes as stored, which must fill <paramref name="destination"/> exactly.</summary>
    private static void ReadExactly(FileStream stream, SafeTensors.FileLayout file, SafeTensors.FileEntry entry, string path, Span<byte> destination)
    {
        if (destination.Length != entry.End - entry.Begin)
        {
            throw new ModelFormatException(path, entry.Name, $"holds {entry.End - entry.Begin} bytes, expected {destination.Length}.");
        }

        stream.Position = file.DataStart + entry.Begin;
        int got = stream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false);
        if (got != destination.Length)
        {
            throw new ModelFormatException(path, entry.Name, $"the file ended after {got} of the tensor's {destination.Length} bytes (changed while reading?).");
        }
    }

    /// <summary>Reads an F32 tensor's bytes from the file straight into <paramref name="destination"/> (little-endian, as the format stores them).</summary>
    private static void ReadF32(FileStream stream, SafeTensors.FileLayout file, SafeTensors.FileEntry entry, string path, Span<float> destination, bool allowNonFinite)
    {
        ReadExactly(stream, file, entry, path, System.Runtime.InteropServices.MemoryMarshal.AsBytes(destination));
        if (!BitConverter.IsLittleEndian)
        {
            var words = System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(destination);
            System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(words, words);
        }

        if (!allowNonFinite)
        {
            CheckFinite(path, entry.Name, destination);
        }
    }

    /// <summary>The file's NaN policy: NaN or ±Inf in stored weights is refused unless the caller opts in.</summary>
    private static void CheckFinite(string path, string name, ReadOnlySpan<float> values)
    {
        if (values.IsEmpty || float.IsFinite(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(values)))
        {
            return;
        }

        int at = 0;
        while (float.IsFinite(values[at]))
        {
            at++;
        }

        throw new ModelFormatException(path, name, $"value [{at}] is {values[at]} (NaN or infinite weights, e.g. saved after training diverged); pass allowNonFiniteWeights: true to load them anyway.");
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
