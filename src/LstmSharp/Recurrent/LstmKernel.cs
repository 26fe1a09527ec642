using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The LSTM sequence kernel: forward over a whole batch of sequences and its exact backward
/// (BPTT), for every <see cref="LstmVariant"/>. Equations: <see cref="LstmCell"/>. A run without
/// a projection, a token lookup or int8/bf16 weights goes to the shared time-loop driver
/// (<see cref="LstmSequenceKernel"/>, <see cref="OnDriver"/>); batch-1 inference to
/// <see cref="LstmLatencyPath"/>; the rest runs in this kernel's own batch-major loop, described below.
/// </summary>
/// <remarks>
/// <para>Done the cuDNN way: the input projection x·W + b of all steps is one matrix product
/// before the time loop; each step does only the recurrent product h_{t−1}·U and one fused
/// pass over the rows (<see cref="LstmCell"/>). The backward does one fused pass and one
/// product dz·Uᵀ per step, then dW, dU, db and dx as single products over all steps. When x is
/// an embedding lookup (<see cref="SequenceRun.Tokens"/>), the projection and dW, db run over
/// the table's rows instead and the table's gradient replaces dx (<see cref="TokenProjection"/>).</para>
/// <para>Threading: rows of the batch never meet inside the recurrence, so the batch is cut into
/// row chunks (<see cref="BatchChunks"/>) and each <see cref="WorkerPool"/> index runs the
/// WHOLE time loop for its rows — their recurrent products (inline on that thread: a product
/// called inside a pool job does not fork again), their cells and copies — with no
/// synchronisation per step; the backward time loop likewise (fused backward rows, then dz·Uᵀ of
/// those rows). The chunks depend on the batch size only, never on the thread count, so every
/// thread count runs the same products on the same rows and gets the same bits; with one thread,
/// or when the pool is busy, the chunks run one after another on the calling thread. Each chunk
/// writes only its own rows of the [batch, …] state and scratch buffers and reads the shared
/// weights and Uᵀ. A batch too small to split (one chunk) keeps the per-step form: the products
/// thread themselves and the row work forks per step when it is large enough. The
/// whole-sequence products before and after the loops (x·W, dW, dU, dx) thread internally.</para>
/// <para>An instance holds scratch for one call at a time (not thread-safe): a layer owns one
/// per direction. The buffers a backward needs live in an <see cref="LstmCache"/> the caller
/// passes to a training forward; an inference forward (cache = null) keeps no activations.</para>
/// </remarks>
internal sealed partial class LstmKernel : RecurrentKernel
{
    private LstmLatencyPath? latencyPath;
    private LstmSequenceKernel? driver;

    /// <summary>Batch-1 inference through <see cref="LstmLatencyPath"/> (on unless LSTMSHARP_LATENCY_PATH=0; tests set it).</summary>
    internal bool UseLatencyPath { get; set; } = LstmLatencyPath.Enabled;

    /// <summary>The SIMD width of the batch-1 path's products (tests pin <see cref="LaneWidth.Scalar"/>); read when that path is first used.</summary>
    internal LaneWidth Width { get; set; } = LaneWidth.Auto;

    public LstmKernel(LstmLayout layout, string name = "lstm")
        : base("LSTM", name, NotNull(layout).InputSize, layout.Units, layout.OutputSize, layout.GateWidth, cellState: true)
    {
        Layout = layout;
    }

    public LstmLayout Layout { get; }

    private protected override object LayoutKey => Layout;

    private protected override int BiasLength => Layout.BiasLength;

