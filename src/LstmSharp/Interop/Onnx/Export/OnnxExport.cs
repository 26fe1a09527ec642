using System.Reflection;
using Google.Protobuf;
using LstmSharp.Models;

namespace LstmSharp.Interop.Onnx;

/// <summary>
/// Writes a LstmSharp model as an ONNX model that ONNX Runtime (and any ONNX runtime) runs with
/// the same outputs: <c>model.ExportOnnx("model.onnx", new OnnxExportOptions { Opset = 17 })</c>.
/// </summary>
/// <remarks>
/// <para>Graph inputs are the model's inputs, <c>[batch, time, features]</c> float32 with
/// <c>batch</c> and <c>time</c> as named (symbolic) dims; an input read only by an Embedding
/// takes int64 token ids <c>[batch, time]</c>. Weights are initializers named
/// <c>&lt;layer&gt;/&lt;weight&gt;</c>. Each recurrent layer becomes one ONNX <c>LSTM</c>,
/// <c>GRU</c> or <c>RNN</c> node (<c>layout=0</c>) between Transposes; a Bidirectional layer
/// one node with <c>direction=bidirectional</c>. Stateful recurrent layers get their states as
/// extra graph inputs <c>&lt;layer&gt;/state_h</c> (<c>state_c</c>) and return the final states
/// as extra outputs <c>&lt;layer&gt;/state_h_out</c>, so the caller carries them.</para>
/// <para>Masks (Embedding <c>mask_zero</c>, Masking) become <c>sequence_lens</c>, which describe
/// right-padded sequences only: the graph checks this and fails at run time with a Reshape
/// error in a node named <c>…/mask_must_be_right_padded</c> when a row's mask has a 0 before a 1.</para>
/// <para>Not expressible in ONNX's recurrent operators, and refused with a
/// <see cref="NotSupportedException"/> naming the layer: the LSTM variants without an input,
/// forget or output gate (NIG, NFG, NOG, the 1997 cell) and full gate recurrence (FGR).</para>
/// </remarks>
public static class OnnxExport
{
    /// <summary>The lowest opset written: LSTM/GRU/RNN-14, Reshape-14, Add/Mul-14.</summary>
    public const int MinOpset = 14;

    /// <summary>The highest opset written; every operator used means the same from <see cref="MinOpset"/> to here.</summary>
    public const int MaxOpset = 21;

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> as ONNX; the file appears whole or not at all.</summary>
    public static void ExportOnnx(this Model model, string path, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = model.ToOnnxBytes(options);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        if (!Directory.Exists(dir))
        {
            throw new DirectoryNotFoundException($"ONNX export: the folder of '{path}' does not exist ({dir}).");
        }

        // Written beside the target and renamed over it: a reader never sees a half-written file.
        string temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>The ONNX model as bytes (a serialized <c>ModelProto</c>).</summary>
    public static byte[] ToOnnxBytes(this Model model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new OnnxExporter(model, options ?? new OnnxExportOptions()).Export().ToByteArray();
    }

    internal static string ProducerVersion =>
        typeof(OnnxExport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
