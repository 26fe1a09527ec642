using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Training;

namespace LstmSharp.Recurrent;

/// <summary>Reduced-precision inference of the LSTM: W and U in int8 or bf16 (<see cref="QuantizationMode"/>); bias, peepholes and gate recurrence stay float32.</summary>
public sealed partial class LSTM : IQuantizableLayer
{
    // Set by FromConfig: the layer is built with empty quantized storage that a model file fills.
    private QuantizationMode? pendingQuantization;

    /// <summary>How W and U are stored for inference: null (float32, trainable) or the mode <c>Model.Quantize</c> applied.</summary>
    public QuantizationMode? Quantization { get; private set; }

    /// <summary>The sequence kernel (tests pin its SIMD width).</summary>
    internal LstmKernel? CellKernel => kernel;

    IReadOnlyList<(Parameter Weight, int Rows, int Columns)> IQuantizableLayer.QuantizableWeights =>
        Kernel is null || RecurrentKernel is null
            ? throw new InvalidOperationException($"{Describe()}: not built yet, so there are no weights to quantize.")
            : [(Kernel, Kernel.Value.Dim(0), Kernel.Value.Dim(1)), (RecurrentKernel, RecurrentKernel.Value.Dim(0), RecurrentKernel.Value.Dim(1))];

    void IQuantizableLayer.SetQuantization(QuantizationMode mode) => Quantization = mode;

    private void ThrowIfQuantizedTraining(object? cache)
    {
        if (cache is not null && Quantization is { } mode)
        {
            throw new InvalidOperationException($"{Describe()}: quantized ({mode.ToName()}) for inference only; it cannot be trained or differentiated. Train the float32 model, then call Model.Quantize.");
        }
    }
}