    /// <summary>
    /// Runs the LSTM over <paramref name="run"/>. <paramref name="h0"/>, <paramref name="c0"/>
    /// [batch, units] are the initial states (empty = zeros). With a <paramref name="cache"/>
    /// (training) it saves what <see cref="Backward"/> needs; with null (inference) it keeps nothing.
    /// </summary>
    public void Forward(in SequenceRun run, in LstmWeights weights, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, in RnnOutputs outputs, LstmCache? cache)
    {
        var layout = Layout;
        string owner = OwnerForward;
        CheckRun(owner, run, h0, c0, outputs);
        CheckKernels(owner, weights);
        weights.ValidateCell(owner, layout);
        int units = layout.Units, hs = layout.OutputSize;
        int batch = run.Batch, time = run.Time, inputSize = layout.InputSize, gw = layout.GateWidth;
        int su = layout.WeightedGateCount * units;

        bool training = cache is not null;
        if (UseLatencyPath && weights.QuantizedRecurrentKernel is null && LstmLatencyPath.Supports(layout, run, training))
        {
            (latencyPath ??= new LstmLatencyPath(layout, Width)).Forward(run, weights, h0, c0, outputs);
            return;
        }

        if (OnDriver(run, weights))
        {
            (driver ??= new LstmSequenceKernel(layout, Name)).Forward(run, weights, h0, c0, outputs, cache);
            return;
        }

        cache?.Prepare(layout, run);
        int bt = batch * time;
        int bu = batch * units, bh = batch * hs;
        Span<float> z = training ? cache!.Gates.AsSpan(0, bt * gw) : Scratch(ref zScratch, bt * gw);
        var h = Scratch(ref hState, bh);
        var c = Scratch(ref cState, bu);
        var y = Scratch(ref yState, bh);
        if (layout.HasProjection)
        {
            Scratch(ref projected, bh);
            if (!training) Scratch(ref unprojected, bu);
        }

        var g = layout.HasGateRecurrence ? Scratch(ref gState, batch * su) : [];
        if (h0.IsEmpty) h.Clear(); else h0.CopyTo(h);
        if (c0.IsEmpty) c.Clear(); else c0.CopyTo(c);
        y.Clear();
        g.Clear();
        if (training)
        {
            c.CopyTo(cache!.Cell0);
        }

        // Input projection of every step at once: Z = (x ⊙ m_x)·W + b.
        ReadOnlySpan<float> xs = run.X;
        if (!run.InputDropoutMask.IsEmpty)
        {
            var xd = training ? cache!.XDropped.AsSpan(0, bt * inputSize) : Scratch(ref xScratch, bt * inputSize);
            for (int b = 0; b < batch; b++)
            {
                var m = run.InputDropoutMask.Slice(b * inputSize, inputSize);
                for (int t = 0; t < time; t++)
                {
                    int r = ((b * time) + t) * inputSize;
                    TensorPrimitives.Multiply(run.X.Slice(r, inputSize), m, xd.Slice(r, inputSize));
                }
            }

            xs = xd;
        }

        if (run.HasTokens && weights.QuantizedKernel is null)
        {
            TokenProjection.Forward(run, weights.Kernel, weights.Bias, gw, z, ref tableProjection);
        }
        else
        {
            if (layout.UseBias)
            {
                for (int r = 0; r < bt; r++)
                {
                    weights.Bias.CopyTo(z.Slice(r * gw, gw));
                }
            }

            if (weights.QuantizedKernel is { } qw)
            {
                if (!layout.UseBias) z.Clear();
                QuantizedGemm.MultiplyAddParallel(qw, bt, xs, inputSize, z, gw, Width);
            }
            else
            {
                Gemm.Sgemm(false, false, bt, gw, inputSize, 1f, xs, inputSize, weights.Kernel, gw, layout.UseBias ? 1f : 0f, z, gw);
            }
        }

        if (!training)
        {
            // One step of recurrent inputs; a training forward keeps every step's in the cache.
            Scratch(ref hpScratch, bh);
            if (layout.HasGateRecurrence) Scratch(ref gpScratch, batch * su);
        }

        PlaceRecurrentInputs(run, cache, run.TimeIndex(0), 0, batch);
        int chunks = BatchChunks.Count(batch);
        if (chunks == 1)
        {
            ForwardSteps(run, weights, outputs, cache, 0, batch);
        }
        else
        {
            WorkerPool.Shared.For(chunks, new ChunkJob(this, run, weights, outputs, default, cache, chunks, backward: false));
        }

        if (!outputs.Last.IsEmpty) y.CopyTo(outputs.Last);
        if (!outputs.H.IsEmpty) h.CopyTo(outputs.H);
        if (!outputs.C.IsEmpty) c.CopyTo(outputs.C);
        if (training)
        {
            cache!.IsReady = true;
        }
    }

