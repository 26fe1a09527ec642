using LstmSharp.Data;
using LstmSharp.Interop.Onnx;
using LstmSharp.Models;
using LstmSharp.Tests.Infrastructure;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tensor = LstmSharp.Tensors.Tensor;

namespace LstmSharp.Tests.Interop;

/// <summary>
/// Graphs laid out as tf2onnx writes Keras / TensorFlow LSTM, GRU and bidirectional layers
/// (Fixtures/onnx-tf2onnx/make_tf2onnx_shaped.py, built after tf2onnx's rewriter source — not
/// tf2onnx output, which needs TensorFlow from PyPI): time-major Transpose, Keras i,f,c,o already
/// permuted to ONNX i,o,f,c, zero states from Shape → Slice → Concat → Expand / ConstantOfShape,
/// Squeeze / Slice of Y, per-direction Slices of a bidirectional node, sequence_lens and initial
/// states as graph inputs. Each imports and matches the script's float64 NumPy reference (Keras's
/// and TensorFlow's equations on their own weights) within 1e-5 relative, and ONNX Runtime on the
/// same file agrees with that reference.
/// </summary>
public sealed class OnnxTf2OnnxShapedTests
{
    private static string Root => Path.Combine(AppContext.BaseDirectory, "Fixtures", "onnx-tf2onnx");

    private static string[] Names => Directory.GetDirectories(Root).Select(d => Path.GetFileName(d)).Order(StringComparer.Ordinal).ToArray();

    public static TheoryData<string> Fixtures() => new(Names);

    [Fact]
    public void EveryCaseIsThere()
    {
        Assert.Equal(
            ["keras_bilstm_sequences_op13", "keras_embedding_bigru_last_op15", "keras_gru_states_op15", "keras_lstm_hardsigmoid_states_op11",
             "keras_lstm_last_dense_op13", "keras_lstm_last_dense_op9", "tf_dynamic_lstm_lengths_states_op13"],
            Names);
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void ImportsAndMatchesTheNumpyReference(string name)
    {
        string dir = Path.Combine(Root, name);
        var (inputs, expected) = Load(dir);
        var model = Model.LoadOnnx(Path.Combine(dir, "model.onnx"));
        Assert.Equal(inputs.Length, model.InputCount);
        var outputs = model.Call(inputs);
        Assert.Equal(expected.Length, outputs.Count);
        for (int k = 0; k < expected.Length; k++)
        {
            Assert.Equal(expected[k].ShapeArray, outputs[k].ShapeArray);
            Check.Close($"{name} output {k}", expected[k].ToArray().Select(v => (double)v).ToArray(), outputs[k].Span, rel: 1e-5, abs: 1e-6);
        }
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void OnnxRuntimeAgreesWithTheNumpyReference(string name)
    {
        string dir = Path.Combine(Root, name);
        var (inputs, expected) = Load(dir);
        using var options = new SessionOptions { IntraOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        using var session = new InferenceSession(Path.Combine(dir, "model.onnx"), options);
        var feeds = session.InputNames.Select((n, k) => Feed(n, session.InputMetadata[n].ElementType, inputs[k])).ToList();
        using var results = session.Run(feeds);
        var byName = results.ToDictionary(r => r.Name, r => r.AsTensor<float>());
        Assert.Equal(expected.Length, session.OutputNames.Count);
        for (int k = 0; k < expected.Length; k++)
        {
            var actual = byName[session.OutputNames[k]];
            Assert.Equal(expected[k].ShapeArray, actual.Dimensions.ToArray());
            Check.Close($"{name} ONNX Runtime output {k}", expected[k].ToArray().Select(v => (double)v).ToArray(), actual.ToArray(), rel: 1e-5, abs: 1e-6);
        }
    }

    private static (Tensor[] Inputs, Tensor[] Outputs) Load(string dir) =>
        (Directory.GetFiles(dir, "input_*.npy").Order(StringComparer.Ordinal).Select(ArrayFiles.LoadNpy).ToArray(),
         Directory.GetFiles(dir, "output_*.npy").Order(StringComparer.Ordinal).Select(ArrayFiles.LoadNpy).ToArray());

    private static NamedOnnxValue Feed(string name, Type type, Tensor t) =>
        type == typeof(int) ? NamedOnnxValue.CreateFromTensor(name, new DenseTensor<int>(t.ToArray().Select(v => (int)v).ToArray(), t.ShapeArray))
        : type == typeof(long) ? NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(t.ToArray().Select(v => (long)v).ToArray(), t.ShapeArray))
        : NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(t.ToArray(), t.ShapeArray));
}
