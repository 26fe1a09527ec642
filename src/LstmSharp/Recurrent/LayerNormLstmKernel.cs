using System.Numerics.Tensors;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The sequence kernel of <see cref="LayerNormLSTM"/>: forward and exact BPTT over a batch,
/// equations in <see cref="LayerNormLstmCell"/>. As <see cref="LstmKernel"/>: x·W of every step
/// is one product before the time loop; per step h·U of a batch chunk is one product, then the
/// rows' cells; the backward does per step the rows' backward cells and one product da_h·Uᵀ, then
/// dW, dU, dx as whole-sequence products and the gains' and bias' gradients as sums over rows
/// in a fixed order. Each <see cref="BatchChunks"/> chunk runs its whole time loop on one pool
/// thread, so every thread count gives the same bits. Masks, go_backwards, initial states and
/// both dropout masks follow <see cref="SequenceRun"/>. Inference keeps its buffers in a
/// scratch cache of the same layout (not thread-safe: one kernel per layer).
/// </summary>
internal sealed class LayerNormLstmKernel(int inputSize, int units, bool useBias, ActivationKind activation, ActivationKind recurrentActivation, float epsilon, string name)
{
    private readonly LayerNormLstmCache scratch = new();
    private float[] hState = [], cState = [], yState = [], dhState = [], dcState = [], dhRec = [], carry = [], dhTotal = [], uT = [], wT = [];

    public int InputSize { get; } = inputSize;

    public int Units { get; } = units;

    public bool UseBias { get; } = useBias;

    private string Owner => $"LayerNormLSTM '{name}'";

    /// <summary>Runs the sequence; <paramref name="cache"/> = null is inference (kept nothing for a backward).</summary>
    public void Forward(in SequenceRun run, in LayerNormLstmWeights w, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, Span<float> sequence, Span<float> last, Span<float> hOut, Span<float> cOut, LayerNormLstmCache? cache)
    {
        int n = Units, gw = 4 * n, batch = run.Batch, time = run.Time, bt = batch * time;
        run.Validate(Owner, InputSize, n);
        w.Validate(Owner, InputSize, n, UseBias);
        SequenceRun.CheckLength(Owner, "initial h", h0.Length, true, batch, n);
        SequenceRun.CheckLength(Owner, "initial c", c0.Length, true, batch, n);
        SequenceRun.CheckLength(Owner, "output sequence", sequence.Length, true, batch, time, n);
        SequenceRun.CheckLength(Owner, "last output", last.Length, true, batch, n);
        SequenceRun.CheckLength(Owner, "final h", hOut.Length, true, batch, n);
        SequenceRun.CheckLength(Owner, "final c", cOut.Length, true, batch, n);
        var k = cache ?? scratch;
        k.Prepare(run, InputSize, n);
        var h = Grow(ref hState, batch * n);
        var c = Grow(ref cState, batch * n);
        var y = Grow(ref yState, batch * n);
        if (h0.IsEmpty) h.Clear(); else h0.CopyTo(h);
        if (c0.IsEmpty) c.Clear(); else c0.CopyTo(c);
        y.Clear();
        c.CopyTo(k.Cell0);
        ReadOnlySpan<float> xs = run.X;
        if (!run.InputDropoutMask.IsEmpty)
        {
            for (int r = 0; r < bt; r++)
            {
                TensorPrimitives.Multiply(run.X.Slice(r * InputSize, InputSize), run.InputDropoutMask.Slice(r / time * InputSize, InputSize), k.XDropped.AsSpan(r * InputSize, InputSize));
            }

            xs = k.XDropped.AsSpan(0, bt * InputSize);
        }

        Gemm.Sgemm(false, false, bt, gw, InputSize, 1f, xs, InputSize, w.Kernel, gw, 0f, k.Ax, gw);
        int chunks = BatchChunks.Count(batch);
        var outputs = new Outputs { Sequence = sequence };
        if (chunks == 1)
        {
            ForwardSteps(run, w, outputs, k, 0, batch);
        }
        else
        {
            WorkerPool.Shared.For(chunks, new ForwardJob(this, run, w, outputs, k, chunks));
        }

        if (!last.IsEmpty) y.CopyTo(last);
        if (!hOut.IsEmpty) h.CopyTo(hOut);
        if (!cOut.IsEmpty) c.CopyTo(cOut);
        k.IsReady = cache is not null;
    }