    /// <summary>
    /// Backpropagates <paramref name="dOut"/> through the forward saved in <paramref name="cache"/>
    /// (called with the same <paramref name="run"/> and <paramref name="weights"/>), accumulating
    /// the parameter gradients and writing dx, dh_0, dc_0. Consumes the cache.
    /// </summary>
    public void Backward(in SequenceRun run, in LstmWeights weights, LstmCache cache, in RnnOutputGradients dOut, in LstmGradients grads)
    {
        ArgumentNullException.ThrowIfNull(cache);
        var layout = Layout;
        string owner = OwnerBackward;
        run.Validate(owner, layout.InputSize, layout.OutputSize);
        CheckKernels(owner, weights);
        weights.ValidateCell(owner, layout);
        cache.CheckMatches(owner, layout, run);
        CheckKernelGradients(owner, run, dOut, grads);
        grads.ValidateCell(owner, layout, run);
        if (OnDriver(run, weights))
        {
            (driver ??= new LstmSequenceKernel(layout, Name)).Backward(run, weights, cache, dOut, grads);
            return;
        }

        int units = layout.Units, hs = layout.OutputSize;
        int batch = run.Batch, time = run.Time, inputSize = layout.InputSize, gw = layout.GateWidth;
        int su = layout.WeightedGateCount * units;

        int bt = batch * time, bu = batch * units, bh = batch * hs;
        var dz = cache.Gates.AsSpan(0, bt * gw);
        var cell = cache.Cell.AsSpan(0, bt * units);
        var cell0 = cache.Cell0.AsSpan(0, bu);
        var dh = Scratch(ref dhState, bh);
        var dc = Scratch(ref dcState, bu);
        var dg = layout.HasGateRecurrence ? Scratch(ref dgState, batch * su) : [];
        Scratch(ref dhRec, bh);
        if (layout.HasGateRecurrence) Scratch(ref dgRec, batch * su);
        if (layout.HasProjection) Scratch(ref dUnprojected, bu);
        var carry = Scratch(ref dyCarry, bh);
        Scratch(ref dhTotal, bh);
        if (dOut.H.IsEmpty) dh.Clear(); else dOut.H.CopyTo(dh);
        if (dOut.C.IsEmpty) dc.Clear(); else dOut.C.CopyTo(dc);
        dg.Clear();
        carry.Clear();

        // Uᵀ once, so each step's dz·Uᵀ is a plain product.
        var ut = Scratch(ref uTransposed, gw * hs);
        RnnRun.Transpose(weights.RecurrentKernel, hs, gw, ut);
        int chunks = BatchChunks.Count(batch);
        if (chunks == 1)
        {
            BackwardSteps(run, weights, dOut, cache, 0, batch);
        }
        else
        {
            WorkerPool.Shared.For(chunks, new ChunkJob(this, run, weights, default, dOut, cache, chunks, backward: true));
        }

        TakeRecurrentGradients(run, run.TimeIndex(0), 0, batch);

        if (!grads.InitialH.IsEmpty) dh.CopyTo(grads.InitialH);
        if (!grads.InitialC.IsEmpty) dc.CopyTo(grads.InitialC);

        // Whole-sequence products; masked rows of dz are zero and add nothing.
        if (run.HasTokens)
        {
            TokenProjection.Backward(run, dz, weights.Kernel, gw, grads.Kernel, grads.Bias, grads.Table, ref tableScatter);
        }
        else
        {
            ReadOnlySpan<float> xs = run.InputDropoutMask.IsEmpty ? run.X : cache.XDropped.AsSpan(0, bt * inputSize);
            Gemm.Sgemm(true, false, inputSize, gw, bt, 1f, xs, inputSize, dz, gw, 1f, grads.Kernel, gw);
            if (layout.UseBias)
            {
                for (int r = 0; r < bt; r++)
                {
                    TensorPrimitives.Add(grads.Bias, dz.Slice(r * gw, gw), grads.Bias);
                }
            }
        }

        Gemm.Sgemm(true, false, hs, gw, bt, 1f, cache.HPrev.AsSpan(0, bt * hs), hs, dz, gw, 1f, grads.RecurrentKernel, gw);
        if (layout.HasProjection)
        {
            // dW_p += Σ_t m_tᵀ ∂L/∂h_t; masked rows of both are zero.
            Gemm.Sgemm(true, false, units, hs, bt, 1f, cache.Unprojected.AsSpan(0, bt * units), units, cache.DProjected.AsSpan(0, bt * hs), hs, 1f, grads.Projection, hs);
        }

        if (layout.HasGateRecurrence)
        {
            var gp = cache.GatesPrev.AsSpan(0, bt * su);
            foreach (var gate in LstmCell.WeightedGates)
            {
                int k = layout.WeightedGateIndex(gate);
                if (k >= 0)
                {
                    Gemm.Sgemm(true, false, su, units, bt, 1f, gp, su, dz[layout.BlockOffset(gate)..], gw, 1f, grads.GateRecurrence[(k * units)..], su);
                }
            }
        }

        if (layout.HasPeepholes)
        {
            AccumulatePeepholeGradient(layout, run, dz, cell, cell0, grads.Peephole);
        }

        if (!grads.Input.IsEmpty)
        {
            var wt = Scratch(ref wTransposed, gw * inputSize);
            RnnRun.Transpose(weights.Kernel, inputSize, gw, wt);
            Gemm.Sgemm(false, false, bt, inputSize, gw, 1f, dz, gw, wt, inputSize, 0f, grads.Input, inputSize);
            if (!run.InputDropoutMask.IsEmpty)
            {
                for (int b = 0; b < batch; b++)
                {
                    var m = run.InputDropoutMask.Slice(b * inputSize, inputSize);
                    for (int t = 0; t < time; t++)
                    {
                        var dx = grads.Input.Slice(((b * time) + t) * inputSize, inputSize);
                        TensorPrimitives.Multiply(dx, m, dx);
                    }
                }
            }
        }

        cache.IsReady = false;
    }

