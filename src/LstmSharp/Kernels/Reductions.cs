using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LstmSharp.Kernels;

/// <summary>
/// Reductions over spans and along an axis of a row-major buffer: sums and means (per row, per
/// column — the bias gradient is the column sum of a [n, m] gradient — or along any axis of a
/// 2-D/3-D shape), max-abs, L2 norm, and the non-finite check used by the anomaly mode.
/// </summary>
/// <remarks>
/// Sums accumulate in float32 with vector-wide partial sums (pairwise-like), so their error grows
/// far slower than a plain running sum's; summation order differs between hardware paths, so the
/// last bits may differ between machines.
/// </remarks>
internal static class Reductions
{
    /// <summary>Σ x (0 for an empty span).</summary>
    public static float Sum(ReadOnlySpan<float> x) => TensorPrimitives.Sum(x);

    /// <summary>Σ x / n; NaN for an empty span.</summary>
    public static float Mean(ReadOnlySpan<float> x) => x.IsEmpty ? float.NaN : TensorPrimitives.Sum(x) / x.Length;

    /// <summary>y[r] = Σ_c x[r, c] (one value per row), or y[r] += … with <paramref name="accumulate"/>.</summary>
    public static void RowSums(ReadOnlySpan<float> x, int rows, int cols, Span<float> y, bool accumulate = false)
    {
        Rows.CheckMatrix(nameof(RowSums), "x", x.Length, rows, cols);
        CheckOutput(nameof(RowSums), y.Length, rows);
        for (int r = 0; r < rows; r++)
        {
            float s = TensorPrimitives.Sum(x.Slice(r * cols, cols));
            y[r] = accumulate ? y[r] + s : s;
        }
    }

    /// <summary>
    /// y[c] = Σ_r x[r, c] (one value per column: the reduction over rows, e.g. a bias gradient from
    /// a [batch, units] gradient), or y[c] += … with <paramref name="accumulate"/>.
    /// </summary>
    public static void ColumnSums(ReadOnlySpan<float> x, int rows, int cols, Span<float> y, bool accumulate = false)
    {
        Rows.CheckMatrix(nameof(ColumnSums), "x", x.Length, rows, cols);
        CheckOutput(nameof(ColumnSums), y.Length, cols);
        if (!accumulate)
        {
            y.Clear();
        }

        // Row by row keeps the reads contiguous; each row is one vectorised add.
        for (int r = 0; r < rows; r++)
        {
            TensorPrimitives.Add(y, x.Slice(r * cols, cols), y);
        }
    }

    /// <summary>y[r] = mean_c x[r, c].</summary>
    public static void RowMeans(ReadOnlySpan<float> x, int rows, int cols, Span<float> y)
    {
        RowSums(x, rows, cols, y);
        TensorPrimitives.Multiply(y, 1f / cols, y);
    }

    /// <summary>y[c] = mean_r x[r, c].</summary>
    public static void ColumnMeans(ReadOnlySpan<float> x, int rows, int cols, Span<float> y)
    {
        ColumnSums(x, rows, cols, y);
        TensorPrimitives.Multiply(y, 1f / rows, y);
    }

    /// <summary>
    /// Sum along <paramref name="axis"/> of a row-major buffer of any rank (2-D and 3-D are the
    /// common cases): y has <paramref name="shape"/> with that axis removed. Negative axes count from
    /// the end. With <paramref name="accumulate"/>, adds into y instead of overwriting it.
    /// </summary>
    /// <example>x of shape [batch, time, features], axis 1 → y of shape [batch, features].</example>
    public static void SumAxis(ReadOnlySpan<float> x, ReadOnlySpan<int> shape, int axis, Span<float> y, bool accumulate = false)
    {
        var (outer, n, inner) = SplitAt(nameof(SumAxis), x.Length, shape, axis);
        CheckOutput(nameof(SumAxis), y.Length, outer * inner);
        if (inner == 1)
        {
            RowSums(x, outer, n, y, accumulate);
            return;
        }

        for (int o = 0; o < outer; o++)
        {
            ColumnSums(x.Slice(o * n * inner, n * inner), n, inner, y.Slice(o * inner, inner), accumulate);
        }
    }

    /// <summary>Mean along <paramref name="axis"/>; see <see cref="SumAxis"/>.</summary>
    public static void MeanAxis(ReadOnlySpan<float> x, ReadOnlySpan<int> shape, int axis, Span<float> y)
    {
        var (_, n, _) = SplitAt(nameof(MeanAxis), x.Length, shape, axis);
        SumAxis(x, shape, axis, y);
        TensorPrimitives.Multiply(y, 1f / n, y);
    }