    /// <summary>BPTT of the forward saved in <paramref name="cache"/>: accumulates the parameter gradients, writes dx, dh_0, dc_0 (each optional).</summary>
    public void Backward(in SequenceRun run, in LayerNormLstmWeights w, LayerNormLstmCache cache, ReadOnlySpan<float> dSequence, ReadOnlySpan<float> dLast, ReadOnlySpan<float> dH, ReadOnlySpan<float> dC, in LayerNormLstmGradients g)
    {
        int n = Units, gw = 4 * n, batch = run.Batch, time = run.Time, bt = batch * time, f = InputSize;
        string owner = Owner + " backward";
        run.Validate(owner, f, n);
        w.Validate(owner, f, n, UseBias);
        cache.CheckMatches(owner, run, f, n);
        SequenceRun.CheckLength(owner, "d(output sequence)", dSequence.Length, true, batch, time, n);
        SequenceRun.CheckLength(owner, "d(last output)", dLast.Length, true, batch, n);
        SequenceRun.CheckLength(owner, "d(final h)", dH.Length, true, batch, n);
        SequenceRun.CheckLength(owner, "d(final c)", dC.Length, true, batch, n);
        g.Validate(owner, run, f, n, UseBias);
        var dh = Grow(ref dhState, batch * n);
        var dc = Grow(ref dcState, batch * n);
        Grow(ref dhRec, batch * n);
        Grow(ref dhTotal, batch * n);
        Grow(ref carry, batch * n).Clear();
        if (dH.IsEmpty) dh.Clear(); else dH.CopyTo(dh);
        if (dC.IsEmpty) dc.Clear(); else dC.CopyTo(dc);
        RnnRun.Transpose(w.RecurrentKernel, n, gw, Grow(ref uT, gw * n));
        int chunks = BatchChunks.Count(batch);
        var dOut = new Outputs { DSequence = dSequence, DLast = dLast };
        if (chunks == 1)
        {
            BackwardSteps(run, w, dOut, cache, 0, batch);
        }
        else
        {
            WorkerPool.Shared.For(chunks, new BackwardJob(this, run, w, dOut, cache, chunks));
        }

        if (!g.InitialH.IsEmpty) dh.CopyTo(g.InitialH);
        if (!g.InitialC.IsEmpty) dc.CopyTo(g.InitialC);
        ReadOnlySpan<float> xs = run.InputDropoutMask.IsEmpty ? run.X : cache.XDropped.AsSpan(0, bt * f);
        Gemm.Sgemm(true, false, f, gw, bt, 1f, xs, f, cache.DAx, gw, 1f, g.Kernel, gw);
        Gemm.Sgemm(true, false, n, gw, bt, 1f, cache.HPrev, n, cache.DAh, gw, 1f, g.RecurrentKernel, gw);

        // Sums over rows in row order (masked rows hold zeros): the same bits for any thread count.
        for (int r = 0; r < bt; r++)
        {
            var dz = cache.Gates.AsSpan(r * gw, gw);
            if (UseBias) TensorPrimitives.Add(g.Bias, dz, g.Bias);
            TensorPrimitives.FusedMultiplyAdd(dz, cache.Ax.AsSpan(r * gw, gw), g.InputGamma, g.InputGamma);
            TensorPrimitives.FusedMultiplyAdd(dz, cache.Ah.AsSpan(r * gw, gw), g.RecurrentGamma, g.RecurrentGamma);
            var dl = cache.DL.AsSpan(r * n, n);
            TensorPrimitives.FusedMultiplyAdd(dl, cache.CHat.AsSpan(r * n, n), g.CellGamma, g.CellGamma);
            TensorPrimitives.Add(g.CellBeta, dl, g.CellBeta);
        }

        if (!g.Input.IsEmpty)
        {
            RnnRun.Transpose(w.Kernel, f, gw, Grow(ref wT, gw * f));
            Gemm.Sgemm(false, false, bt, f, gw, 1f, cache.DAx, gw, wT.AsSpan(0, gw * f), f, 0f, g.Input, f);
            if (!run.InputDropoutMask.IsEmpty)
            {
                for (int r = 0; r < bt; r++)
                {
                    var dx = g.Input.Slice(r * f, f);
                    TensorPrimitives.Multiply(dx, run.InputDropoutMask.Slice(r / time * f, f), dx);
                }
            }
        }

        cache.IsReady = false;
    }