    /// <summary>
    /// The whole time loop for rows [b0, b1): per step the recurrent product h_{t−1}·U (and the
    /// FGR products) of these rows, then their cell. Inside a <see cref="ChunkJob"/>
    /// the products run inline on the job's thread and the row work stays with it; for the whole
    /// batch on the calling thread (one chunk) the products thread themselves and the row work
    /// forks per step once it is large enough.
    /// </summary>
    private void ForwardSteps(in SequenceRun run, in LstmWeights weights, in RnnOutputs outputs, LstmCache? cache, int b0, int b1)
    {
        var layout = Layout;
        int units = layout.Units, hs = layout.OutputSize, gw = layout.GateWidth, time = run.Time, su = layout.WeightedGateCount * units;
        int rows = b1 - b0;
        bool training = cache is not null;
        Span<float> z = training ? cache!.Gates.AsSpan() : zScratch.AsSpan();
        Span<float> hp = training ? cache!.HPrev.AsSpan() : hpScratch.AsSpan();
        Span<float> gp = !layout.HasGateRecurrence ? [] : training ? cache!.GatesPrev.AsSpan() : gpScratch.AsSpan();
        int rowChunks = rows == run.Batch ? RowChunks(rows, gw) : 1;
        var job = new ChunkJob(this, run, weights, outputs, default, cache, rowChunks, backward: false);
        for (int s = 0; s < time; s++)
        {
            int t = run.TimeIndex(s);

            // Row b of the cache's [batch, time, ·] buffers starts at (b·time + t); inference scratch is [batch, ·].
            int zRow = (b0 * time) + t;
            int hpRow = training ? zRow : b0, hpLd = training ? time * hs : hs;
            if (weights.QuantizedRecurrentKernel is { } qu)
            {
                QuantizedGemm.MultiplyAdd(qu, rows, hp[(hpRow * hs)..], hpLd, z[(zRow * gw)..], time * gw, Width);
            }
            else
            {
                Gemm.Sgemm(false, false, rows, gw, hs, 1f, hp[(hpRow * hs)..], hpLd, weights.RecurrentKernel, gw, 1f, z[(zRow * gw)..], time * gw);
            }
            if (layout.HasGateRecurrence)
            {
                int gpLd = training ? time * su : su;
                foreach (var gate in LstmCell.WeightedGates)
                {
                    int k = layout.WeightedGateIndex(gate);
                    if (k >= 0)
                    {
                        Gemm.Sgemm(false, false, rows, units, su, 1f, gp[(hpRow * su)..], gpLd, weights.GateRecurrence[(k * units)..], su, 1f, z[((zRow * gw) + layout.BlockOffset(gate))..], time * gw);
                    }
                }
            }

            if (rowChunks == 1)
            {
                ForwardRows(run, weights, outputs, cache, s, b0, b1);
            }
            else
            {
                job.Step = s;
                WorkerPool.Shared.For(rowChunks, job);
            }

            if (layout.HasProjection)
            {
                ProjectRows(run, weights, outputs, cache, s, b0, b1);
            }
        }
    }

