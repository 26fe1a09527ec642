using System.Runtime.InteropServices;

namespace LstmSharp.Kernels;

/// <summary>
/// A weight matrix W [rows, columns] (row-major, as the layers keep <c>kernel</c> and
/// <c>recurrent_kernel</c>: columns are the output channels) stored in reduced precision for
/// inference (<see cref="QuantizationMode"/>). Products with it: <see cref="QuantizedGemm"/>.
/// </summary>
/// <remarks>
/// <para>Int8, per output channel, symmetric (PyTorch's <c>quantize_dynamic</c> weights):
/// s_j = max_k |W_kj| / 127 (float32), q_kj = round_half_even(W_kj / s_j) (the float32 quotient)
/// clamped to [−127, 127]; an all-zero column gets s_j = 0 and q = 0. The value the products
/// use is q_kj · s_j, applied as s_j · Σ_k a_k q_kj.</para>
/// <para>BFloat16: the upper half of the float32, rounded to nearest even (NaN kept a NaN);
/// widened back exactly by a 16-bit shift.</para>
/// </remarks>
internal sealed class QuantizedMatrix
{
    private QuantizedMatrix(QuantizationMode mode, int rows, int columns)
    {
        if (rows <= 0 || columns <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), $"QuantizedMatrix: rows and columns must be positive, got {rows} × {columns}.");
        }

        Mode = mode;
        Rows = rows;
        Columns = columns;
        int count = checked(rows * columns);
        Data = new byte[mode == QuantizationMode.Int8 ? count : checked(count * 2)];
        Scales = mode == QuantizationMode.Int8 ? new float[columns] : [];
    }

    public QuantizationMode Mode { get; }

    /// <summary>K, the length of the dot products (the input size).</summary>
    public int Rows { get; }

    /// <summary>N, the output channels.</summary>
    public int Columns { get; }

    /// <summary>The elements row-major: sbyte for int8, little-endian ushort bfloat16 bits for bf16.</summary>
    internal byte[] Data { get; }

    /// <summary>s [columns] for int8 (empty for bf16).</summary>
    internal float[] Scales { get; }

    /// <summary>The int8 elements (int8 mode only).</summary>
    public Span<sbyte> Int8 => Mode == QuantizationMode.Int8 ? MemoryMarshal.Cast<byte, sbyte>(Data.AsSpan()) : throw new InvalidOperationException("QuantizedMatrix: not an int8 matrix.");

    /// <summary>The bfloat16 bit patterns (bf16 mode only).</summary>
    public Span<ushort> BFloat16 => Mode == QuantizationMode.BFloat16 ? MemoryMarshal.Cast<byte, ushort>(Data.AsSpan()) : throw new InvalidOperationException("QuantizedMatrix: not a bfloat16 matrix.");

    /// <summary>An empty matrix of the given shape, to be filled (e.g. from a model file).</summary>
    public static QuantizedMatrix Create(QuantizationMode mode, int rows, int columns) => new(mode, rows, columns);

    /// <summary>Quantizes <paramref name="w"/> [rows, columns]; <paramref name="what"/> names the weight in errors (NaN/±Inf are refused).</summary>
    public static QuantizedMatrix Quantize(ReadOnlySpan<float> w, int rows, int columns, QuantizationMode mode, string what)
    {
        if (w.Length != (long)rows * columns)
        {
            throw new ArgumentException($"{what}: expected {rows} × {columns} values, got {w.Length}.");
        }

        for (int i = 0; i < w.Length; i++)
        {
            if (!float.IsFinite(w[i]))
            {
                throw new ArgumentException($"{what}: value [{i}] is {w[i]}; NaN or infinite weights cannot be quantized.");
            }
        }

        var q = new QuantizedMatrix(mode, rows, columns);
        if (mode == QuantizationMode.BFloat16)
        {
            var bits = q.BFloat16;
            for (int i = 0; i < w.Length; i++)
            {
                bits[i] = ToBFloat16(w[i]);
            }

            return q;
        }

        var values = q.Int8;
        for (int j = 0; j < columns; j++)
        {
            float amax = 0f;
            for (int k = 0; k < rows; k++)
            {
                amax = MathF.Max(amax, MathF.Abs(w[(k * columns) + j]));
            }

            float s = amax / 127f;
            q.Scales[j] = s;
            for (int k = 0; k < rows; k++)
            {
                values[(k * columns) + j] = s == 0f ? (sbyte)0 : QuantizeInt8(w[(k * columns) + j], s);
            }
        }

        return q;
    }

    /// <summary>round_half_even(w / s) clamped to [−127, 127] (the quotient in float32, as the model file's readers recompute it).</summary>
    public static sbyte QuantizeInt8(float w, float s) => (sbyte)Math.Clamp(MathF.Round(w / s, MidpointRounding.ToEven), -127f, 127f);

    /// <summary>float32 → bfloat16 bits, round to nearest even; a NaN stays a (quiet) NaN.</summary>
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x0040);
        }

        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    /// <summary>bfloat16 bits → float32 (exact).</summary>
    public static float FromBFloat16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>The float32 values the products stand for (q·s rounded to float32 for int8, exact for bf16).</summary>
    public void Dequantize(Span<float> destination)
    {
        if (destination.Length != Rows * Columns)
        {
            throw new ArgumentException($"QuantizedMatrix: destination holds {destination.Length} values, expected {Rows * Columns}.", nameof(destination));
        }

        if (Mode == QuantizationMode.BFloat16)
        {
            var bits = BFloat16;
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = FromBFloat16(bits[i]);
            }

            return;
        }

        var values = Int8;
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = values[i] * Scales[i % Columns];
        }
    }

    /// <summary>Checks values read from a file: int8 scales finite and ≥ 0, no −128 (outside the symmetric range); bf16 finite.</summary>
    public string? Problem()
    {
        if (Mode == QuantizationMode.Int8)
        {
            for (int j = 0; j < Scales.Length; j++)
            {
                if (!float.IsFinite(Scales[j]) || Scales[j] < 0f)
                {
                    return $"scale [{j}] is {Scales[j]}, expected a finite value >= 0";
                }
            }

            var values = Int8;
            int at = values.IndexOf(sbyte.MinValue);
            return at >= 0 ? $"value [{at}] is -128, outside the symmetric range [-127, 127]" : null;
        }

        var bits = BFloat16;
        for (int i = 0; i < bits.Length; i++)
        {
            if (!float.IsFinite(FromBFloat16(bits[i])))
            {
                return $"value [{i}] is {FromBFloat16(bits[i])} (NaN or infinite)";
            }
        }

        return null;
    }
}
