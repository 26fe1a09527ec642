using System.Numerics.Tensors;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The sequence kernel of <see cref="LayerNormLSTM"/>, forward and exact BPTT, equations in
/// <see cref="LayerNormLstmCell"/>. A two-state cell on the shared driver
/// (<see cref="SequenceKernel{TWeights, TGradients}"/>: masks, dropout, go_backwards, initial
/// states, batch chunks, the x·W projection into <see cref="LayerNormLstmCache.Ax"/>): per step
/// h·U of a chunk's rows is one product, then the rows' cells; the backward does per step the
/// rows' backward cells and one product da_h·Uᵀ, then dW, dU, dx as whole-sequence products and
/// the gains' and bias' gradients as sums over rows in a fixed order, so every thread count
/// gives the same bits. Not thread-safe: one kernel per layer.
/// </summary>
internal sealed class LayerNormLstmKernel : SequenceKernel<LayerNormLstmWeights, LayerNormLstmGradients>
{
    private readonly float epsilon;
    private readonly object layoutKey;
    private float[] dAx = [], dAh = [], dL = [];

    public LayerNormLstmKernel(int inputSize, int units, bool useBias, ActivationKind activation, ActivationKind recurrentActivation, float epsilon, string name)
        : base(new LayerNormLstmCache(), "LayerNormLSTM", name, inputSize, units, 4 * units, activation, recurrentActivation, LaneWidth.Auto, cellState: true)
    {
        UseBias = useBias;
        this.epsilon = epsilon;
        layoutKey = (inputSize, units, useBias);
    }

    public bool UseBias { get; }

    internal override SequenceCache NewCache() => new LayerNormLstmCache();

    private protected override object LayoutKey => layoutKey;

    private protected override int BiasLength => UseBias ? GateWidth : 0;

    private protected override void CheckWeights(string owner, in LayerNormLstmWeights weights)
    {
        base.CheckWeights(owner, weights);
        weights.ValidateNorms(owner, Units);
    }

    private protected override void CheckGradients(string owner, in SequenceRun run, in RnnOutputGradients dOut, in LayerNormLstmGradients grads)
    {
        base.CheckGradients(owner, run, dOut, grads);
        grads.ValidateNorms(owner, Units);
    }

    /// <summary>x W lands in the cache: the rows normalise it in place to x̂, which the backward reads.</summary>
    private protected override float[] ProjectionBuffer(SequenceCache cache, int length)
    {
        var k = (LayerNormLstmCache)cache;
        RnnRun.Ensure(ref k.Ax, length);
        return k.Ax;
    }

    private protected override void PrepareForward(ReadOnlySpan<float> bias, int batch)
    {
    }

    private protected override void ForwardStep(in SequenceRun run, in LayerNormLstmWeights weights, SequenceCache cache, in StepStates states, int s, int b0, int b1)
    {
        var k = (LayerNormLstmCache)cache;
        int n = Units, g = GateWidth, bt = run.Batch, rows = b1 - b0;
        var act = Row.Activation;
        var rec = Row.RecurrentActivation;
        var norms = weights.NormsWith(epsilon);
        var ahS = k.Ah.AsSpan(states.Slot * bt * g, bt * g);
        Gemm.Sgemm(false, false, rows, g, n, 1f, states.Hd[(b0 * n)..], n, weights.RecurrentKernel, g, 0f, ahS[(b0 * g)..], g);
        var axS = k.Ax.AsSpan(s * bt * g, bt * g);
        var keepS = k.Keep.AsSpan(s * bt, bt);
        for (int b = b0; b < b1; b++)
        {
            var cb = states.CCur.Slice(b * n, n);
            states.CPrev.Slice(b * n, n).CopyTo(cb);
            if (CarriedOver(keepS, b, states.HPrev, states.HCur))
            {
                continue;
            }

            int r = (states.Slot * bt) + b;
            k.Rc[r] = LayerNormLstmCell.ForwardRow(
                n, act, rec, axS.Slice(b * g, g), ahS.Slice(b * g, g), k.Rx.AsSpan(r * 4, 4), k.Rh.AsSpan(r * 4, 4),
                norms, k.Gates.AsSpan(r * g, g), cb, k.CHat.AsSpan(r * n, n), states.HCur.Slice(b * n, n));
        }
    }

    private protected override void PrepareBackward(int rows)
    {
        RnnRun.Ensure(ref dAx, rows * GateWidth);
        RnnRun.Ensure(ref dAh, rows * GateWidth);
        RnnRun.Ensure(ref dL, rows * Units);
    }

