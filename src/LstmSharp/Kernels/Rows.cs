using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LstmSharp.Kernels;

/// <summary>
/// Row-wise kernels on a row-major <c>[rows, cols]</c> buffer: softmax and log-softmax (with
/// their backward passes), argmax, broadcasting a bias row-vector onto every row, and gathering
/// rows of a table.
/// </summary>
/// <remarks>
/// Buffers must hold exactly rows·cols elements (checked). Outputs may be the same span as the
/// input (in place).
/// </remarks>
internal static class Rows
{
    /// <summary>
    /// y[r, :] = softmax(x[r, :]) = exp(x - m) / Σ exp(x - m) with m = max over the row, so no exp
    /// overflows. A row holding NaN or +∞ gives NaN.
    /// </summary>
    public static void Softmax(ReadOnlySpan<float> x, int rows, int cols, Span<float> y)
    {
        CheckMatrix(nameof(Softmax), "x", x.Length, rows, cols);
        CheckMatrix(nameof(Softmax), "y", y.Length, rows, cols);
        if (cols == 0)
        {
            return;
        }

        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * cols, cols);
            var yr = y.Slice(r * cols, cols);
            float sum = ExpShifted(xr, TensorPrimitives.Max(xr), yr);
            TensorPrimitives.Multiply(yr, 1f / sum, yr);
        }
    }

    /// <summary>y[r, :] = log softmax(x[r, :]) = (x - m) - log Σ exp(x - m), m = max over the row.</summary>
    public static void LogSoftmax(ReadOnlySpan<float> x, int rows, int cols, Span<float> y)
    {
        CheckMatrix(nameof(LogSoftmax), "x", x.Length, rows, cols);
        CheckMatrix(nameof(LogSoftmax), "y", y.Length, rows, cols);
        if (cols == 0)
        {
            return;
        }

        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * cols, cols);
            var yr = y.Slice(r * cols, cols);
            float m = TensorPrimitives.Max(xr);

            // y serves as scratch for the exponentials before it receives the result.
            float logSum = MathF.Log(ExpShifted(xr, m, yr));
            TensorPrimitives.Subtract(xr, m, yr);
            TensorPrimitives.Subtract(yr, logSum, yr);
        }
    }

    /// <summary>
    /// Backward of softmax from its output: dx = y ⊙ (dy − Σⱼ dyⱼ yⱼ) per row. dx may be dy.
    /// </summary>
    public static void SoftmaxBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, int rows, int cols, Span<float> dx)
    {
        CheckMatrix(nameof(SoftmaxBackward), "y", y.Length, rows, cols);
        CheckMatrix(nameof(SoftmaxBackward), "dy", dy.Length, rows, cols);
        CheckMatrix(nameof(SoftmaxBackward), "dx", dx.Length, rows, cols);
        for (int r = 0; r < rows; r++)
        {
            var yr = y.Slice(r * cols, cols);
            var dyr = dy.Slice(r * cols, cols);
            float dot = TensorPrimitives.Dot(dyr, yr);
            TensorPrimitives.AddMultiply(dyr, -dot, yr, dx.Slice(r * cols, cols));
        }
    }

    /// <summary>
    /// Backward of log-softmax from its output y: dx = dy − exp(y) · Σⱼ dyⱼ per row. dx may be dy.
    /// </summary>
    public static void LogSoftmaxBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, int rows, int cols, Span<float> dx)
    {
        CheckMatrix(nameof(LogSoftmaxBackward), "y", y.Length, rows, cols);
        CheckMatrix(nameof(LogSoftmaxBackward), "dy", dy.Length, rows, cols);
        CheckMatrix(nameof(LogSoftmaxBackward), "dx", dx.Length, rows, cols);
        for (int r = 0; r < rows; r++)
        {
            var yr = y.Slice(r * cols, cols);
            var dyr = dy.Slice(r * cols, cols);
            SubtractExpTimes(yr, TensorPrimitives.Sum(dyr), dyr, dx.Slice(r * cols, cols));
        }
    }

    /// <summary>
    /// index[r] = the column of the largest x[r, :] (the first one on ties; the first NaN if the row
    /// has one; -1 for an empty row).
    /// </summary>
    public static void ArgMax(ReadOnlySpan<float> x, int rows, int cols, Span<int> index)
    {
        CheckMatrix(nameof(ArgMax), "x", x.Length, rows, cols);
        if (index.Length != rows)
        {
            throw new ArgumentException($"Rows.ArgMax: index has length {index.Length}, expected {rows} (one per row).", nameof(index));
        }

        for (int r = 0; r < rows; r++)
        {
            index[r] = TensorPrimitives.IndexOfMax(x.Slice(r * cols, cols));
        }
    }

    /// <summary>y[r, :] = x[r, :] + v for every row (bias broadcast). y may be x.</summary>
    public static void AddRowVector(ReadOnlySpan<float> x, int rows, int cols, ReadOnlySpan<float> v, Span<float> y)
    {
        CheckMatrix(nameof(AddRowVector), "x", x.Length, rows, cols);
        CheckMatrix(nameof(AddRowVector), "y", y.Length, rows, cols);
        if (v.Length != cols)
        {
            throw new ArgumentException($"Rows.AddRowVector: row vector has length {v.Length}, expected {cols} (the number of columns).", nameof(v));
        }

        for (int r = 0; r < rows; r++)
        {
            TensorPrimitives.Add(x.Slice(r * cols, cols), v, y.Slice(r * cols, cols));
        }
    }

    /// <summary>In place: x[r, :] += v for every row.</summary>
    public static void AddRowVector(Span<float> x, int rows, int cols, ReadOnlySpan<float> v) => AddRowVector(x, rows, cols, v, x);

    /// <summary>
    /// y[r, :] = table[index[r], :] for every r (an embedding lookup); y is [index.Length, cols].
    /// Large gathers are split over the worker pool by blocks of rows (pure copies: the same bits
    /// for any thread count). An index outside the table throws.
    /// </summary>
    public static void Gather(ReadOnlySpan<int> index, ReadOnlySpan<float> table, int cols, Span<float> y)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        CheckMatrix(nameof(Gather), "y", y.Length, index.Length, cols);
        if (index.IsEmpty || cols == 0)
        {
            return;
        }

        if (table.Length % cols != 0)
        {
            throw new ArgumentException($"Rows.Gather: table has {table.Length} elements, not a whole number of rows of {cols}.", nameof(table));
        }

        long floats = (long)index.Length * cols;
        int blocks = (int)Math.Clamp(floats / GatherParallelMinFloats, 1, (index.Length + GatherBlockRows - 1) / GatherBlockRows);
        WorkerPool.Shared.For(blocks, new GatherJob(index, table, cols, y, (index.Length + blocks - 1) / blocks));
    }

    /// <summary>Scalar twin of <see cref="Softmax"/>.</summary>
    internal static void SoftmaxScalar(ReadOnlySpan<float> x, int rows, int cols, Span<float> y)
    {
        CheckMatrix(nameof(SoftmaxScalar), "x", x.Length, rows, cols);
        CheckMatrix(nameof(SoftmaxScalar), "y", y.Length, rows, cols);
        if (cols == 0)
        {
            return;
        }

        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * cols, cols);
            var yr = y.Slice(r * cols, cols);
            float sum = ExpShiftedScalar(xr, MaxScalar(xr), yr);
            float inv = 1f / sum;
            for (int j = 0; j < cols; j++)
            {
                yr[j] *= inv;
            }
        }
    }

    /// <summary>Scalar twin of <see cref="LogSoftmax"/>.</summary>
    internal static void LogSoftmaxScalar(ReadOnlySpan<float> x, int rows, int cols, Span<float> y)
    {
        CheckMatrix(nameof(LogSoftmaxScalar), "x", x.Length, rows, cols);
        CheckMatrix(nameof(LogSoftmaxScalar), "y", y.Length, rows, cols);
        if (cols == 0)
        {
            return;
        }

        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * cols, cols);
            var yr = y.Slice(r * cols, cols);
            float m = MaxScalar(xr);
            float logSum = MathF.Log(ExpShiftedScalar(xr, m, yr));
            for (int j = 0; j < cols; j++)
            {
                yr[j] = (xr[j] - m) - logSum;
            }
        }
    }

    /// <summary>Scalar twin of <see cref="LogSoftmaxBackward"/>.</summary>
    internal static void LogSoftmaxBackwardScalar(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, int rows, int cols, Span<float> dx)
    {
        for (int r = 0; r < rows; r++)
        {
            float s = 0;
            for (int j = 0; j < cols; j++)
            {
                s += dy[(r * cols) + j];
            }

            for (int j = 0; j < cols; j++)
            {
                int i = (r * cols) + j;
                dx[i] = MathF.FusedMultiplyAdd(-VecMath.Exp(y[i]), s, dy[i]);
            }
        }
    }

    internal static void CheckMatrix(string op, string argument, int length, int rows, int cols)
    {
        if (rows < 0 || cols < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), $"Rows.{op}: shape [{rows}, {cols}] has a negative dimension.");
        }

        if ((long)rows * cols != length)
        {
            throw new ArgumentException($"Rows.{op}: {argument} has {length} elements, expected [{rows}, {cols}] = {(long)rows * cols}.", argument);
        }
    }

    /// <summary>y = exp(x - shift); returns Σ y.</summary>
    private static float ExpShifted(ReadOnlySpan<float> x, float shift, Span<float> y)
    {
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        nuint n = (nuint)x.Length;
        nuint i = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= (nuint)Vector512<float>.Count)
        {
            var s = Vector512.Create(shift);
            var acc = Vector512<float>.Zero;
            for (; i + (nuint)Vector512<float>.Count <= n; i += (nuint)Vector512<float>.Count)
            {
                var e = VecMath.Exp<Lanes512, Vector512<float>>(Vector512.LoadUnsafe(ref xr, i) - s);
                e.StoreUnsafe(ref yr, i);
                acc += e;
            }

            sum += Vector512.Sum(acc);
        }

        if (Vector256.IsHardwareAccelerated && n - i >= (nuint)Vector256<float>.Count)
        {
            var s = Vector256.Create(shift);
            var acc = Vector256<float>.Zero;
            for (; i + (nuint)Vector256<float>.Count <= n; i += (nuint)Vector256<float>.Count)
            {
                var e = VecMath.Exp<Lanes256, Vector256<float>>(Vector256.LoadUnsafe(ref xr, i) - s);
                e.StoreUnsafe(ref yr, i);
                acc += e;
            }

            sum += Vector256.Sum(acc);
        }

        for (; i < n; i++)
        {
            float e = VecMath.Exp(Unsafe.Add(ref xr, i) - shift);
            Unsafe.Add(ref yr, i) = e;
            sum += e;
        }

        return sum;
    }

    /// <summary>dx = dy - exp(y)·s.</summary>
    private static void SubtractExpTimes(ReadOnlySpan<float> y, float s, ReadOnlySpan<float> dy, Span<float> dx)
    {
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float dyr = ref MemoryMarshal.GetReference(dy);
        ref float dxr = ref MemoryMarshal.GetReference(dx);
        nuint n = (nuint)y.Length;
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var sv = Vector512.Create(s);
            for (; i + (nuint)Vector512<float>.Count <= n; i += (nuint)Vector512<float>.Count)
            {
                Vector512.FusedMultiplyAdd(-VecMath.Exp<Lanes512, Vector512<float>>(Vector512.LoadUnsafe(ref yr, i)), sv, Vector512.LoadUnsafe(ref dyr, i)).StoreUnsafe(ref dxr, i);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            var sv = Vector256.Create(s);
            for (; i + (nuint)Vector256<float>.Count <= n; i += (nuint)Vector256<float>.Count)
            {
                Vector256.FusedMultiplyAdd(-VecMath.Exp<Lanes256, Vector256<float>>(Vector256.LoadUnsafe(ref yr, i)), sv, Vector256.LoadUnsafe(ref dyr, i)).StoreUnsafe(ref dxr, i);
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref dxr, i) = MathF.FusedMultiplyAdd(-VecMath.Exp(Unsafe.Add(ref yr, i)), s, Unsafe.Add(ref dyr, i));
        }
    }

    private static float ExpShiftedScalar(ReadOnlySpan<float> x, float shift, Span<float> y)
    {
        float sum = 0;
        for (int j = 0; j < x.Length; j++)
        {
            y[j] = VecMath.Exp(x[j] - shift);
            sum += y[j];
        }

        return sum;
    }

    private static float MaxScalar(ReadOnlySpan<float> x)
    {
        float m = float.NegativeInfinity;
        foreach (float v in x)
        {
            if (float.IsNaN(v))
            {
                return v;
            }

            m = Math.Max(m, v);
        }

        return m;
    }

    /// <summary>Fewest rows a gather block copies.</summary>
    private const int GatherBlockRows = 1024;

    /// <summary>Floats a gather block copies at least before it is worth another thread.</summary>
    private const int GatherParallelMinFloats = 32768;

    /// <summary>Index i copies rows [i·block, (i+1)·block) of y.</summary>
    private readonly ref struct GatherJob(ReadOnlySpan<int> index, ReadOnlySpan<float> table, int cols, Span<float> y, int block) : IParallelJob
    {
        private readonly ReadOnlySpan<int> index = index;
        private readonly ReadOnlySpan<float> table = table;
        private readonly Span<float> y = y;

        public void Execute(int i)
        {
            int r0 = i * block, r1 = Math.Min(index.Length, r0 + block);
            ref float yr = ref MemoryMarshal.GetReference(y);
            for (int r = r0; r < r1; r++)
            {
                var row = table.Slice(index[r] * cols, cols);
                CopyRow(ref Unsafe.Add(ref yr, r * cols), ref MemoryMarshal.GetReference(row), cols);
            }
        }
    }

    /// <summary>dst[0..n) = src[0..n): widest vectors first, scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow(ref float dst, ref float src, int n)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j <= n - 16; j += 16)
            {
                Vector512.LoadUnsafe(ref src, (nuint)j).StoreUnsafe(ref dst, (nuint)j);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= n - 8; j += 8)
            {
                Vector256.LoadUnsafe(ref src, (nuint)j).StoreUnsafe(ref dst, (nuint)j);
            }
        }

        for (; j < n; j++)
        {
            Unsafe.Add(ref dst, j) = Unsafe.Add(ref src, j);
        }
    }
}
