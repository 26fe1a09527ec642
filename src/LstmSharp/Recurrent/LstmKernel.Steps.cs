using System.Numerics.Tensors;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

// The LSTM's steps on the driver: per step the recurrent product(s) of a chunk's rows and their
// cells, forward (ForwardStep) and backward (BackwardStep), with the projection's and full gate
// recurrence's per-step products, and the fork of a one-chunk batch's row passes.
internal sealed partial class LstmKernel
{
    private protected override void ForwardStep(in SequenceRun run, in LstmWeights weights, SequenceCache cache, in StepStates states, int s, int b0, int b1)
    {
        var k = (LstmCache)cache;
        int h = OutputSize, g = GateWidth, bt = run.Batch, rows = b1 - b0;
        var zS = k.Gates.AsSpan(s * bt * g, bt * g);
        var z = zS.Slice(b0 * g, rows * g);
        var bias = BiasInProjection(run, weights) ? default : weights.Bias;
        if (!bias.IsEmpty)
        {
            for (int r = 0; r < rows; r++)
            {
                var zr = z.Slice(r * g, g);
                TensorPrimitives.Add(zr, bias, zr);
            }
        }

        if (weights.QuantizedRecurrentKernel is { } qu)
        {
            QuantizedGemm.MultiplyAdd(qu, rows, states.Hd[(b0 * h)..], h, z, g, Width);
        }
        else
        {
            Gemm.Sgemm(false, false, rows, g, h, 1f, states.Hd[(b0 * h)..], h, weights.RecurrentKernel, g, 1f, z, g);
        }

        var gPrev = GateStates(k, run, s, b0, b1, weights.GateRecurrence, z, out var gNext);
        var keepS = k.Keep.AsSpan(s * bt, bt);
        var mS = Layout.HasProjection ? k.Unprojected.AsSpan(states.Slot * bt * Units, bt * Units) : default;
        int pieces = rows == bt ? LstmKernel.RowChunks(bt, g) : 1;
        if (pieces == 1)
        {
            ForwardRows(weights, keepS, states, zS, mS, gPrev, gNext, b0, b1);
        }
        else
        {
            WorkerPool.Shared.For(pieces, new ForwardRowsJob(this, weights, keepS, states, zS, mS, gPrev, gNext, pieces));
        }

        if (Layout.HasProjection)
        {
            // h_s = m_s·W_p over the chunk's rows; masked rows then take h_{s−1} back.
            Gemm.Sgemm(false, false, rows, h, Units, 1f, mS[(b0 * Units)..], Units, weights.Projection, h, 0f, states.HCur[(b0 * h)..], h);
            for (int b = b0; b < b1; b++)
            {
                CarriedOver(keepS, b, states.HPrev, states.HCur);
            }
        }
    }

    /// <summary>
    /// The cells of rows [b0, b1) of one step (<paramref name="zS"/>, <paramref name="gPrev"/>,
    /// <paramref name="gNext"/>: the step's rows of every sequence): gate activations, c_s, h_s
    /// and the FGR state; a masked row carries h, c and the FGR state over. With a projection the
    /// cells write m_s into <paramref name="mS"/> (zero at masked rows) and the step projects it.
    /// </summary>
    private void ForwardRows(in LstmWeights weights, ReadOnlySpan<float> keepS, in StepStates states, Span<float> zS, Span<float> mS, Span<float> gPrev, Span<float> gNext, int b0, int b1)
    {
        int n = Units, g = GateWidth, su = GateStateWidth;
        for (int b = b0; b < b1; b++)
        {
            var cb = states.CCur.Slice(b * n, n);
            states.CPrev.Slice(b * n, n).CopyTo(cb);
            var gb = gNext.IsEmpty ? default : gNext.Slice(b * su, su);
            if (CarriedOver(keepS, b, states.HPrev, states.HCur))
            {
                if (!gb.IsEmpty && gPrev != gNext)
                {
                    gPrev.Slice(b * su, su).CopyTo(gb);
                }

                if (!mS.IsEmpty)
                {
                    mS.Slice(b * n, n).Clear();
                }

                continue;
            }

            LstmCell.ForwardRowUnchecked(Layout, zS.Slice(b * g, g), cb, mS.IsEmpty ? states.HCur.Slice(b * n, n) : mS.Slice(b * n, n), weights.Peephole, gb);
        }
    }

