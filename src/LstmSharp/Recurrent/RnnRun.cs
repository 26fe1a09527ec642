using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// What a cell's row kernel (<see cref="GruCell"/>, <see cref="SimpleRnnCell"/>, <see cref="LayerNormLstmCell"/>)
/// needs besides its buffers: the row length, the two activations and the SIMD width.
/// </summary>
internal readonly record struct CellRow(int Units, ActivationKind Activation, ActivationKind RecurrentActivation, LaneWidth Width);

/// <summary>
/// The helpers of the shared driver (<see cref="SequenceKernel{TWeights, TGradients}"/>) and its
/// cells: the time-major copy of the (dropped-out) input, the per-step keep/output masks,
/// scattering dx back to batch-major order, the output-gradient carry and column sums for the
/// bias gradients.
/// </summary>
internal static class RnnRun
{
    /// <summary>Grows <paramref name="buffer"/> to at least <paramref name="length"/> (contents not kept).</summary>
    public static void Ensure(ref float[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new float[length];
        }
    }

    public static void CheckLength(string op, string argument, ReadOnlySpan<float> span, int expected, string shape, bool optional)
    {
        if (optional && span.IsEmpty)
        {
            return;
        }

        if (span.Length != expected)
        {
            throw new ArgumentException($"{op}: expected {argument} {shape} ({expected} values){(optional ? " or empty" : string.Empty)}, got {span.Length} values.", argument);
        }
    }

    public static string Shape(params int[] dims) => LstmSharp.Tensors.Tensor.FormatShape(dims);

    /// <summary>Maps processing step s to true time t (go_backwards walks t = T-1 .. 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TimeOf(int s, int time, bool goBackwards) => goBackwards ? time - 1 - s : s;

    /// <summary>
    /// keep[s, b] = 1 where step s updates the state (mask[b, t(s)] ≠ 0), and
    /// emit[s, b] = 1 where output s equals h_s: kept steps, and (Keras: a masked step repeats the
    /// previous output) masked steps after the first kept one, unless zero_output_for_mask.
    /// Before a row's first kept step the output is zero even when h0 is not. Both [time, batch].
    /// </summary>
    public static void BuildStepMasks(ReadOnlySpan<float> mask, int batch, int time, bool goBackwards, bool zeroOutputForMask, Span<float> keep, Span<float> emit)
    {
        if (mask.IsEmpty)
        {
            keep[..(batch * time)].Fill(1f);
            emit[..(batch * time)].Fill(1f);
            return;
        }

        for (int b = 0; b < batch; b++)
        {
            bool seen = false;
            for (int s = 0; s < time; s++)
            {
                bool k = mask[(b * time) + TimeOf(s, time, goBackwards)] != 0f;
                seen |= k;
                keep[(s * batch) + b] = k ? 1f : 0f;
                emit[(s * batch) + b] = k || (seen && !zeroOutputForMask) ? 1f : 0f;
            }
        }
    }

    /// <summary>xm[s, b, :] = x[b, t(s), :] ∘ m_x[b, :]: time-major, in processing order.</summary>
    public static void GatherInput(ReadOnlySpan<float> x, ReadOnlySpan<float> inputDropMask, int batch, int time, int input, bool goBackwards, Span<float> xm) =>
        Reorder(x, inputDropMask, batch, time, input, goBackwards, xm, toTimeMajor: true);

    /// <summary>dx[b, t(s), :] = dxm[s, b, :] ∘ m_x[b, :] (the inverse of <see cref="GatherInput"/>).</summary>
    public static void ScatterInputGrad(ReadOnlySpan<float> dxm, ReadOnlySpan<float> inputDropMask, int batch, int time, int input, bool goBackwards, Span<float> dx) =>
        Reorder(dxm, inputDropMask, batch, time, input, goBackwards, dx, toTimeMajor: false);

    /// <summary>Copies rows between [batch, time, ·] (x's order) and [step, batch, ·] (processing order), times m_x[b, :] when given.</summary>
    private static void Reorder(ReadOnlySpan<float> src, ReadOnlySpan<float> inputDropMask, int batch, int time, int input, bool goBackwards, Span<float> dst, bool toTimeMajor)
    {
        for (int s = 0; s < time; s++)
        {
            int t = TimeOf(s, time, goBackwards);
            for (int b = 0; b < batch; b++)
            {
                int batchMajor = ((b * time) + t) * input, timeMajor = ((s * batch) + b) * input;
                var from = src.Slice(toTimeMajor ? batchMajor : timeMajor, input);
                var to = dst.Slice(toTimeMajor ? timeMajor : batchMajor, input);
                if (inputDropMask.IsEmpty)
                {
                    from.CopyTo(to);
                }
                else
                {
                    TensorPrimitives.Multiply(from, inputDropMask.Slice(b * input, input), to);
                }
            }
        }
    }

