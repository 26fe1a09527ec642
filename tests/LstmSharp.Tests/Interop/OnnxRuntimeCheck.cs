using LstmSharp.Interop.Onnx;
using LstmSharp.Models;
using LstmSharp.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tensor = LstmSharp.Tensors.Tensor;

namespace LstmSharp.Tests.Interop;

/// <summary>Runs exported models in ONNX Runtime (the outside judge) and compares them with LstmSharp's own outputs.</summary>
internal static class OnnxRuntimeCheck
{
    /// <summary>Relative tolerance (absolute below 1): float32 kernels summing in another order.</summary>
    public const double Tolerance = 1e-5;

    /// <summary>
    /// Runs <paramref name="onnx"/> with the graph inputs fed in order from <paramref name="inputs"/>,
    /// except those named in <paramref name="named"/>; int64 inputs get the values rounded.
    /// Returns every output by name, in graph order.
    /// </summary>
    public static List<(string Name, float[] Values, int[] Shape)> Run(byte[] onnx, IReadOnlyList<Tensor> inputs, IReadOnlyDictionary<string, Tensor>? named = null)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        using var session = new InferenceSession(onnx, options);
        var feeds = new List<NamedOnnxValue>();
        int k = 0;
        foreach (string name in session.InputNames)
        {
            var t = named is not null && named.TryGetValue(name, out var given) ? given
                : k < inputs.Count ? inputs[k++] : throw new ArgumentException($"graph input '{name}' was not given (inputs: {string.Join(", ", session.InputNames)}).");
            feeds.Add(session.InputMetadata[name].ElementType == typeof(long)
                ? NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(t.ToArray().Select(v => (long)MathF.Round(v)).ToArray(), t.ShapeArray))
                : NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(t.ToArray(), t.ShapeArray)));
        }

        Assert.Equal(inputs.Count, k);
        using var results = session.Run(feeds);
        var byName = results.ToDictionary(r => r.Name, r => r.AsTensor<float>());
        return session.OutputNames.Select(n => (n, byName[n].ToArray(), byName[n].Dimensions.ToArray())).ToList();
    }

    /// <summary>Exports <paramref name="model"/>, runs it in ONNX Runtime on <paramref name="inputs"/> and holds every model output to LstmSharp's.</summary>
    public static void AssertMatches(Model model, IReadOnlyList<Tensor> inputs, int opset = 17)
    {
        var expected = model.Call(inputs, training: false);
        var actual = Run(model.ToOnnxBytes(new OnnxExportOptions { Opset = opset }), inputs);
        Assert.True(actual.Count >= expected.Count, $"ONNX graph has {actual.Count} outputs, the model {expected.Count}.");
        for (int i = 0; i < expected.Count; i++)
        {
            AssertClose($"{model.Name} output {i} ({actual[i].Name})", expected[i], actual[i].Values, actual[i].Shape);
        }
    }

    public static void AssertClose(string label, Tensor expected, float[] actual, int[] shape)
    {
        Assert.True(expected.ShapeArray.SequenceEqual(shape), $"{label}: shape {Tensor.FormatShape(shape)}, expected {Tensor.FormatShape(expected.Shape)}.");
        var e = expected.Span;
        double worst = 0;
        int at = -1;
        for (int i = 0; i < e.Length; i++)
        {
            double err = Math.Abs(e[i] - actual[i]) / Math.Max(1.0, Math.Abs(e[i]));
            if (!(err <= worst))
            {
                worst = err;
                at = i;
            }
        }

        if (!(worst <= Tolerance))
        {
            Assert.Fail($"{label}: ONNX Runtime differs from LstmSharp by {worst:G3} (relative) at flat index {at}: expected {e[at]}, got {actual[at]}.");
        }
    }

    /// <summary>Uniform values in [-0.5, 0.5) for every weight, so a misplaced bias, gate block or peephole cannot hide behind zeros.</summary>
    public static void RandomizeWeights(Model model, int seed)
    {
        var rng = new Rng(seed);
        foreach (var p in model.Parameters)
        {
            var s = p.Value.Span;
            for (int i = 0; i < s.Length; i++)
            {
                s[i] = rng.NextFloat() - 0.5f;
            }
        }
    }

    public static Tensor RandomInput(int seed, params int[] shape)
    {
        var rng = new Rng(seed);
        var t = new Tensor(shape);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++)
        {
            s[i] = (2 * rng.NextFloat()) - 1;
        }

        return t;
    }
}