    /// <summary>
    /// FGR: g_{s−1} of every sequence, and in <paramref name="next"/> where g_s goes (training: the
    /// cache's next row block, none after the last step; inference: in place, the product has read
    /// g_{s−1}), after adding g_{s−1}·R of rows [b0, b1) to the weighted gates' rows of
    /// <paramref name="z"/> (rows [b0, b1) of the step). Both empty without FGR.
    /// </summary>
    private Span<float> GateStates(LstmCache k, in SequenceRun run, int s, int b0, int b1, ReadOnlySpan<float> r, Span<float> z, out Span<float> next)
    {
        int su = GateStateWidth, bt = run.Batch, rows = b1 - b0;
        if (su == 0)
        {
            next = default;
            return default;
        }

        bool training = k != inference;
        var prev = k.GatesPrev.AsSpan(training ? s * bt * su : 0, bt * su);
        var prevRows = prev.Slice(b0 * su, rows * su);
        if (s == 0)
        {
            prevRows.Clear();
        }
        else
        {
            foreach (var gate in LstmCell.WeightedGates)
            {
                int w = Layout.WeightedGateIndex(gate);
                if (w >= 0)
                {
                    Gemm.Sgemm(false, false, rows, Units, su, 1f, prevRows, su, r[(w * Units)..], su, 1f, z[Layout.BlockOffset(gate)..], GateWidth);
                }
            }
        }

        next = !training ? prev : s + 1 < run.Time ? k.GatesPrev.AsSpan((s + 1) * bt * su, bt * su) : default;
        return prev;
    }

    private protected override void PrepareBackward(int rows)
    {
        int length = backwardBatch * GateStateWidth;
        RnnRun.Ensure(ref dGates, length);
        dGates.AsSpan(0, length).Clear();
        RnnRun.Ensure(ref dUnprojected, Layout.HasProjection ? backwardBatch * Units : 0);
    }

    private protected override void BackwardStep(in SequenceRun run, in LstmWeights weights, in RnnOutputGradients dOut, SequenceCache cache, int s, int b0, int b1)
    {
        var k = (LstmCache)cache;
        int n = Units, h = OutputSize, g = GateWidth, bt = run.Batch, rows = b1 - b0, su = GateStateWidth;
        if (Layout.HasProjection)
        {
            Unproject(run, weights, dOut, k, s, b0, b1);
        }

        int pieces = rows == bt ? LstmKernel.RowChunks(bt, g) : 1;
        if (pieces == 1)
        {
            BackwardRows(run, weights, dOut, k, s, b0, b1);
        }
        else
        {
            WorkerPool.Shared.For(pieces, new BackwardRowsJob(this, run, weights, dOut, k, s, pieces));
        }

        var dz = k.Gates.AsSpan(((s * bt) + b0) * g, rows * g);
        Gemm.Sgemm(false, false, rows, h, g, 1f, dz, g, UT.AsSpan(0, g * h), h, 0f, DhRec.AsSpan(b0 * h, rows * h), h);
        if (su > 0 && s > 0)
        {
            // ∂L/∂g_{s−1} += dz_gate · R[:, gate]ᵀ (masked rows' dz are zero and keep their carry).
            foreach (var gate in LstmCell.WeightedGates)
            {
                int w = Layout.WeightedGateIndex(gate);
                if (w >= 0)
                {
                    Gemm.Sgemm(false, true, rows, su, n, 1f, dz[Layout.BlockOffset(gate)..], g, weights.GateRecurrence[(w * n)..], su, 1f, dGates.AsSpan(b0 * su, rows * su), su);
                }
            }
        }
    }

    /// <summary>
    /// With a projection, before the cells of rows [b0, b1) of step <paramref name="s"/>: dh_s from
    /// the driver's carries into the cache's row for dW_p (zero at masked rows, whose dh carries
    /// on), then ∂L/∂m_s = dh_s·W_pᵀ, the cells' dh.
    /// </summary>
    private void Unproject(in SequenceRun run, in LstmWeights weights, in RnnOutputGradients dOut, LstmCache k, int s, int b0, int b1)
    {
        int n = Units, h = OutputSize, bt = run.Batch, tt = run.Time, rows = b1 - b0;
        var mh = run.RecurrentDropoutMask;
        var keepS = k.Keep.AsSpan(s * bt, bt);
        var emitS = k.Emit.AsSpan(s * bt, bt);
        var dp = k.DProjected.AsSpan(s * bt * h, bt * h);
        for (int b = b0; b < b1; b++)
        {
            if (CarriedBack(keepS, mh, dOut.Sequence, emitS, b, tt, s))
            {
                dp.Slice(b * h, h).Clear();
                continue;
            }

            RnnRun.TakeDh(StateRow, ref DhCarry[b * h], ref DhRec[b * h], ref RecurrentMask(mh, b), ref OutputGradient(dOut.Sequence, emitS, b, tt, s), ref dp[b * h]);
        }

        Gemm.Sgemm(false, true, rows, n, h, 1f, dp[(b0 * h)..], h, weights.Projection, h, 0f, dUnprojected.AsSpan(b0 * n, rows * n), n);
    }