    /// <summary>max |x| (0 for an empty span, NaN if x holds a NaN).</summary>
    public static float MaxAbs(ReadOnlySpan<float> x) => x.IsEmpty ? 0f : MathF.Abs(TensorPrimitives.MaxMagnitude(x));

    /// <summary>
    /// ‖x‖₂ = sqrt(Σ x²), without overflow for large finite values (rescaled by max |x| when the
    /// plain sum of squares overflows).
    /// </summary>
    public static float L2Norm(ReadOnlySpan<float> x)
    {
        float norm = TensorPrimitives.Norm(x);
        if (!float.IsPositiveInfinity(norm))
        {
            return norm;
        }

        float m = MaxAbs(x);
        if (!float.IsFinite(m))
        {
            return m;
        }

        // Σ (x/m)² ≤ n, so this never overflows; the product overflows only if the norm itself does.
        double s = 0;
        foreach (float v in x)
        {
            double q = v / (double)m;
            s += q * q;
        }

        return (float)(m * Math.Sqrt(s));
    }

    /// <summary>True when x holds a NaN or an infinity (the anomaly check).</summary>
    public static bool AnyNonFinite(ReadOnlySpan<float> x) => IndexOfNonFinite(x) >= 0;

    /// <summary>Index of the first NaN or ±∞ in x, or -1 when every element is finite.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> x)
    {
        ref float xr = ref MemoryMarshal.GetReference(x);
        int n = x.Length;
        int i = 0;
        int found = -1;
        if (Lanes512.IsAccelerated)
        {
            found = IndexOfNonFinite<Lanes512, Vector512<float>>(ref xr, n, ref i);
        }

        if (found < 0 && Lanes256.IsAccelerated)
        {
            found = IndexOfNonFinite<Lanes256, Vector256<float>>(ref xr, n, ref i);
        }

        return found >= 0 ? found : IndexOfNonFinite<Lanes1, float>(ref xr, n, ref i);
    }

    /// <summary>
    /// The scan at one width, from <paramref name="i"/> while a whole vector fits (i is left where
    /// it stopped): non-finite ⇔ all exponent bits set ⇔ x &amp; ∞ = ∞ (the bits of +∞ are the
    /// exponent mask; nothing compares above ∞).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int IndexOfNonFinite<TL, TV>(ref float x, int n, ref int i)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        var inf = TL.Broadcast(float.PositiveInfinity);
        for (; i <= n - TL.Count; i += TL.Count)
        {
            ulong hits = TL.MaskBits(TL.GreaterThanOrEqual(TL.And(TL.Load(ref x, i), inf), inf));
            if (hits != 0)
            {
                return i + BitOperations.TrailingZeroCount(hits);
            }
        }

        return -1;
    }

    /// <summary>Scalar twin of <see cref="IndexOfNonFinite"/>.</summary>
    internal static int IndexOfNonFiniteScalar(ReadOnlySpan<float> x)
    {
        for (int i = 0; i < x.Length; i++)
        {
            if (!float.IsFinite(x[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Views a shape as [outer, n, inner] around <paramref name="axis"/>.</summary>
    private static (int Outer, int N, int Inner) SplitAt(string op, int length, ReadOnlySpan<int> shape, int axis)
    {
        int rank = shape.Length;
        int a = axis < 0 ? axis + rank : axis;
        if (rank == 0 || a < 0 || a >= rank)
        {
            throw new ArgumentOutOfRangeException(nameof(axis), $"Reductions.{op}: axis {axis} is out of range for shape {Tensors.Tensor.FormatShape(shape)}.");
        }

        long outer = 1, inner = 1;
        for (int d = 0; d < a; d++)
        {
            outer *= shape[d];
        }

        for (int d = a + 1; d < rank; d++)
        {
            inner *= shape[d];
        }

        if (outer * shape[a] * inner != length)
        {
            throw new ArgumentException($"Reductions.{op}: x has {length} elements, shape {Tensors.Tensor.FormatShape(shape)} needs {outer * shape[a] * inner}.", "x");
        }

        return ((int)outer, shape[a], (int)inner);
    }

    private static void CheckOutput(string op, int length, long expected)
    {
        if (length != expected)
        {
            throw new ArgumentException($"Reductions.{op}: y has length {length}, expected {expected}.", "y");
        }
    }
}
