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
/// input (in place). A <see cref="LaneWidth"/> argument of <see cref="LaneWidth.Scalar"/> runs a
/// kernel's scalar twin (tests hold the vector path to it).
/// </remarks>
internal static class Rows
{
    /// <summary>
    /// y[r, :] = softmax(x[r, :]) = exp(x - m) / Σ exp(x - m) with m = max over the row, so no exp
    /// overflows. A row holding NaN or +∞ gives NaN.
    /// </summary>
    public static void Softmax(ReadOnlySpan<float> x, int rows, int cols, Span<float> y, LaneWidth width = LaneWidth.Auto)
        => Map<SoftmaxRow, SoftmaxScalarRow>(nameof(Softmax), x, rows, cols, y, width);

    /// <summary>y[r, :] = log softmax(x[r, :]) = (x - m) - log Σ exp(x - m), m = max over the row.</summary>
    public static void LogSoftmax(ReadOnlySpan<float> x, int rows, int cols, Span<float> y, LaneWidth width = LaneWidth.Auto)
        => Map<LogSoftmaxRow, LogSoftmaxScalarRow>(nameof(LogSoftmax), x, rows, cols, y, width);

    /// <summary>
    /// Backward of softmax from its output: dx = y ⊙ (dy − Σⱼ dyⱼ yⱼ) per row. dx may be dy.
    /// </summary>
    public static void SoftmaxBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, int rows, int cols, Span<float> dx)
        => MapGradient<SoftmaxBackwardRow, SoftmaxBackwardRow>(nameof(SoftmaxBackward), y, dy, rows, cols, dx, LaneWidth.Auto);

    /// <summary>
    /// Backward of log-softmax from its output y: dx = dy − exp(y) · Σⱼ dyⱼ per row. dx may be dy.
    /// </summary>
    public static void LogSoftmaxBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, int rows, int cols, Span<float> dx, LaneWidth width = LaneWidth.Auto)
        => MapGradient<LogSoftmaxBackwardRow, LogSoftmaxBackwardScalarRow>(nameof(LogSoftmaxBackward), y, dy, rows, cols, dx, width);

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

    /// <summary>One row of a row-wise map: y = f(x) (y may be x).</summary>
    private interface IRowMap
    {
        static abstract void Row(ReadOnlySpan<float> x, Span<float> y);
    }

    /// <summary>One row of a row-wise backward pass: dx = f(y, dy) (dx may be dy).</summary>
    private interface IRowGradient
    {
        static abstract void Row(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx);
    }

    /// <summary>Checks x and y as [rows, cols] matrices, then runs <typeparamref name="TOp"/> (or its scalar twin) on each row.</summary>
    private static void Map<TOp, TScalar>(string op, ReadOnlySpan<float> x, int rows, int cols, Span<float> y, LaneWidth width)
        where TOp : struct, IRowMap
        where TScalar : struct, IRowMap
    {
        CheckMatrix(op, "x", x.Length, rows, cols);
        CheckMatrix(op, "y", y.Length, rows, cols);
        if (cols == 0)
        {
            return;
        }

        for (int r = 0; r < rows; r++)
        {
            if (width == LaneWidth.Scalar)
            {
                TScalar.Row(x.Slice(r * cols, cols), y.Slice(r * cols, cols));
            }
            else
            {
                TOp.Row(x.Slice(r * cols, cols), y.Slice(r * cols, cols));
            }
        }
    }

    /// <summary>Checks y, dy and dx as [rows, cols] matrices, then runs <typeparamref name="TOp"/> (or its scalar twin) on each row.</summary>
    private static void MapGradient<TOp, TScalar>(string op, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, int rows, int cols, Span<float> dx, LaneWidth width)
        where TOp : struct, IRowGradient
        where TScalar : struct, IRowGradient
    {
        CheckMatrix(op, "y", y.Length, rows, cols);
        CheckMatrix(op, "dy", dy.Length, rows, cols);
        CheckMatrix(op, "dx", dx.Length, rows, cols);
        for (int r = 0; r < rows; r++)
        {
            if (width == LaneWidth.Scalar)
            {
                TScalar.Row(y.Slice(r * cols, cols), dy.Slice(r * cols, cols), dx.Slice(r * cols, cols));
            }
            else
            {
                TOp.Row(y.Slice(r * cols, cols), dy.Slice(r * cols, cols), dx.Slice(r * cols, cols));
            }
        }
    }

    private readonly struct SoftmaxRow : IRowMap
    {
        public static void Row(ReadOnlySpan<float> x, Span<float> y)
        {
            float sum = ExpShifted(x, TensorPrimitives.Max(x), y);
            TensorPrimitives.Multiply(y, 1f / sum, y);
        }
    }

    private readonly struct LogSoftmaxRow : IRowMap
    {
        public static void Row(ReadOnlySpan<float> x, Span<float> y)
        {
            float m = TensorPrimitives.Max(x);

            // y serves as scratch for the exponentials before it receives the result.
            float logSum = MathF.Log(ExpShifted(x, m, y));
            TensorPrimitives.Subtract(x, m, y);
            TensorPrimitives.Subtract(y, logSum, y);
        }
    }

    private readonly struct SoftmaxBackwardRow : IRowGradient
    {
        public static void Row(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
            => TensorPrimitives.AddMultiply(dy, -TensorPrimitives.Dot(dy, y), y, dx);
    }

    private readonly struct LogSoftmaxBackwardRow : IRowGradient
    {
        public static void Row(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
            => SubtractExpTimes(y, TensorPrimitives.Sum(dy), dy, dx);
    }

    private readonly struct SoftmaxScalarRow : IRowMap
    {
        public static void Row(ReadOnlySpan<float> x, Span<float> y)
        {
            float inv = 1f / ExpShiftedScalar(x, MaxScalar(x), y);
            for (int j = 0; j < y.Length; j++)
            {
                y[j] *= inv;
            }
        }
    }

    private readonly struct LogSoftmaxScalarRow : IRowMap
    {
        public static void Row(ReadOnlySpan<float> x, Span<float> y)
        {
            float m = MaxScalar(x);
            float logSum = MathF.Log(ExpShiftedScalar(x, m, y));
            for (int j = 0; j < y.Length; j++)
            {
                y[j] = (x[j] - m) - logSum;
            }
        }
    }

    private readonly struct LogSoftmaxBackwardScalarRow : IRowGradient
    {
        public static void Row(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
        {
            float s = 0;
            for (int j = 0; j < dy.Length; j++)
            {
                s += dy[j];
            }

            for (int j = 0; j < dx.Length; j++)
            {
                dx[j] = MathF.FusedMultiplyAdd(-VecMath.Exp(y[j]), s, dy[j]);
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
        int n = x.Length;
        int i = 0;
        float sum = 0;
        sum += ExpShifted<Lanes512, Vector512<float>>(ref xr, shift, ref yr, n, ref i);
        sum += ExpShifted<Lanes256, Vector256<float>>(ref xr, shift, ref yr, n, ref i);
        for (; i < n; i++)
        {
            float e = VecMath.Exp(Unsafe.Add(ref xr, i) - shift);
            Unsafe.Add(ref yr, i) = e;
            sum += e;
        }

        return sum;
    }

    /// <summary>
    /// The vectors of <see cref="ExpShifted(ReadOnlySpan{float}, float, Span{float})"/> at one width from
    /// value i on (none when fewer than a vector are left, or the width is not accelerated); returns
    /// their sum, advances i.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ExpShifted<TL, TV>(ref float xr, float shift, ref float yr, int n, ref int i)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        if (!TL.IsAccelerated || n - i < TL.Count)
        {
            return 0;
        }

        TV s = TL.Broadcast(shift);
        TV acc = TL.Zero;
        for (; i + TL.Count <= n; i += TL.Count)
        {
            TV e = VecMath.Exp<TL, TV>(TL.Sub(TL.Load(ref xr, i), s));
            TL.Store(e, ref yr, i);
            acc = TL.Add(acc, e);
        }

        return TL.Sum(acc);
    }

    /// <summary>dx = dy - exp(y)·s.</summary>
    private static void SubtractExpTimes(ReadOnlySpan<float> y, float s, ReadOnlySpan<float> dy, Span<float> dx)
    {
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float dyr = ref MemoryMarshal.GetReference(dy);
        ref float dxr = ref MemoryMarshal.GetReference(dx);
        int n = y.Length;
        int i = 0;
        SubtractExpTimes<Lanes512, Vector512<float>>(ref yr, s, ref dyr, ref dxr, n, ref i);
        SubtractExpTimes<Lanes256, Vector256<float>>(ref yr, s, ref dyr, ref dxr, n, ref i);
        for (; i < n; i++)
        {
            Unsafe.Add(ref dxr, i) = MathF.FusedMultiplyAdd(-VecMath.Exp(Unsafe.Add(ref yr, i)), s, Unsafe.Add(ref dyr, i));
        }
    }

    /// <summary>The vectors of <see cref="SubtractExpTimes(ReadOnlySpan{float}, float, ReadOnlySpan{float}, Span{float})"/> at one width from value i on; advances i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SubtractExpTimes<TL, TV>(ref float yr, float s, ref float dyr, ref float dxr, int n, ref int i)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        if (!TL.IsAccelerated)
        {
            return;
        }

        TV sv = TL.Broadcast(s);
        for (; i + TL.Count <= n; i += TL.Count)
        {
            TL.Store(TL.Fma(TL.Neg(VecMath.Exp<TL, TV>(TL.Load(ref yr, i))), sv, TL.Load(ref dyr, i)), ref dxr, i);
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