    /// <summary>
    /// The backward cells of rows [b0, b1) of step <paramref name="s"/>: dh_s from the driver's
    /// carries (with a projection: ∂L/∂m_s from <see cref="Unproject"/>), then dz in place of the
    /// gates and ∂L/∂c_{s−1}; a masked row passes dh, dc and ∂L/∂g through and gets dz = 0.
    /// </summary>
    private void BackwardRows(in SequenceRun run, in LstmWeights weights, in RnnOutputGradients dOut, LstmCache k, int s, int b0, int b1)
    {
        int n = Units, g = GateWidth, bt = run.Batch, tt = run.Time, su = GateStateWidth;
        var row = Row;
        var mh = run.RecurrentDropoutMask;
        var cPrev = k.Cells.AsSpan(s * bt * n, bt * n);
        var cCur = k.Cells.AsSpan((s + 1) * bt * n, bt * n);
        var keepS = k.Keep.AsSpan(s * bt, bt);
        var emitS = k.Emit.AsSpan(s * bt, bt);
        var dz = k.Gates.AsSpan(s * bt * g, bt * g);
        bool proj = Layout.HasProjection;
        for (int b = b0; b < b1; b++)
        {
            if (proj ? keepS[b] == 0f : CarriedBack(keepS, mh, dOut.Sequence, emitS, b, tt, s))
            {
                // c was copied too: ∂L/∂c passes through unchanged; no parameter sees this row.
                dz.Slice(b * g, g).Clear();
                continue;
            }

            Span<float> dh;
            if (proj)
            {
                dh = dUnprojected.AsSpan(b * n, n);
            }
            else
            {
                // dh_s replaces this row's dhd in place (the step's product writes the next one).
                ref float dhd = ref DhRec[b * n];
                RnnRun.TakeDh(row, ref DhCarry[b * n], ref dhd, ref RecurrentMask(mh, b), ref OutputGradient(dOut.Sequence, emitS, b, tt, s), ref dhd);
                dh = DhRec.AsSpan(b * n, n);
            }

            // FGR: ∂L/∂g_s (the later steps' dz·Rᵀ, carried through masked rows) is used up here.
            var dgb = dGates.AsSpan(b * su, su);
            LstmCell.BackwardRowUnchecked(Layout, dz.Slice(b * g, g), dh, DcCarry.AsSpan(b * n, n), cCur.Slice(b * n, n), cPrev.Slice(b * n, n), weights.Peephole, dgb);
            dgb.Clear();
        }
    }

    /// <summary>Index i runs the forward cells of the i-th piece of a one-chunk step's rows (the product is done).</summary>
    private readonly ref struct ForwardRowsJob(LstmKernel kernel, LstmWeights weights, ReadOnlySpan<float> keepS, StepStates states, Span<float> zS, Span<float> mS, Span<float> gPrev, Span<float> gNext, int pieces) : IParallelJob
    {
        private readonly LstmWeights weights = weights;
        private readonly StepStates states = states;
        private readonly ReadOnlySpan<float> keepS = keepS;
        private readonly Span<float> zS = zS, mS = mS, gPrev = gPrev, gNext = gNext;

        public void Execute(int index)
        {
            int bt = keepS.Length;
            kernel.ForwardRows(weights, keepS, states, zS, mS, gPrev, gNext, BatchChunks.Start(bt, pieces, index), BatchChunks.Start(bt, pieces, index + 1));
        }
    }

    /// <summary>Index i runs the backward cells of the i-th piece of a one-chunk step's rows (the product follows).</summary>
    private readonly ref struct BackwardRowsJob(LstmKernel kernel, SequenceRun run, LstmWeights weights, RnnOutputGradients dOut, LstmCache k, int s, int pieces) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly LstmWeights weights = weights;
        private readonly RnnOutputGradients dOut = dOut;

        public void Execute(int index) =>
            kernel.BackwardRows(run, weights, dOut, k, s, BatchChunks.Start(run.Batch, pieces, index), BatchChunks.Start(run.Batch, pieces, index + 1));
    }
}
