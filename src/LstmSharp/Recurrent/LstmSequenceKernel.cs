using System.Numerics.Tensors;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The LSTM on the shared time-loop driver (<see cref="SequenceKernel{TWeights, TGradients}"/>:
/// masks, dropout, go_backwards, initial states, batch chunks, the time-major x·W projection,
/// the h / c carries and dx): every gate variant of <see cref="LstmCell"/> (peepholes, coupled or
/// missing gates, activations, full gate recurrence), a projection, a token lookup and int8/bf16
/// weights. <see cref="LstmKernel"/> hands it every run but batch-1 inference.
/// </summary>
/// <remarks>
/// <para>Per step: b + h·U of a chunk's rows is added to their rows of x·W (one product, into
/// <see cref="LstmCache.Gates"/>, time-major), then each row's cell (<see cref="LstmCell"/>)
/// turns them into gate activations, c_s and h_s. Backward per step: each row's backward cell
/// (dh from the driver's carry, dc in <see cref="SequenceKernel.DcCarry"/>) leaves dz in place of the
/// gates, then one product dz·Uᵀ; after the loop dW, dU, dx are whole-sequence products and db,
/// the peepholes' gradient sums over rows in row order (the same bits for any thread count).</para>
/// <para>Full gate recurrence (FGR) carries a third state, the previous step's activations of the
/// gates with weights g = [a_i, a_f, a_o] (<see cref="LstmCache.GatesPrev"/>, row s·B + b =
/// g_{s−1}, zero for s = 0, copied over masked steps): per step g_{s−1}·R adds to each such
/// gate's rows; the backward carries ∂L/∂g in a [B, S·units] buffer (through masked rows
/// unchanged, as ∂L/∂c) that each step's dz·Rᵀ adds to, and dR is one product per gate.</para>
/// <para>Projection (h = m·W_p, P = H wide; the driver's h buffers, carries and outputs are H wide,
/// c is units wide): the cells write m_s into <see cref="LstmCache.Unprojected"/>, then one product
/// per chunk and step makes h_s; backward, dh_s goes to <see cref="LstmCache.DProjected"/> (for
/// dW_p) and one product dh_s·W_pᵀ gives the cells' ∂L/∂m_s.</para>
/// <para>Token lookup: x·W + b through the table (<see cref="TokenProjection"/>, rows in the
/// driver's order, <see cref="LstmCache.TokenRows"/>), and dW, db and the table's gradient through
/// its rows. int8/bf16 weights: x·W and h·U through <see cref="QuantizedGemm"/> (inference only).</para>
/// </remarks>
internal sealed class LstmSequenceKernel : SequenceKernel<LstmWeights, LstmGradients>
{
    private readonly LstmLayout layout;
    private readonly LstmCache inference;
    private float[] wTransposed = [];
    private float[] dGates = [];
    private float[] tableProjection = [];
    private float[] tableScatter = [];
    private float[] dUnprojected = [];
    private float[] biasPart = [];
    private int backwardBatch;

    public LstmSequenceKernel(LstmLayout layout, string name)
        : this(layout, name, new LstmCache())
    {
    }

    private LstmSequenceKernel(LstmLayout layout, string name, LstmCache inference)
        : base(inference, "LSTM", name, layout.InputSize, layout.Units, layout.GateWidth, layout.Variant.Activation, layout.Variant.RecurrentActivation, LaneWidth.Auto, cellState: true, outputSize: layout.OutputSize)
    {
        this.layout = layout;
        this.inference = inference;
    }

    /// <summary>The SIMD width of the int8/bf16 products (<see cref="LstmKernel.Width"/>; tests pin <see cref="LaneWidth.Scalar"/>).</summary>
    internal LaneWidth Width { get; set; } = LaneWidth.Auto;

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
        int rows = length / GateWidth;
        LstmCache.Grow(ref k.GatesPrev, rows * GateStateWidth);
        if (layout.HasProjection)
        {
            LstmCache.Grow(ref k.Unprojected, rows * Units);
            LstmCache.Grow(ref k.DProjected, k == inference ? 0 : rows * OutputSize);
        }

        return k.Gates;
    }

    /// <summary>
    /// x·W of every step: through the token table when x is an embedding lookup (z = P[token],
    /// P = E·W + b, <see cref="TokenProjection"/>, rows in the driver's order), through int8/bf16 W
    /// when the weights are quantized, else the driver's product.
    /// </summary>
    private protected override void ProjectInput(in SequenceRun run, in LstmWeights weights, SequenceCache c, Span<float> z)
    {
        var k = (LstmCache)c;
        int n = InputSize, g = GateWidth, bt = run.Batch, tt = run.Time, rows = bt * tt;
        if (ReadsTable(run, weights))
        {
            if (k.TokenRows.Length < rows)
            {
                k.TokenRows = new int[rows];
            }

            var tokens = k.TokenRows.AsSpan(0, rows);
            for (int s = 0; s < tt; s++)
            {
                int t = run.TimeIndex(s);
                for (int b = 0; b < bt; b++)
                {
                    tokens[(s * bt) + b] = run.Tokens[(b * tt) + t];
                }
            }

            TokenProjection.Forward(tokens, run.TokenTable, n, weights.Kernel, weights.Bias, g, z, ref tableProjection);
        }
        else if (weights.QuantizedKernel is { } qw)
        {
            RnnRun.GatherInput(run.X, run.InputDropoutMask, bt, tt, n, run.GoBackwards, c.XDropped);
            z.Clear();
            QuantizedGemm.MultiplyAddParallel(qw, rows, c.XDropped, n, z, g, Width);
        }
        else
        {
            base.ProjectInput(run, weights, c, z);
        }
    }

    /// <summary>Whether x·W + b comes from the token table (then z already holds the bias).</summary>
    private static bool ReadsTable(in SequenceRun run, in LstmWeights weights) => run.HasTokens && weights.QuantizedKernel is null;

    private protected override void PrepareForward(ReadOnlySpan<float> bias, int batch)
    {
    }

    private protected override void ForwardStep(in SequenceRun run, in LstmWeights weights, SequenceCache cache, in StepStates states, int s, int b0, int b1)
    {
        var k = (LstmCache)cache;
        int h = OutputSize, g = GateWidth, bt = run.Batch, rows = b1 - b0;
        var zS = k.Gates.AsSpan(s * bt * g, bt * g);
        var z = zS.Slice(b0 * g, rows * g);
        var bias = ReadsTable(run, weights) ? default : weights.Bias;
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
        var mS = layout.HasProjection ? k.Unprojected.AsSpan(states.Slot * bt * Units, bt * Units) : default;
        int pieces = rows == bt ? LstmKernel.RowChunks(bt, g) : 1;
        if (pieces == 1)
        {
            ForwardRows(weights, keepS, states, zS, mS, gPrev, gNext, b0, b1);
        }
        else
        {
            WorkerPool.Shared.For(pieces, new ForwardRowsJob(this, weights, keepS, states, zS, mS, gPrev, gNext, pieces));
        }

        if (layout.HasProjection)
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

            LstmCell.ForwardRowUnchecked(layout, zS.Slice(b * g, g), cb, mS.IsEmpty ? states.HCur.Slice(b * n, n) : mS.Slice(b * n, n), weights.Peephole, gb);
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
        RnnRun.Ensure(ref dUnprojected, layout.HasProjection ? backwardBatch * Units : 0);
    }

    private protected override void BackwardStep(in SequenceRun run, in LstmWeights weights, in RnnOutputGradients dOut, SequenceCache cache, int s, int b0, int b1)
    {
        var k = (LstmCache)cache;
        int n = Units, h = OutputSize, g = GateWidth, bt = run.Batch, rows = b1 - b0, su = GateStateWidth;
        if (layout.HasProjection)
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
                int w = layout.WeightedGateIndex(gate);
                if (w >= 0)
                {
                    Gemm.Sgemm(false, true, rows, su, n, 1f, dz[layout.BlockOffset(gate)..], g, weights.GateRecurrence[(w * n)..], su, 1f, dGates.AsSpan(b0 * su, rows * su), su);
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
        bool proj = layout.HasProjection;
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
            LstmCell.BackwardRowUnchecked(layout, dz.Slice(b * g, g), dh, DcCarry.AsSpan(b * n, n), cCur.Slice(b * n, n), cPrev.Slice(b * n, n), weights.Peephole, dgb);
            dgb.Clear();
        }
    }

    private protected override void ParameterGradients(in SequenceRun run, in LstmWeights weights, SequenceCache cache, ReadOnlySpan<float> hdAll, ReadOnlySpan<float> xmAll, in LstmGradients grads, Span<float> dxm)
    {
        int rows = run.Batch * run.Time;
        var k = (LstmCache)cache;
        int n = Units, g = GateWidth, f = InputSize;
        var dz = k.Gates.AsSpan(0, rows * g);
        if (run.HasTokens)
        {
            // dW, db and d(table) through the table's rows (dz scattered by token).
            TokenProjection.Backward(k.TokenRows.AsSpan(0, rows), run.TokenTable, f, dz, weights.Kernel, g, grads.Kernel, grads.Bias, grads.Table, ref tableScatter);
        }
        else
        {
            Gemm.Sgemm(true, false, f, g, rows, 1f, xmAll, f, dz, g, 1f, grads.Kernel, g);
            if (layout.UseBias)
            {
                // Σ over steps of each step's column sums: two levels, so the rounding grows with
                // T + B terms instead of T·B (and the order is fixed: the same bits for any thread count).
                int bt = run.Batch;
                RnnRun.Ensure(ref biasPart, g);
                var part = biasPart.AsSpan(0, g);
                for (int r = 0; r < rows; r += bt)
                {
                    part.Clear();
                    RnnRun.AddColumnSums(dz[(r * g)..], bt, g, 0, part);
                    TensorPrimitives.Add(grads.Bias, part, grads.Bias);
                }
            }
        }

        int h = OutputSize;
        Gemm.Sgemm(true, false, h, g, rows, 1f, hdAll, h, dz, g, 1f, grads.RecurrentKernel, g);
        if (layout.HasProjection)
        {
            // dW_p += Σ m_sᵀ ∂L/∂h_s; masked rows of both are zero.
            Gemm.Sgemm(true, false, n, h, rows, 1f, k.Unprojected.AsSpan(0, rows * n), n, k.DProjected.AsSpan(0, rows * h), h, 1f, grads.Projection, h);
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
            AccumulatePeepholeGradient(dz, k.Cells.AsSpan(0, (rows + run.Batch) * n), rows, run.Batch, grads.Peephole);
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
    private void AccumulatePeepholeGradient(ReadOnlySpan<float> dz, ReadOnlySpan<float> cells, int rows, int bt, Span<float> dPeephole)
    {
        int n = Units, g = GateWidth;
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
    private readonly ref struct ForwardRowsJob(LstmSequenceKernel kernel, LstmWeights weights, ReadOnlySpan<float> keepS, StepStates states, Span<float> zS, Span<float> mS, Span<float> gPrev, Span<float> gNext, int pieces) : IParallelJob
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
    private readonly ref struct BackwardRowsJob(LstmSequenceKernel kernel, SequenceRun run, LstmWeights weights, RnnOutputGradients dOut, LstmCache k, int s, int pieces) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly LstmWeights weights = weights;
        private readonly RnnOutputGradients dOut = dOut;

        public void Execute(int index) =>
            kernel.BackwardRows(run, weights, dOut, k, s, BatchChunks.Start(run.Batch, pieces, index), BatchChunks.Start(run.Batch, pieces, index + 1));
    }
}