    private void ForwardSteps(in SequenceRun run, in LayerNormLstmWeights w, in Outputs outputs, LayerNormLstmCache k, int b0, int b1)
    {
        int n = Units, gw = 4 * n, time = run.Time, rows = b1 - b0;
        var norms = w.NormsWith(epsilon);
        for (int s = 0; s < time; s++)
        {
            int t = run.TimeIndex(s);
            for (int b = b0; b < b1; b++)
            {
                var dst = k.HPrev.AsSpan(((b * time) + t) * n, n);
                if (run.RecurrentDropoutMask.IsEmpty) hState.AsSpan(b * n, n).CopyTo(dst);
                else TensorPrimitives.Multiply(hState.AsSpan(b * n, n), run.RecurrentDropoutMask.Slice(b * n, n), dst);
            }

            int r0 = (b0 * time) + t;
            Gemm.Sgemm(false, false, rows, gw, n, 1f, k.HPrev.AsSpan(r0 * n), time * n, w.RecurrentKernel, gw, 0f, k.Ah.AsSpan(r0 * gw), time * gw);
            for (int b = b0; b < b1; b++)
            {
                int r = (b * time) + t;
                var yb = yState.AsSpan(b * n, n);
                var cb = cState.AsSpan(b * n, n);
                if (run.IsValid(b, t))
                {
                    var hb = hState.AsSpan(b * n, n);
                    k.Rc[r] = LayerNormLstmCell.ForwardRow(
                        n, activation, recurrentActivation, k.Ax.AsSpan(r * gw, gw), k.Ah.AsSpan(r * gw, gw), k.Rx.AsSpan(r * 4, 4), k.Rh.AsSpan(r * 4, 4),
                        norms, k.Gates.AsSpan(r * gw, gw), cb, k.CHat.AsSpan(r * n, n), hb);
                    hb.CopyTo(yb);
                }
                else if (run.ZeroOutputForMask)
                {
                    yb.Clear();
                }

                cb.CopyTo(k.Cell.AsSpan(r * n, n));
                if (!outputs.Sequence.IsEmpty) yb.CopyTo(outputs.Sequence.Slice(((b * time) + s) * n, n));
            }
        }
    }

