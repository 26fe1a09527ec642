using LstmSharp.Models;
using LstmSharp.Tensors;

namespace LstmSharp.Interop.Onnx;

/// <summary>
/// Reads an ONNX model (ONNX's recurrent operators as torch.onnx, tf2onnx or LstmSharp's own
/// exporter write them) into an ordinary LstmSharp <see cref="Model"/>: summary, predict,
/// fine-tune with fit, save.
/// </summary>
/// <remarks>
/// <para>Constant subgraphs are folded; what depends on the graph inputs is mapped onto layers
/// (LSTM / GRU / RNN → LSTM / GRU / SimpleRNN, bidirectional → Bidirectional, Gather of a table →
/// Embedding, MatMul + Add / Gemm → Dense, activations, Transpose / Squeeze / Reshape / Slice
/// between them; a node with a clip or activations the fused layers cannot fold → RNN over an
/// <see cref="Recurrent.OnnxRecurrentCell"/>; a run-time <c>sequence_lens</c> → a second model input
/// through <see cref="Layers.SequenceLengthMask"/>). The model keeps the graph's layout: a seq-first graph takes
/// <c>[time, batch, features]</c> (<see cref="Model.InputBatchAxes"/>).</para>
/// <para>Errors: a file that is not valid ONNX throws <see cref="OnnxFormatException"/>; a valid
/// graph that does not map onto layers throws <see cref="OnnxUnsupportedException"/> listing the
/// nodes; both are <see cref="OnnxImportException"/>s naming the file.</para>
/// </remarks>
public static class OnnxImport
{
    /// <summary>Imports the model in <paramref name="path"/>.</summary>
    public static Model Load(string path) => Load(path, null);

    /// <summary>
    /// Imports the model in <paramref name="path"/>, binding the graph inputs named in
    /// <paramref name="constants"/> to those values (weights kept outside the graph, as in ONNX's
    /// conformance cases, or fixed extra inputs); the other inputs become the model's inputs.
    /// </summary>
    public static Model Load(string path, IReadOnlyDictionary<string, Tensor>? constants)
    {
        var bytes = OnnxModelReader.ReadBytes(path);
        return OnnxImporter.Import(bytes, path, constants);
    }

    /// <summary>Imports a model from the bytes of an ONNX file (<paramref name="name"/> appears in error messages).</summary>
    public static Model Load(byte[] bytes, IReadOnlyDictionary<string, Tensor>? constants = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return OnnxImporter.Import(bytes, name, constants);
    }

    /// <summary>Reads a serialized ONNX <c>TensorProto</c> (<c>input_0.pb</c> of a test data set) as a float tensor; <paramref name="name"/> is its name.</summary>
    public static Tensor ReadTensor(string path, out string name) => OnnxTensorReader.ToTensor(OnnxTensorReader.ReadFile(path, out name));

    extension(Model)
    {
        /// <summary>Imports an ONNX model (see <see cref="OnnxImport"/>).</summary>
        public static Model LoadOnnx(string path) => Load(path);

        /// <summary>Imports an ONNX model, binding the named graph inputs as constants (see <see cref="OnnxImport.Load(string, IReadOnlyDictionary{string, Tensor})"/>).</summary>
        public static Model LoadOnnx(string path, IReadOnlyDictionary<string, Tensor> constants) => Load(path, constants);
    }
}
