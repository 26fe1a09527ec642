using System.Numerics.Tensors;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

// LstmKernel's projection (LSTMP, Sak et al. 2014; PyTorch proj_size): per step one product
// h_t = m_t·W_p over the rows of a batch chunk after their cells, and in the backward one product
// ∂L/∂m_t = ∂L/∂h_t·W_pᵀ before them. Both run on the chunk's rows (never on the row pieces the
// per-step fork makes), so their shapes and bits depend on the batch size only.
internal sealed partial class LstmKernel
{
    /// <summary>
    /// After the cells of processing step <paramref name="s"/> for rows [b0, b1): h_t = m_t·W_p,
    /// then per row the state, the output (carried or zeroed at masked steps) and the next
    /// step's recurrent input, as <see cref="ForwardRows"/> does without a projection.
    /// </summary>
    private void ProjectRows(in SequenceRun run, in LstmWeights weights, in RnnOutputs outputs, LstmCache? cache, int s, int b0, int b1)
    {
        var layout = Layout;
        int units = layout.Units, p = layout.ProjSize, time = run.Time, rows = b1 - b0;
        int t = run.TimeIndex(s);
        bool training = cache is not null;
        ReadOnlySpan<float> m = training ? cache!.Unprojected : unprojected;
        int mRow = training ? (b0 * time) + t : b0, mLd = training ? time * units : units;
        var ph = projected.AsSpan(b0 * p, rows * p);
        Gemm.Sgemm(false, false, rows, p, units, 1f, m[(mRow * units)..], mLd, weights.Projection, p, 0f, ph, p);
        for (int b = b0; b < b1; b++)
        {
            var yb = yState.AsSpan(b * p, p);
            if (run.IsValid(b, t))
            {
                var hb = hState.AsSpan(b * p, p);
                ph.Slice((b - b0) * p, p).CopyTo(hb);
                hb.CopyTo(yb);
            }
            else if (run.ZeroOutputForMask)
            {
                yb.Clear();
            }

            if (!outputs.Sequence.IsEmpty)
            {
                yb.CopyTo(outputs.Sequence.Slice(((b * time) + s) * p, p));
            }
        }

        if (s + 1 < time)
        {
            PlaceRecurrentInputs(run, cache, run.TimeIndex(s + 1), b0, b1);
        }
    }

    /// <summary>
    /// Before the backward cells of processing step <paramref name="s"/> for rows [b0, b1):
    /// ∂L/∂h_t (from step t+1's recurrent product, the output gradients and what masked later
    /// steps passed back) into the cache's row for dW_p (zero at masked steps), then
    /// ∂L/∂m_t = ∂L/∂h_t·W_pᵀ for the cells.
    /// </summary>
    private void UnprojectGradients(in SequenceRun run, in LstmWeights weights, in RnnOutputGradients dOut, LstmCache cache, int s, int b0, int b1)
    {
        var layout = Layout;
        int units = layout.Units, p = layout.ProjSize, time = run.Time, rows = b1 - b0;
        if (s + 1 < time)
        {
            TakeRecurrentGradients(run, run.TimeIndex(s + 1), b0, b1);
        }

        int t = run.TimeIndex(s);
        var dp = cache.DProjected.AsSpan();
        for (int b = b0; b < b1; b++)
        {
            var carryB = dyCarry.AsSpan(b * p, p);
            if (!dOut.Sequence.IsEmpty) TensorPrimitives.Add(carryB, dOut.Sequence.Slice(((b * time) + s) * p, p), carryB);
            if (s == time - 1 && !dOut.Last.IsEmpty) TensorPrimitives.Add(carryB, dOut.Last.Slice(b * p, p), carryB);
            var dhb = dp.Slice(((b * time) + t) * p, p);
            if (run.IsValid(b, t))
            {
                TensorPrimitives.Add(dhState.AsSpan(b * p, p), carryB, dhb);
                carryB.Clear();
            }
            else
            {
                dhb.Clear();
                if (run.ZeroOutputForMask)
                {
                    carryB.Clear();
                }
            }
        }

        int zRow = (b0 * time) + t;
        Gemm.Sgemm(false, true, rows, units, p, 1f, dp[(zRow * p)..], time * p, weights.Projection, p, 0f, dUnprojected.AsSpan(b0 * units, rows * units), units);
    }
}
