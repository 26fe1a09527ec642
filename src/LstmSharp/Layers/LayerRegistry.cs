using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace LstmSharp.Layers;

/// <summary>
/// Class name → factory, so a saved model can be rebuilt from <c>(class_name, config)</c> pairs
/// (<see cref="Layer.GetConfig"/>). Built-in layers are registered; others call <see cref="Register"/>.
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
        ["LSTM"] = LstmSharp.Recurrent.LSTM.FromConfig,
        ["GRU"] = LstmSharp.Recurrent.GRU.FromConfig,
        ["SimpleRNN"] = LstmSharp.Recurrent.SimpleRNN.FromConfig,
        ["Bidirectional"] = LstmSharp.Recurrent.Bidirectional.FromConfig,
        ["Concatenate"] = Concatenate.FromConfig,
        ["Add"] = Add.FromConfig,
        ["RepeatVector"] = RepeatVector.FromConfig,
        ["TimeDistributed"] = TimeDistributed.FromConfig,
        ["Masking"] = Masking.FromConfig,
        ["AxisSlice"] = AxisSlice.FromConfig,
        ["ReverseTime"] = LstmSharp.Recurrent.ReverseTime.FromConfig,
        ["Normalization"] = Normalization.FromConfig,
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
}
