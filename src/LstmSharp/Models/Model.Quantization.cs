using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Tensors;

namespace LstmSharp.Models;

/// <summary>Reduced-precision inference: converting the layers that support it and refusing what a quantized model cannot do.</summary>
public abstract partial class Model
{
    /// <summary>
    /// Converts, in place, the weight matrices of every layer that supports it (LSTM: W and U)
    /// to <see cref="QuantizationOptions.Mode"/> (default int8 per output channel), so
    /// <see cref="Predict(Tensor, int)"/> and <see cref="Call(Tensor, bool)"/> run the
    /// reduced-precision products — PyTorch's <c>quantize_dynamic</c> applied to this model.
    /// </summary>
    /// <remarks>
    /// The float values of the converted weights become the values the quantized ones stand for;
    /// <see cref="Save"/> writes the quantized weights (int8 + per-channel float32 scales, or
    /// BF16) and <see cref="Load(string)"/> restores them. A quantized model is for inference:
    /// Fit, SetWeights and LoadWeights refuse it. Returns this model.
    /// </remarks>
    public Model Quantize(QuantizationOptions? options = null)
    {
        options ??= new QuantizationOptions();
        EnsureBuilt();
        var layers = QuantizableLayers().ToList();
        if (layers.Count == 0)
        {
            throw new InvalidOperationException($"Model '{Name}': no layer supports quantization (supported: LSTM).");
        }

        QuantizedWeights.Apply(layers, options.Mode, $"Model '{Name}'");
        return this;
    }

    /// <summary>The modes the model's layers run in: empty for a float32 model.</summary>
    public IReadOnlyList<QuantizationMode> QuantizationModes =>
        QuantizableLayers(build: false).Select(l => l.Quantization).OfType<QuantizationMode>().Distinct().ToArray();

    /// <summary>Refuses <paramref name="method"/> on a model with quantized layers (without building it: building draws from the global generator).</summary>
    internal void RequireFloatWeights(string method)
    {
        if (QuantizableLayers(build: false).FirstOrDefault(l => l.Quantization is not null) is { } q)
        {
            string layer = q is Layer l ? $"{l.ClassName} '{l.Name}'" : q.GetType().Name;
            throw new InvalidOperationException($"Model '{Name}': {method} on a quantized model is not supported ({layer} is {q.Quantization!.Value.ToName()}); it is for inference. Use the float32 model, then quantize it.");
        }
    }

    private IEnumerable<IQuantizableLayer> QuantizableLayers(bool build = true)
    {
        if (build)
        {
            EnsureBuilt();
        }

        var seen = new HashSet<Layer>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<Layer>(Layers.Reverse());
        while (stack.Count > 0)
        {
            var layer = stack.Pop();
            if (!seen.Add(layer))
            {
                continue;
            }

            if (layer is IQuantizableLayer q)
            {
                yield return q;
            }

            foreach (var s in layer.Sublayers.Reverse())
            {
                stack.Push(s);
            }
        }
    }
}
