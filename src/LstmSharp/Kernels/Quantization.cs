namespace LstmSharp.Kernels;

/// <summary>How <c>Model.Quantize</c> stores the weight matrices of the layers it converts.</summary>
public enum QuantizationMode
{
    /// <summary>
    /// Symmetric int8 per output channel (PyTorch <c>quantize_dynamic</c> with <c>qint8</c>
    /// weights): column j of a weight matrix W is stored as q = round(W / s_j) in [−127, 127]
    /// with s_j = max |W_·j| / 127. Activations and accumulation stay float32.
    /// </summary>
    Int8,

    /// <summary>Weights rounded to bfloat16 (nearest even); activations and accumulation stay float32.</summary>
    BFloat16,
}

/// <summary>What <c>Model.Quantize</c> converts (Keras/PyTorch users: the analogue of <c>torch.quantization.quantize_dynamic</c>).</summary>
public sealed record QuantizationOptions
{
    /// <summary>The weight format (default <see cref="QuantizationMode.Int8"/>).</summary>
    public QuantizationMode Mode { get; init; } = QuantizationMode.Int8;
}

/// <summary>Spellings of <see cref="QuantizationMode"/> in model files and on the command line.</summary>
public static class QuantizationModes
{
    /// <summary><c>int8</c> or <c>bf16</c>.</summary>
    public static string ToName(this QuantizationMode mode) => mode switch
    {
        QuantizationMode.Int8 => "int8",
        QuantizationMode.BFloat16 => "bf16",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "QuantizationMode: unknown mode."),
    };

    /// <summary>Parses <c>int8</c> or <c>bf16</c> (also <c>bfloat16</c>), case-insensitively.</summary>
    public static QuantizationMode Parse(string name, string what = "quantization mode") => name?.ToLowerInvariant() switch
    {
        "int8" or "qint8" => QuantizationMode.Int8,
        "bf16" or "bfloat16" => QuantizationMode.BFloat16,
        _ => throw new ArgumentException($"{what}: expected 'int8' or 'bf16', got '{name}'."),
    };
}
