namespace LstmSharp.Interop.Onnx;

/// <summary>Options of <see cref="OnnxExport.ExportOnnx(Models.Model, string, OnnxExportOptions?)"/>.</summary>
public sealed class OnnxExportOptions
{
    /// <summary>
    /// The ONNX operator-set version written in the model's <c>opset_import</c>, from
    /// <see cref="OnnxExport.MinOpset"/> to <see cref="OnnxExport.MaxOpset"/> (default 17).
    /// The graph uses only operators whose meaning is the same over that whole range.
    /// </summary>
    public int Opset { get; init; } = 17;

    /// <summary>The graph's name (default: the model's name).</summary>
    public string? GraphName { get; init; }
}
