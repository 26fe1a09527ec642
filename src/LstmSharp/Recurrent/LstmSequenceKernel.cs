using System.Numerics.Tensors;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The LSTM on the shared time-loop driver (<see cref="SequenceKernel{TWeights, TGradients}"/>:
/// masks, dropout, go_backwards, initial states, batch chunks, the time-major x·W projection,
/// the h / c carries and dx), for every gate variant of <see cref="LstmCell"/> (peepholes,
/// coupled or missing gates, activations, full gate recurrence) without a projection.
/// <see cref="LstmKernel"/> hands it the runs it supports (<see cref="LstmKernel.OnDriver"/>).
/// </summary>
/// <remarks>
/// Per step: b + h·U of a chunk's rows is added to their rows of x·W (one product, into
/// <see cref="LstmCache.Gates"/>, time-major), then each row's cell (<see cref="LstmCell"/>)
/// turns them into gate activations, c_s and h_s. Backward per step: each row's backward cell
/// (dh from the driver's carry, dc in <see cref="SequenceKernel.DcCarry"/>) leaves dz in place of the
/// gates, then one product dz·Uᵀ; after the loop dW, dU, dx are whole-sequence products and db,
/// the peepholes' gradient sums over rows in row order (the same bits for any thread count).
/// <para>Full gate recurrence (FGR) carries a third state, the previous step's activations of the
/// gates with weights g = [a_i, a_f, a_o] (<see cref="LstmCache.GatesPrev"/>, row s·B + b =
/// g_{s−1}, zero for s = 0, copied over masked steps): per step g_{s−1}·R adds to each such
/// gate's rows; the backward carries ∂L/∂g in a [B, S·units] buffer (through masked rows
/// unchanged, as ∂L/∂c) that each step's dz·Rᵀ adds to, and dR is one product per gate.</para>
/// </remarks>
internal sealed class LstmSequenceKernel : SequenceKernel<LstmWeights, LstmGradients>
{
    private readonly LstmLayout layout;
    private readonly LstmCache inference;
    private float[] wTransposed = [];
    private float[] dGates = [];
    private int backwardBatch;

    public LstmSequenceKernel(LstmLayout layout, string name)
        : this(layout, name, new LstmCache())
    {
    }

    private LstmSequenceKernel(LstmLayout layout, string name, LstmCache inference)
        : base(inference, "LSTM", name, layout.InputSize, layout.Units, layout.GateWidth, layout.Variant.Activation, layout.Variant.RecurrentActivation, LaneWidth.Auto, cellState: true)
    {
        this.layout = layout;
        this.inference = inference;
    }

    /// <summary>S·units: the width of the FGR gate state (0 without full gate recurrence).</summary>
    private int GateStateWidth => layout.HasGateRecurrence ? layout.WeightedGateCount * Units : 0;

    internal override SequenceCache NewCache() => new LstmCache();

    private protected override object LayoutKey => layout;

    private protected override int BiasLength => layout.BiasLength;

    private protected override void CheckWeights(string owner, in LstmWeights weights)
    {
        base.CheckWeights(owner, weights);
        weights.ValidateCell(owner, layout);
    }

    private protected override void CheckGradients(string owner, in SequenceRun run, in RnnOutputGradients dOut, in LstmGradients grads)
    {
        base.CheckGradients(owner, run, dOut, grads);
        grads.ValidateCell(owner, layout, run);
        backwardBatch = run.Batch;
    }

    /// <summary>x·W lands in the cache's gate rows: each step adds b + h·U to its rows and the cells activate them in place.</summary>
    private protected override float[] ProjectionBuffer(SequenceCache cache, int length)
    {
        var k = (LstmCache)cache;
        LstmCache.Grow(ref k.Gates, length);
        LstmCache.Grow(ref k.GatesPrev, length / GateWidth * GateStateWidth);
        return k.Gates;
    }

    private protected override void PrepareForward(ReadOnlySpan<float> bias, int batch)
    {
    }

    private protected override void ForwardStep(in SequenceRun run, in LstmWeights weights, SequenceCache cache, in StepStates states, int s, int b0, int b1)
    {
        var k = (LstmCache)cache;
        int n = Units, g = GateWidth, bt = run.Batch, rows = b1 - b0;
        var zS = k.Gates.AsSpan(s * bt * g, bt * g);
        var z = zS.Slice(b0 * g, rows * g);
        var bias = weights.Bias;
        if (!bias.IsEmpty)
        {
            for (int r = 0; r < rows; r++)
            {
                var zr = z.Slice(r * g, g);
                TensorPrimitives.Add(zr, bias, zr);
            }
        }

        Gemm.Sgemm(false, false, rows, g, n, 1f, states.Hd[(b0 * n)..], n, weights.RecurrentKernel, g, 1f, z, g);
        var gPrev = GateStates(k, run, s, b0, b1, weights.GateRecurrence, z, out var gNext);
        var keepS = k.Keep.AsSpan(s * bt, bt);
        int pieces = rows == bt ? LstmKernel.RowChunks(bt, g) : 1;
        if (pieces == 1)
        {
            ForwardRows(weights, keepS, states, zS, gPrev, gNext, b0, b1);
        }
        else
        {
            WorkerPool.Shared.For(pieces, new ForwardRowsJob(this, weights, keepS, states, zS, gPrev, gNext, pieces));
        }
    }

    /// <summary>
    /// The cells of rows [b0, b1) of one step (<paramref name="zS"/>, <paramref name="gPrev"/>,
    /// <paramref name="gNext"/>: the step's rows of every sequence): gate activations, c_s, h_s
    /// and the FGR state; a masked row carries h, c and the FGR state over.
    /// </summary>
    private void ForwardRows(in LstmWeights weights, ReadOnlySpan<float> keepS, in StepStates states, Span<float> zS, Span<float> gPrev, Span<float> gNext, int b0, int b1)
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

                continue;
            }

            LstmCell.ForwardRowUnchecked(layout, zS.Slice(b * g, g), cb, states.HCur.Slice(b * n, n), weights.Peephole, gb);
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
                int w = layout.WeightedGateIndex(gate);
                if (w >= 0)
                {
                    Gemm.Sgemm(false, false, rows, Units, su, 1f, prevRows, su, r[(w * Units)..], su, 1f, z[layout.BlockOffset(gate)..], GateWidth);
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
    }

    private protected override void BackwardStep(in SequenceRun run, in LstmWeights weights, in RnnOutputGradients dOut, SequenceCache cache, int s, int b0, int b1)
    {
        var k = (LstmCache)cache;
        int n = Units, g = GateWidth, bt = run.Batch, rows = b1 - b0, su = GateStateWidth;
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
        Gemm.Sgemm(false, false, rows, n, g, 1f, dz, g, UT.AsSpan(0, g * n), n, 0f, DhRec.AsSpan(b0 * n, rows * n), n);
        if (su > 0 && s > 0)
        {
            // ∂L/∂g_{s−1} += dz_gate · R[:, gate]ᵀ (masked rows' dz are zero and keep their carry).
            foreach (var gate in LstmCell.WeightedGates)
            {
                int w = layout.WeightedGateIndex(gate);
                if (w >= 0)
                {
                    Gemm.Sgemm(false, true, rows, su, n, 1f, dz[layout.BlockOffset(gate)..], g, weights.GateRecurrence[(w * n)..], su, 1f, dGates.AsSpan(b0 * su, rows * su), su);
                }
            }
        }
    }

    /// <summary>
    /// The backward cells of rows [b0, b1) of step <paramref name="s"/>: dh_s from the driver's
    /// carries, then dz in place of the gates and ∂L/∂c_{s−1}; a masked row passes dh, dc and
    /// ∂L/∂g through and gets dz = 0.
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
        for (int b = b0; b < b1; b++)
        {
            if (CarriedBack(keepS, mh, dOut.Sequence, emitS, b, tt, s))
            {
                // c was copied too: ∂L/∂c passes through unchanged; no parameter sees this row.
                dz.Slice(b * g, g).Clear();
                continue;
            }

            // dh_s replaces this row's dhd in place (the step's product writes the next one).
            ref float dhd = ref DhRec[b * n];
            RnnRun.TakeDh(row, ref DhCarry[b * n], ref dhd, ref RecurrentMask(mh, b), ref OutputGradient(dOut.Sequence, emitS, b, tt, s), ref dhd);

            // FGR: ∂L/∂g_s (the later steps' dz·Rᵀ, carried through masked rows) is used up here.
            var dgb = dGates.AsSpan(b * su, su);
            LstmCell.BackwardRowUnchecked(layout, dz.Slice(b * g, g), DhRec.AsSpan(b * n, n), DcCarry.AsSpan(b * n, n), cCur.Slice(b * n, n), cPrev.Slice(b * n, n), weights.Peephole, dgb);
            dgb.Clear();
        }
    }

    private protected override void ParameterGradients(int rows, in LstmWeights weights, SequenceCache cache, ReadOnlySpan<float> hdAll, ReadOnlySpan<float> xmAll, in LstmGradients grads, Span<float> dxm)
    {
        var k = (LstmCache)cache;
        int n = Units, g = GateWidth, f = InputSize;
        var dz = k.Gates.AsSpan(0, rows * g);
        Gemm.Sgemm(true, false, f, g, rows, 1f, xmAll, f, dz, g, 1f, grads.Kernel, g);
        Gemm.Sgemm(true, false, n, g, rows, 1f, hdAll, n, dz, g, 1f, grads.RecurrentKernel, g);
        if (layout.UseBias)
        {
            RnnRun.AddColumnSums(dz, rows, g, 0, grads.Bias);
        }

        if (layout.HasGateRecurrence)
        {
            // dR[:, gate] += Σ g_{s−1}ᵀ dz_gate over all rows (g_{−1} = 0).
            int su = GateStateWidth;
            var gp = k.GatesPrev.AsSpan(0, rows * su);
            foreach (var gate in LstmCell.WeightedGates)
            {
                int w = layout.WeightedGateIndex(gate);
                if (w >= 0)
                {
                    Gemm.Sgemm(true, false, su, n, rows, 1f, gp, su, dz[layout.BlockOffset(gate)..], g, 1f, grads.GateRecurrence[(w * n)..], su);
                }
            }
        }

        if (layout.HasPeepholes)
        {
            AccumulatePeepholeGradient(dz, k.Cells.AsSpan(0, (rows + backwardBatch) * n), rows, grads.Peephole);
        }

        if (!dxm.IsEmpty)
        {
            // dx = dz·Wᵀ through a stored Wᵀ: a plain product of [T·B, G] by [G, inputSize].
            RnnRun.Ensure(ref wTransposed, g * f);
            RnnRun.Transpose(weights.Kernel, f, g, wTransposed);
            Gemm.Sgemm(false, false, rows, f, g, 1f, dz, g, wTransposed, f, 0f, dxm, f);
        }
    }

    /// <summary>dp_i += Σ dz_i ⊙ c_{t−1}, dp_f += Σ dz_f ⊙ c_{t−1}, dp_o += Σ dz_o ⊙ c_t over the rows (c_{t−1} of row r is Cells row r, c_t row r + B).</summary>
    private void AccumulatePeepholeGradient(ReadOnlySpan<float> dz, ReadOnlySpan<float> cells, int rows, Span<float> dPeephole)
    {
        int n = Units, g = GateWidth, bt = backwardBatch;
        foreach (var gate in LstmCell.WeightedGates)
        {
            int k = layout.WeightedGateIndex(gate);
            if (k < 0)
            {
                continue;
            }

            var dp = dPeephole.Slice(k * n, n);
            int off = layout.BlockOffset(gate), shift = gate == LstmGate.Output ? bt : 0;
            for (int r = 0; r < rows; r++)
            {
                TensorPrimitives.FusedMultiplyAdd(dz.Slice((r * g) + off, n), cells.Slice((r + shift) * n, n), dp, dp);
            }
        }
    }

    /// <summary>Index i runs the forward cells of the i-th piece of a one-chunk step's rows (the product is done).</summary>
    private readonly ref struct ForwardRowsJob(LstmSequenceKernel kernel, LstmWeights weights, ReadOnlySpan<float> keepS, StepStates states, Span<float> zS, Span<float> gPrev, Span<float> gNext, int pieces) : IParallelJob
    {
        private readonly LstmWeights weights = weights;
        private readonly StepStates states = states;
        private readonly ReadOnlySpan<float> keepS = keepS;
        private readonly Span<float> zS = zS, gPrev = gPrev, gNext = gNext;

        public void Execute(int index)
        {
            int bt = keepS.Length;
            kernel.ForwardRows(weights, keepS, states, zS, gPrev, gNext, BatchChunks.Start(bt, pieces, index), BatchChunks.Start(bt, pieces, index + 1));
        }
    }

    /// <summary>Index i runs the backward cells of the i-th piece of a one-chunk step's rows (the product follows).</summary>
    private readonly ref struct BackwardRowsJob(LstmSequenceKernel kernel, SequenceRun run, LstmWeights weights, RnnOutputGradients dOut, LstmCache k, int s, int pieces) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly LstmWeights weights = weights;
        private readonly RnnOutputGradients dOut = dOut;

        public void Execute(int index) =>
            kernel.BackwardRows(run, weights, dOut, k, s, BatchChunks.Start(run.Batch, pieces, index), BatchChunks.Start(run.Batch, pieces, index + 1));
    }
}
