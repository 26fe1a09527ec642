using LstmSharp.Autograd;
using LstmSharp.Kernels;

namespace LstmSharp.Bench;

/// <summary>
/// <c>infer-lstm-b{1,128}-{int8,bf16}</c>: the inference model of <c>infer-lstm-b*</c> after
/// <c>Model.Quantize</c> (LSTM W and U in int8 per channel or bf16, float32 activations), timed in
/// the same alternating rounds as libtorch float32 and LstmSharp float32 (side <c>lstmsharp-f32</c>).
/// </summary>
internal static partial class RnnBenchmark
{
    private static readonly (string Name, int Batch, QuantizationMode Mode)[] QuantizedInference =
    [
        ("infer-lstm-b1-int8", 1, QuantizationMode.Int8),
        ("infer-lstm-b1-bf16", 1, QuantizationMode.BFloat16),
        ("infer-lstm-b128-int8", Batch, QuantizationMode.Int8),
        ("infer-lstm-b128-bf16", Batch, QuantizationMode.BFloat16),
    ];

    private static IEnumerable<(string Name, Func<Side> Ours, Func<Side> Theirs)> QuantizedWorkloads() =>
        QuantizedInference.Select(w => (w.Name, (Func<Side>)(() => OursInferQuantized(w.Batch, w.Mode)), (Func<Side>)(() => TheirsInfer(w.Batch))));

    /// <summary>The sides timed beside a workload's two: ONNX Runtime for the float inference, LstmSharp float32 for the quantized.</summary>
    private static (string Name, Side Side)[] ExtraSides(string name, int threads)
    {
        foreach (var w in QuantizedInference)
        {
            if (w.Name == name)
            {
                return [("lstmsharp-f32", OursInfer(w.Batch, usePredict: false))];
            }
        }

        return name.StartsWith("infer-lstm-b", StringComparison.Ordinal)
            ? [("onnxruntime-spin0", OrtInfer(name == "infer-lstm-b1" ? 1 : Batch, threads, spinning: false)), ("onnxruntime-spin1", OrtInfer(name == "infer-lstm-b1" ? 1 : Batch, threads, spinning: true))]
            : [];
    }

    private static Side OursInferQuantized(int batch, QuantizationMode mode)
    {
        var model = OurClassifier(Cell.Lstm);
        model.Quantize(new QuantizationOptions { Mode = mode });
        var (x, _) = Data(batch);
        return new Side(
            () =>
            {
                using var noGrad = Tape.NoGrad();
                model.Call(x);
            },
            $"model.Quantize({mode.ToName()}); model.Call(x) inside Tape.NoGrad()",
            20);
    }
}