    private void BackwardSteps(in SequenceRun run, in LayerNormLstmWeights w, in Outputs dOut, LayerNormLstmCache k, int b0, int b1)
    {
        int n = Units, gw = 4 * n, time = run.Time, rows = b1 - b0;
        var norms = w.NormsWith(epsilon);
        for (int s = time - 1; s >= 0; s--)
        {
            int t = run.TimeIndex(s);
            int tPrev = s > 0 ? run.TimeIndex(s - 1) : -1;
            for (int b = b0; b < b1; b++)
            {
                int r = (b * time) + t;
                var cb = carry.AsSpan(b * n, n);
                if (!dOut.DSequence.IsEmpty) TensorPrimitives.Add(cb, dOut.DSequence.Slice(((b * time) + s) * n, n), cb);
                if (s == time - 1 && !dOut.DLast.IsEmpty) TensorPrimitives.Add(cb, dOut.DLast.Slice(b * n, n), cb);
                if (run.IsValid(b, t))
                {
                    var dht = dhTotal.AsSpan(b * n, n);
                    TensorPrimitives.Add(dhState.AsSpan(b * n, n), cb, dht);
                    cb.Clear();
                    var cPrev = tPrev >= 0 ? k.Cell.AsSpan(((b * time) + tPrev) * n, n) : k.Cell0.AsSpan(b * n, n);
                    LayerNormLstmCell.BackwardRow(
                        n, activation, recurrentActivation, norms, k.Ax.AsSpan(r * gw, gw), k.Ah.AsSpan(r * gw, gw), k.Rx.AsSpan(r * 4, 4), k.Rh.AsSpan(r * 4, 4),
                        k.Gates.AsSpan(r * gw, gw), k.Cell.AsSpan(r * n, n), cPrev, k.CHat.AsSpan(r * n, n), k.Rc[r],
                        dht, dcState.AsSpan(b * n, n), k.DAx.AsSpan(r * gw, gw), k.DAh.AsSpan(r * gw, gw), k.DL.AsSpan(r * n, n));
                }
                else
                {
                    k.Gates.AsSpan(r * gw, gw).Clear();
                    k.DAx.AsSpan(r * gw, gw).Clear();
                    k.DAh.AsSpan(r * gw, gw).Clear();
                    k.DL.AsSpan(r * n, n).Clear();
                    k.CHat.AsSpan(r * n, n).Clear();
                    k.Ax.AsSpan(r * gw, gw).Clear();
                    k.Ah.AsSpan(r * gw, gw).Clear();
                    if (run.ZeroOutputForMask) cb.Clear();
                }
            }

            int r0 = (b0 * time) + t;
            Gemm.Sgemm(false, false, rows, n, gw, 1f, k.DAh.AsSpan(r0 * gw), time * gw, uT.AsSpan(0, gw * n), n, 0f, dhRec.AsSpan(b0 * n, rows * n), n);
            for (int b = b0; b < b1; b++)
            {
                if (run.IsValid(b, t))
                {
                    var dhb = dhState.AsSpan(b * n, n);
                    if (run.RecurrentDropoutMask.IsEmpty) dhRec.AsSpan(b * n, n).CopyTo(dhb);
                    else TensorPrimitives.Multiply(dhRec.AsSpan(b * n, n), run.RecurrentDropoutMask.Slice(b * n, n), dhb);
                }
            }
        }
    }

    private static Span<float> Grow(ref float[] buffer, int length)
    {
        LstmCache.Grow(ref buffer, length);
        return buffer.AsSpan(0, length);
    }

    private readonly ref struct Outputs
    {
        public Span<float> Sequence { get; init; }

        public ReadOnlySpan<float> DSequence { get; init; }

        public ReadOnlySpan<float> DLast { get; init; }
    }

    private ref struct ForwardJob(LayerNormLstmKernel kernel, SequenceRun run, LayerNormLstmWeights w, Outputs outputs, LayerNormLstmCache cache, int chunks) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly LayerNormLstmWeights w = w;
        private readonly Outputs outputs = outputs;

        public readonly void Execute(int index) =>
            kernel.ForwardSteps(run, w, outputs, cache, BatchChunks.Start(run.Batch, chunks, index), BatchChunks.Start(run.Batch, chunks, index + 1));
    }

    private ref struct BackwardJob(LayerNormLstmKernel kernel, SequenceRun run, LayerNormLstmWeights w, Outputs dOut, LayerNormLstmCache cache, int chunks) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly LayerNormLstmWeights w = w;
        private readonly Outputs dOut = dOut;

        public readonly void Execute(int index) =>
            kernel.BackwardSteps(run, w, dOut, cache, BatchChunks.Start(run.Batch, chunks, index), BatchChunks.Start(run.Batch, chunks, index + 1));
    }
}
