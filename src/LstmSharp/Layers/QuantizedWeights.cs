using System.Text.Json.Nodes;
using LstmSharp.Kernels;
using LstmSharp.Training;

namespace LstmSharp.Layers;

/// <summary>
/// A layer whose weight matrices can be stored in reduced precision for inference
/// (<see cref="QuantizationMode"/>; <c>Model.Quantize</c> converts them, the model file keeps them).
/// </summary>
internal interface IQuantizableLayer
{
    /// <summary>The mode the layer runs in; null while float32.</summary>
    QuantizationMode? Quantization { get; }

    /// <summary>The matrices the mode converts, each [rows, columns] with the output channels in columns.</summary>
    IReadOnlyList<(Parameter Weight, int Rows, int Columns)> QuantizableWeights { get; }

    /// <summary>Records that the weights now carry <see cref="Parameter.Quantized"/> storage in <paramref name="mode"/>.</summary>
    void SetQuantization(QuantizationMode mode);
}

/// <summary>What every quantizable layer shares: converting its weights, the config key, the empty storage a model file fills.</summary>
internal static class QuantizedWeights
{
    /// <summary>The config key; absent for a float32 layer, so a float model's file does not change.</summary>
    public const string ConfigKey = "quantization";

    /// <summary>
    /// Quantizes every layer's matrices first and only then installs them, so a refused weight
    /// (NaN, a layer already quantized) leaves every layer as it was. The float values of each
    /// converted weight become the values the quantized products stand for (<see cref="QuantizedMatrix.Dequantize"/>).
    /// </summary>
    public static int Apply(IEnumerable<IQuantizableLayer> layers, QuantizationMode mode, string owner)
    {
        var plan = new List<(IQuantizableLayer Layer, List<(Parameter Weight, QuantizedMatrix Matrix)> Matrices)>();
        foreach (var layer in layers)
        {
            if (layer.Quantization is { } already)
            {
                throw new InvalidOperationException($"{owner}: {Name(layer)} is already quantized ({already.ToName()}); quantize the float32 model instead (a second rounding would add to the first).");
            }

            var matrices = new List<(Parameter, QuantizedMatrix)>();
            foreach (var (p, rows, columns) in layer.QuantizableWeights)
            {
                matrices.Add((p, QuantizedMatrix.Quantize(p.Value.Span, rows, columns, mode, $"{Name(layer)} weight '{p.Name}'")));
            }

            plan.Add((layer, matrices));
        }

        foreach (var (layer, matrices) in plan)
        {
            foreach (var (p, q) in matrices)
            {
                p.Quantized = q;
                q.Dequantize(p.Value.Span);
            }

            layer.SetQuantization(mode);
        }

        return plan.Count;
    }

    /// <summary>Gives the layer's weights empty storage in <paramref name="mode"/> (a model file's reader then fills it).</summary>
    public static void Prepare(IQuantizableLayer layer, QuantizationMode mode)
    {
        foreach (var (p, rows, columns) in layer.QuantizableWeights)
        {
            p.Quantized = QuantizedMatrix.Create(mode, rows, columns);
        }

        layer.SetQuantization(mode);
    }

    /// <summary>The mode a layer config records, or null (float32).</summary>
    public static QuantizationMode? ReadConfig(JsonObject c) =>
        c.GetStringOrNull(ConfigKey) is { } name ? QuantizationModes.Parse(name, $"layer config '{ConfigKey}'") : null;

    /// <summary>Writes the key only for a quantized layer.</summary>
    public static void WriteConfig(JsonObject c, QuantizationMode? mode)
    {
        if (mode is { } m)
        {
            c[ConfigKey] = m.ToName();
        }
    }

    /// <summary>Refuses a change of the float values of quantized weights (they would no longer match what runs).</summary>
    public static void ThrowIfQuantized(IEnumerable<Parameter> parameters, string owner, string operation)
    {
        if (parameters.FirstOrDefault(p => p.Quantized is not null) is { } q)
        {
            throw new InvalidOperationException($"{owner}: {operation} on a quantized model is not supported (weight '{q.Path}' is {q.Quantized!.Mode.ToName()}); set the weights of the float32 model, then quantize it.");
        }
    }

    private static string Name(IQuantizableLayer layer) => layer is Layer l ? $"{l.ClassName} '{l.Name}'" : layer.GetType().Name;
}