    /// <summary>
    /// The backward time loop for rows [b0, b1): per step their fused backward cell, then
    /// dz·Uᵀ (and the FGR products) of these rows; threading as <see cref="ForwardSteps"/>.
    /// </summary>
    private void BackwardSteps(in SequenceRun run, in LstmWeights weights, in RnnOutputGradients dOut, LstmCache cache, int b0, int b1)
    {
        var layout = Layout;
        int units = layout.Units, hs = layout.OutputSize, gw = layout.GateWidth, time = run.Time, su = layout.WeightedGateCount * units;
        int rows = b1 - b0;
        Span<float> dz = cache.Gates.AsSpan();
        var ut = uTransposed.AsSpan(0, gw * hs);
        var dhr = dhRec.AsSpan(b0 * hs, rows * hs);
        Span<float> dgr = layout.HasGateRecurrence ? dgRec.AsSpan(b0 * su, rows * su) : [];
        int rowChunks = rows == run.Batch ? RowChunks(rows, gw) : 1;
        var job = new ChunkJob(this, run, weights, default, dOut, cache, rowChunks, backward: true);
        for (int s = time - 1; s >= 0; s--)
        {
            int t = run.TimeIndex(s);
            if (layout.HasProjection)
            {
                UnprojectGradients(run, weights, dOut, cache, s, b0, b1);
            }

            if (rowChunks == 1)
            {
                BackwardRows(run, weights, dOut, cache, s, b0, b1);
            }
            else
            {
                job.Step = s;
                WorkerPool.Shared.For(rowChunks, job);
            }

            int zRow = (b0 * time) + t;
            Gemm.Sgemm(false, false, rows, hs, gw, 1f, dz[(zRow * gw)..], time * gw, ut, hs, 0f, dhr, hs);
            if (layout.HasGateRecurrence)
            {
                bool first = true;
                foreach (var gate in LstmCell.WeightedGates)
                {
                    int k = layout.WeightedGateIndex(gate);
                    if (k >= 0)
                    {
                        Gemm.Sgemm(false, true, rows, su, units, 1f, dz[((zRow * gw) + layout.BlockOffset(gate))..], time * gw, weights.GateRecurrence[(k * units)..], su, first ? 0f : 1f, dgr, su);
                        first = false;
                    }
                }
            }
        }
    }