    private protected override void BackwardStep(in SequenceRun run, in LayerNormLstmWeights weights, in RnnOutputGradients dOut, SequenceCache cache, int s, int b0, int b1)
    {
        var k = (LayerNormLstmCache)cache;
        int n = Units, g = GateWidth, bt = run.Batch, tt = run.Time, rows = b1 - b0;
        var act = Row.Activation;
        var rec = Row.RecurrentActivation;
        var row = Row;
        var norms = weights.NormsWith(epsilon);
        var ut = UT.AsSpan(0, g * n);
        var dhr = DhRec.AsSpan(b0 * n, rows * n);
        var mh = run.RecurrentDropoutMask;
        var cPrev = k.Cells.AsSpan(s * bt * n, bt * n);
        var cCur = k.Cells.AsSpan((s + 1) * bt * n, bt * n);
        var keepS = k.Keep.AsSpan(s * bt, bt);
        var emitS = k.Emit.AsSpan(s * bt, bt);
        var daxS = dAx.AsSpan(s * bt * g, bt * g);
        var dahS = dAh.AsSpan(s * bt * g, bt * g);
        for (int b = b0; b < b1; b++)
        {
            if (CarriedBack(keepS, mh, dOut.Sequence, emitS, b, tt, s))
            {
                // c was copied too: ∂L/∂c passes through unchanged; no parameter sees this row.
                daxS.Slice(b * g, g).Clear();
                dahS.Slice(b * g, g).Clear();
                continue;
            }

            // dh_t replaces this row's dhd in place (the step's product below writes the next one).
            ref float dhd = ref DhRec[b * n];
            RnnRun.TakeDh(row, ref DhCarry[b * n], ref dhd, ref RecurrentMask(mh, b), ref OutputGradient(dOut.Sequence, emitS, b, tt, s), ref dhd);
            var dhb = DhRec.AsSpan(b * n, n);
            int r = (s * bt) + b;
            LayerNormLstmCell.BackwardRow(
                n, act, rec, norms, k.Ax.AsSpan(r * g, g), k.Ah.AsSpan(r * g, g), k.Rx.AsSpan(r * 4, 4), k.Rh.AsSpan(r * 4, 4),
                k.Gates.AsSpan(r * g, g), cCur.Slice(b * n, n), cPrev.Slice(b * n, n), k.CHat.AsSpan(r * n, n), k.Rc[r],
                dhb, DcCarry.AsSpan(b * n, n), daxS.Slice(b * g, g), dahS.Slice(b * g, g), dL.AsSpan(r * n, n));
        }

        Gemm.Sgemm(false, false, rows, n, g, 1f, dahS[(b0 * g)..], g, ut, n, 0f, dhr, n);
    }

    private protected override void ParameterGradients(in SequenceRun run, in LayerNormLstmWeights weights, SequenceCache cache, ReadOnlySpan<float> hdAll, ReadOnlySpan<float> xmAll, in LayerNormLstmGradients grads, Span<float> dxm)
    {
        int rows = run.Batch * run.Time;
        var k = (LayerNormLstmCache)cache;
        int n = Units, g = GateWidth, f = InputSize;
        var daxAll = dAx.AsSpan(0, rows * g);
        Gemm.Sgemm(true, false, f, g, rows, 1f, xmAll, f, daxAll, g, 1f, grads.Kernel, g);
        Gemm.Sgemm(true, false, n, g, rows, 1f, hdAll, n, dAh.AsSpan(0, rows * g), g, 1f, grads.RecurrentKernel, g);

        // Sums over the kept rows in row order: the same bits for any thread count.
        var keep = k.Keep.AsSpan(0, rows);
        for (int r = 0; r < rows; r++)
        {
            if (keep[r] == 0f)
            {
                continue;
            }

            var dz = k.Gates.AsSpan(r * g, g);
            if (UseBias) TensorPrimitives.Add(grads.Bias, dz, grads.Bias);
            TensorPrimitives.FusedMultiplyAdd(dz, k.Ax.AsSpan(r * g, g), grads.InputGamma, grads.InputGamma);
            TensorPrimitives.FusedMultiplyAdd(dz, k.Ah.AsSpan(r * g, g), grads.RecurrentGamma, grads.RecurrentGamma);
            var dl = dL.AsSpan(r * n, n);
            TensorPrimitives.FusedMultiplyAdd(dl, k.CHat.AsSpan(r * n, n), grads.CellGamma, grads.CellGamma);
            TensorPrimitives.Add(grads.CellBeta, dl, grads.CellBeta);
        }

        if (!dxm.IsEmpty)
        {
            Gemm.Sgemm(false, true, rows, f, g, 1f, daxAll, g, weights.Kernel, g, 0f, dxm, f);
        }
    }
}