    /// <summary>dst [cols, rows] = srcᵀ for src [rows, cols].</summary>
    public static void Transpose(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = src.Slice(r * cols, cols);
            for (int c = 0; c < cols; c++)
            {
                dst[(c * rows) + r] = row[c];
            }
        }
    }

    /// <summary>acc[j] += Σ_rows m[row, offset + j] for j &lt; acc.Length, rows of stride <paramref name="ld"/>.</summary>
    public static void AddColumnSums(ReadOnlySpan<float> m, int rows, int ld, int offset, Span<float> acc)
    {
        for (int r = 0; r < rows; r++)
        {
            TensorPrimitives.Add(acc, m.Slice((r * ld) + offset, acc.Length), acc);
        }
    }

    /// <summary>h ∘ m row by row: dst[b, :] = h[b, :] ∘ m[b, :] over [batch, units].</summary>
    public static void MultiplyRows(ReadOnlySpan<float> h, ReadOnlySpan<float> m, Span<float> dst, int count) =>
        TensorPrimitives.Multiply(h[..count], m[..count], dst[..count]);

    /// <summary>sequence[b, s, :] = emit[b] ? h[b, :] : 0 for rows [b0, b1).</summary>
    public static void WriteOutput(ReadOnlySpan<float> h, ReadOnlySpan<float> emitS, Span<float> sequence, int b0, int b1, int time, int units, int s)
    {
        for (int b = b0; b < b1; b++)
        {
            var dst = sequence.Slice(((b * time) + s) * units, units);
            if (emitS[b] != 0f)
            {
                h.Slice(b * units, units).CopyTo(dst);
            }
            else
            {
                dst.Clear();
            }
        }
    }

    /// <summary>Final state h_T and the last output (h_T where the last step emits, else 0); each optional.</summary>
    public static void WriteFinal(ReadOnlySpan<float> hT, ReadOnlySpan<float> emitLast, Span<float> last, Span<float> h, int batch, int units)
    {
        if (!h.IsEmpty)
        {
            hT.CopyTo(h);
        }

        if (!last.IsEmpty)
        {
            for (int b = 0; b < batch; b++)
            {
                var dst = last.Slice(b * units, units);
                if (emitLast[b] != 0f)
                {
                    hT.Slice(b * units, units).CopyTo(dst);
                }
                else
                {
                    dst.Clear();
                }
            }
        }
    }

    /// <summary>carry = dh_T = d(final h) + emit_{T-1} ⊙ d(last output) (either may be empty = 0).</summary>
    public static void StartCarry(ReadOnlySpan<float> dH, ReadOnlySpan<float> dLast, ReadOnlySpan<float> emitLast, Span<float> carry, int batch, int units)
    {
        if (dH.IsEmpty)
        {
            carry.Clear();
        }
        else
        {
            dH.CopyTo(carry);
        }

        if (!dLast.IsEmpty)
        {
            for (int b = 0; b < batch; b++)
            {
                if (emitLast[b] != 0f)
                {
                    var cb = carry.Slice(b * units, units);
                    TensorPrimitives.Add(cb, dLast.Slice(b * units, units), cb);
                }
            }
        }
    }

    /// <summary>dh_0 = carry + dhd ⊙ m_h (m_h empty = 1): what the first step leaves for h_0.</summary>
    public static void FinishCarry(ReadOnlySpan<float> carry, ReadOnlySpan<float> dhd, ReadOnlySpan<float> mh, Span<float> dh0)
    {
        if (mh.IsEmpty)
        {
            TensorPrimitives.Add(dhd, carry, dh0);
        }
        else
        {
            TensorPrimitives.FusedMultiplyAdd(dhd, mh, carry, dh0);
        }
    }

    /// <summary>dh_t = carry + dhd ⊙ m_h + dy at columns [j, j + width): the gradient every backward row of the shared driver starts from.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV TotalDh<TL, TV>(int j, ref float carry, ref float dhd, ref float mhr, ref float dy)
        where TL : struct, ILanes<TV>
        where TV : struct =>
        TL.Add(TL.Fma(TL.Load(ref Unsafe.Add(ref dhd, j)), TL.Load(ref Unsafe.Add(ref mhr, j)), TL.Load(ref Unsafe.Add(ref carry, j))), TL.Load(ref Unsafe.Add(ref dy, j)));

    /// <summary>A masked row: the states were copied, so all of dh = carry + dhd ⊙ m_h + dy flows to h_{t−1} (carry ← dh).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CarryMasked(in CellRow row, ref float carry, ref float dhd, ref float mhr, ref float dy)
    {
        int j = row.Width switch
        {
            LaneWidth.Vector512 => TotalDhCols<Lanes256, Vector256<float>>(row, TotalDhCols<Lanes512, Vector512<float>>(row, 0, ref carry, ref dhd, ref mhr, ref dy, ref carry), ref carry, ref dhd, ref mhr, ref dy, ref carry),
            LaneWidth.Vector256 => TotalDhCols<Lanes256, Vector256<float>>(row, 0, ref carry, ref dhd, ref mhr, ref dy, ref carry),
            _ => 0,
        };
        TotalDhCols<Lanes1, float>(row, j, ref carry, ref dhd, ref mhr, ref dy, ref carry);
    }

    /// <summary>A kept row of a cell with no direct path from h_t to h_{t−1} (LSTM-like): dh = carry + dhd ⊙ m_h + dy, then carry ← 0.</summary>
    public static void TakeDh(in CellRow row, ref float carry, ref float dhd, ref float mhr, ref float dy, ref float dh)
    {
        int j = row.Width switch
        {
            LaneWidth.Vector512 => TotalDhCols<Lanes256, Vector256<float>>(row, TotalDhCols<Lanes512, Vector512<float>>(row, 0, ref carry, ref dhd, ref mhr, ref dy, ref dh), ref carry, ref dhd, ref mhr, ref dy, ref dh),
            LaneWidth.Vector256 => TotalDhCols<Lanes256, Vector256<float>>(row, 0, ref carry, ref dhd, ref mhr, ref dy, ref dh),
            _ => 0,
        };
        TotalDhCols<Lanes1, float>(row, j, ref carry, ref dhd, ref mhr, ref dy, ref dh);
        MemoryMarshal.CreateSpan(ref carry, row.Units).Clear();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int TotalDhCols<TL, TV>(in CellRow row, int j, ref float carry, ref float dhd, ref float mhr, ref float dy, ref float dst)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        int u = row.Units;
        for (; j <= u - TL.Count; j += TL.Count)
        {
            TL.Store(TotalDh<TL, TV>(j, ref carry, ref dhd, ref mhr, ref dy), ref Unsafe.Add(ref dst, j));
        }

        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref float At(Span<float> s, int i) => ref Unsafe.Add(ref MemoryMarshal.GetReference(s), i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref float At(ReadOnlySpan<float> s, int i) => ref Unsafe.Add(ref MemoryMarshal.GetReference(s), i);
}

/// <summary>What a cache remembers of the forward's run, to refuse a backward with another one.</summary>
internal readonly record struct RnnRunSignature(object Layout, int Batch, int Time, bool GoBackwards, bool HasMask, bool HasInputDropout, bool HasRecurrentDropout, bool ZeroOutputForMask, bool HasTokens)
{
    public static RnnRunSignature Of(object layout, in SequenceRun run) =>
        new(layout, run.Batch, run.Time, run.GoBackwards, run.HasMask, !run.InputDropoutMask.IsEmpty, !run.RecurrentDropoutMask.IsEmpty, run.ZeroOutputForMask, run.HasTokens);

    public void CheckMatches(string owner, bool isReady, object layout, in SequenceRun run)
    {
        if (!isReady)
        {
            throw new InvalidOperationException($"{owner}: backward needs a training-mode forward first (the cache is empty or was already consumed by a backward).");
        }

        if (this != Of(layout, run))
        {
            throw new ArgumentException($"{owner}: backward run does not match the cached forward (cached batch={Batch}, time={Time}, go_backwards={GoBackwards}, mask={HasMask}, tokens={HasTokens}; got batch={run.Batch}, time={run.Time}, go_backwards={run.GoBackwards}, mask={run.HasMask}, tokens={run.HasTokens}).");
        }
    }
}