    /// <summary>
    /// The cell of processing step <paramref name="s"/> for rows [b0, b1): gates, states,
    /// outputs, saved cell, and the next step's recurrent inputs. Rows are independent, so
    /// any split over threads gives the same bits.
    /// </summary>
    private void ForwardRows(in SequenceRun run, in LstmWeights weights, in RnnOutputs outputs, LstmCache? cache, int s, int b0, int b1)
    {
        var layout = Layout;
        int units = layout.Units, gw = layout.GateWidth, time = run.Time, su = layout.WeightedGateCount * units;
        int t = run.TimeIndex(s);
        bool training = cache is not null, proj = layout.HasProjection;
        var z = training ? cache!.Gates.AsSpan() : zScratch.AsSpan();
        for (int b = b0; b < b1; b++)
        {
            int r = (b * time) + t;
            var yb = proj ? default : yState.AsSpan(b * units, units);
            var cb = cState.AsSpan(b * units, units);

            // With a projection the cell's output is m_t (kept for dW_p when training); ProjectRows makes h_t of it.
            var mb = !proj ? default : training ? cache!.Unprojected.AsSpan(r * units, units) : unprojected.AsSpan(b * units, units);
            if (run.IsValid(b, t))
            {
                var hb = proj ? mb : hState.AsSpan(b * units, units);
                LstmCell.ForwardRowUnchecked(layout, z.Slice(r * gw, gw), cb, hb, weights.Peephole, layout.HasGateRecurrence ? gState.AsSpan(b * su, su) : []);
                if (!proj) hb.CopyTo(yb);
            }
            else if (proj)
            {
                mb.Clear();
            }
            else if (run.ZeroOutputForMask)
            {
                yb.Clear();
            }

            if (!proj && !outputs.Sequence.IsEmpty)
            {
                yb.CopyTo(outputs.Sequence.Slice(((b * time) + s) * units, units));
            }

            if (training)
            {
                cb.CopyTo(cache!.Cell.AsSpan(r * units, units));
            }

            if (s + 1 < time && gw <= PrefetchMaxGateWidth)
            {
                // The next step's rows of the [batch, time, ·] buffers lie time rows apart, one
                // stream per row, too many for the hardware prefetcher: ask for them a step ahead.
                int rn = (b * time) + run.TimeIndex(s + 1);
                Prefetch(z, rn * gw, gw);
                if (training)
                {
                    Prefetch(cache!.Cell, rn * units, units);
                    Prefetch(cache.HPrev, rn * units, units);
                }

                Prefetch(outputs.Sequence, ((b * time) + s + 1) * units, units);
            }
        }

        if (s + 1 < time && !proj)
        {
            PlaceRecurrentInputs(run, cache, run.TimeIndex(s + 1), b0, b1);
        }
    }

