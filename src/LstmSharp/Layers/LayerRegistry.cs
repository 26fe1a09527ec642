using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace LstmSharp.Layers;

/// <summary>
/// Class name → factory, so a saved model can be rebuilt from <c>(class_name, config)</c> pairs
/// (<see cref="Layer.GetConfig"/>). The layers of this namespace are listed here; each namespace
/// above registers its own (<c>LstmSharp.Recurrent</c> from a module initializer), so this one
/// never names a layer it cannot see; user layers call <see cref="Register"/>.
/// </summary>
public static class LayerRegistry
{
    private static readonly ConcurrentDictionary<string, Func<JsonObject, Layer>> Factories = new(StringComparer.Ordinal)
    {
        ["InputLayer"] = InputLayer.FromConfig,
        ["Dense"] = Dense.FromConfig,
        ["Activation"] = Activation.FromConfig,
        ["Dropout"] = Dropout.FromConfig,
        ["Embedding"] = Embedding.FromConfig,
        ["Flatten"] = Flatten.FromConfig,
        ["Reshape"] = Reshape.FromConfig,
        ["Concatenate"] = Concatenate.FromConfig,
        ["Add"] = Add.FromConfig,
        ["RepeatVector"] = RepeatVector.FromConfig,
        ["TimeDistributed"] = TimeDistributed.FromConfig,
        ["Masking"] = Masking.FromConfig,
        ["SequenceLengthMask"] = SequenceLengthMask.FromConfig,
        ["AxisSlice"] = AxisSlice.FromConfig,
        ["Normalization"] = Normalization.FromConfig,
        ["LayerNormalization"] = LayerNormalization.FromConfig,
        ["BatchNormalization"] = BatchNormalization.FromConfig,
        ["Conv1D"] = Conv1D.FromConfig,
        ["MaxPooling1D"] = c => Pooling1D.FromConfig(c, max: true),
        ["AveragePooling1D"] = c => Pooling1D.FromConfig(c, max: false),
        ["GlobalMaxPooling1D"] = c => GlobalPooling1D.FromConfig(c, max: true),
        ["GlobalAveragePooling1D"] = c => GlobalPooling1D.FromConfig(c, max: false),
        ["SpatialDropout1D"] = SpatialDropout1D.FromConfig,
        ["Attention"] = Attention.FromConfig,
        ["AdditiveAttention"] = AdditiveAttention.FromConfig,
        ["MultiHeadAttention"] = MultiHeadAttention.FromConfig,
    };

    /// <summary>Registers (or replaces) the factory for <paramref name="className"/>.</summary>
    public static void Register(string className, Func<JsonObject, Layer> factory)
    {
        ArgumentException.ThrowIfNullOrEmpty(className);
        ArgumentNullException.ThrowIfNull(factory);
        Factories[className] = factory;
    }

    public static IReadOnlyCollection<string> ClassNames => Factories.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>A new layer of class <paramref name="className"/> built from its config.</summary>
    public static Layer FromConfig(string className, JsonObject config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!Factories.TryGetValue(className ?? string.Empty, out var factory))
        {
            throw new ArgumentException($"LayerRegistry: unknown layer class '{className}'; registered: {string.Join(", ", ClassNames)}.", nameof(className));
        }

        return factory(config);
    }

    /// <summary>A layer's <c>{"class_name", "config"}</c> pair, as model files and wrapper layers store it.</summary>
    public static JsonObject ToEntry(Layer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        return new JsonObject
        {
            ["class_name"] = layer.ClassName,
            ["config"] = layer.GetConfig(),
        };
    }

    /// <summary>A new layer from a <c>{"class_name", "config"}</c> pair (<see cref="ToEntry"/>).</summary>
    public static Layer FromEntry(JsonNode? entry)
    {
        var obj = entry as JsonObject ?? throw new ArgumentException("model config: a layer entry is not an object.");
        string className = obj["class_name"]?.GetValue<string>() ?? throw new ArgumentException("model config: a layer entry has no 'class_name'.");
        var cfg = obj["config"] as JsonObject ?? throw new ArgumentException($"model config: layer '{className}' has no 'config' object.");
        return FromConfig(className, (JsonObject)cfg.DeepClone());
    }
}