    /// <summary>
    /// Backward cell of processing step <paramref name="s"/> for rows [b0, b1); first turns the
    /// previous iteration's recurrent product (step s+1) into ∂L/∂h_s and the FGR state gradient.
    /// </summary>
    private void BackwardRows(in SequenceRun run, in LstmWeights weights, in RnnOutputGradients dOut, LstmCache cache, int s, int b0, int b1)
    {
        var layout = Layout;
        int units = layout.Units, gw = layout.GateWidth, time = run.Time, su = layout.WeightedGateCount * units;
        bool proj = layout.HasProjection;
        if (s + 1 < time && !proj)
        {
            TakeRecurrentGradients(run, run.TimeIndex(s + 1), b0, b1);
        }

        int t = run.TimeIndex(s);
        int tPrev = s > 0 ? run.TimeIndex(s - 1) : -1;
        var dz = cache.Gates.AsSpan();
        var cell = cache.Cell.AsSpan();
        for (int b = b0; b < b1; b++)
        {
            int r = (b * time) + t;
            var carryB = proj ? default : dyCarry.AsSpan(b * units, units);

            // ∂L/∂y_s: the output sequence, the last output, and what masked later steps passed back
            // (with a projection UnprojectGradients did this and left ∂L/∂m_t in dUnprojected).
            if (!proj && !dOut.Sequence.IsEmpty) TensorPrimitives.Add(carryB, dOut.Sequence.Slice(((b * time) + s) * units, units), carryB);
            if (!proj && s == time - 1 && !dOut.Last.IsEmpty) TensorPrimitives.Add(carryB, dOut.Last.Slice(b * units, units), carryB);

            if (run.IsValid(b, t))
            {
                var dht = proj ? dUnprojected.AsSpan(b * units, units) : dhTotal.AsSpan(b * units, units);
                if (!proj)
                {
                    TensorPrimitives.Add(dhState.AsSpan(b * units, units), carryB, dht);
                    carryB.Clear();
                }

                var cPrev = tPrev >= 0 ? cell.Slice(((b * time) + tPrev) * units, units) : cache.Cell0.AsSpan(b * units, units);
                LstmCell.BackwardRowUnchecked(layout, dz.Slice(r * gw, gw), dht, dcState.AsSpan(b * units, units), cell.Slice(r * units, units), cPrev, weights.Peephole, layout.HasGateRecurrence ? dgState.AsSpan(b * su, su) : []);
            }
            else
            {
                dz.Slice(r * gw, gw).Clear();
                if (run.ZeroOutputForMask && !proj)
                {
                    carryB.Clear();
                }
            }

            if (tPrev >= 0 && gw <= PrefetchMaxGateWidth)
            {
                // The previous step's rows (see ForwardRows): its gates, c_t, c_{t−1} and output gradient.
                int rp = (b * time) + tPrev;
                Prefetch(dz, rp * gw, gw);
                Prefetch(cell, rp * units, units);
                if (s > 1) Prefetch(cell, ((b * time) + run.TimeIndex(s - 2)) * units, units);
                if (!proj) Prefetch(dOut.Sequence, ((b * time) + s - 1) * units, units);
            }
        }
    }

    /// <summary>dp_i += Σ dz_i ⊙ c_{t−1}, dp_f += Σ dz_f ⊙ c_{t−1}, dp_o += Σ dz_o ⊙ c_t over all rows.</summary>
    private static void AccumulatePeepholeGradient(LstmLayout layout, in SequenceRun run, ReadOnlySpan<float> dz, ReadOnlySpan<float> cell, ReadOnlySpan<float> cell0, Span<float> dPeephole)
    {
        int units = layout.Units, gw = layout.GateWidth, time = run.Time;
        foreach (var gate in LstmCell.WeightedGates)
        {
            int k = layout.WeightedGateIndex(gate);
            if (k < 0)
            {
                continue;
            }

            var dp = dPeephole.Slice(k * units, units);
            int off = layout.BlockOffset(gate);
            for (int b = 0; b < run.Batch; b++)
            {
                for (int s = 0; s < time; s++)
                {
                    int t = run.TimeIndex(s);
                    int r = (b * time) + t;
                    ReadOnlySpan<float> c;
                    if (gate == LstmGate.Output) c = cell.Slice(r * units, units);
                    else if (s > 0) c = cell.Slice(((b * time) + run.TimeIndex(s - 1)) * units, units);
                    else c = cell0.Slice(b * units, units);
                    TensorPrimitives.FusedMultiplyAdd(dz.Slice((r * gw) + off, units), c, dp, dp);
                }
            }
        }
    }

    /// <summary>
    /// Whether the run goes to the shared driver (<see cref="LstmSequenceKernel"/>) instead of this
    /// kernel's own batch-major loop, which still serves a projection, a token lookup and int8/bf16
    /// weights. Depends on the layout, the run and the weights only (never on the thread count),
    /// so every thread count takes the same path.
    /// </summary>
    internal bool OnDriver(in SequenceRun run, in LstmWeights weights) =>
        !Layout.HasProjection && !run.HasTokens && weights.QuantizedKernel is null && weights.QuantizedRecurrentKernel is null;

    private static LstmLayout NotNull(LstmLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        return layout;
    }
}
