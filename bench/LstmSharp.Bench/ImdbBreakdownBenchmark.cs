using LstmSharp.Autograd;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Training;
using LsTensor = LstmSharp.Tensors.Tensor;

namespace LstmSharp.Bench;

/// <summary>
/// <c>imdb-breakdown</c>: where the <c>train-imdb</c> step's time goes. Times the whole
/// <c>TrainOnBatch</c> of <c>Sequential[Embedding(5000, 15), LSTM(10), Dense(1, sigmoid)]</c> on
/// token ids [128, 300], then each of its parts alone on the same shapes: the embedding gather
/// and scatter-add, the LSTM kernel's forward and backward, the whole-sequence products inside
/// them, and the Adam step. Also counts the garbage collections and bytes allocated per step.
/// LstmSharp only; the parts overlap (the kernel figures include their products).
/// </summary>
internal static class ImdbBreakdownBenchmark
{
    private const int Batch = 128, Time = 300, Vocab = 5000, Embed = 15, Units = 10;

    public static void Run(string[] args)
    {
        BenchHarness.Header($"imdb-breakdown batch={Batch} time={Time} vocab={Vocab} embed={Embed} units={Units} threads={WorkerPool.Shared.ThreadCount}");
        const string workload = "imdb-breakdown";
        var rng = new Random(11);
        var ids = new float[Batch * Time];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.Next(1, Vocab);
        var labels = new float[Batch];
        for (int i = 0; i < labels.Length; i++) labels[i] = rng.Next(2);
        var x = new LsTensor(ids, Batch, Time);
        var y = new LsTensor(labels, Batch, 1);

        var model = new Sequential([
            new Embedding(Vocab, Embed, inputShape: [Time]),
            new LSTM(Units),
            new Dense(1, activation: "sigmoid"),
        ]);
        var adam = new Adam(0.001);
        model.Compile(adam, "binary_crossentropy");

        if (args.Length == 2 && args[0] == "--steps-only")
        {
            // For an external profiler: N plain steps, no timing.
            for (int i = 0, n = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture); i < n; i++) model.TrainOnBatch(x, y);
            return;
        }

        void Report(string metric, BenchHarness.Timing t)
        {
            BenchHarness.Figure(workload, "lstmsharp", metric, t.Median * 1e3, "ms");
            if (t.Samples > 0)
            {
                BenchHarness.Figure(workload, "lstmsharp", metric + "-min", t.Min * 1e3, "ms");
            }
        }

        // Past tiered compilation (its background compiles take a core) before the first figure.
        for (var warm = System.Diagnostics.Stopwatch.StartNew(); warm.Elapsed.TotalSeconds < 2;) model.TrainOnBatch(x, y);
        var step = BenchHarness.Measure(() => model.TrainOnBatch(x, y), budgetSeconds: 4);
        Report("train-on-batch", step);
        BenchHarness.Diagnostic($"train-on-batch: median {step.Median * 1e3:0.000} ms, min {step.Min * 1e3:0.000}, max {step.Max * 1e3:0.000} over {step.Samples}");

        // Collections and allocation over 50 steps.
        int g0 = GC.CollectionCount(0), g1 = GC.CollectionCount(1), g2 = GC.CollectionCount(2);
        long bytes = GC.GetTotalAllocatedBytes(precise: true);
        const int Steps = 50;
        for (int i = 0; i < Steps; i++) model.TrainOnBatch(x, y);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - bytes;
        BenchHarness.Figure(workload, "lstmsharp", "allocated-per-step", allocated / (double)Steps / 1024, "KiB");
        BenchHarness.Figure(workload, "lstmsharp", "gc0-per-100-steps", (GC.CollectionCount(0) - g0) * 100.0 / Steps, "count");
        BenchHarness.Figure(workload, "lstmsharp", "gc1-per-100-steps", (GC.CollectionCount(1) - g1) * 100.0 / Steps, "count");
        BenchHarness.Figure(workload, "lstmsharp", "gc2-per-100-steps", (GC.CollectionCount(2) - g2) * 100.0 / Steps, "count");

        // Forward + backward without the optimizer (the tape, all layers, the loss).
        var parameters = model.TrainableParameters;
        var loss = new BinaryCrossentropyProbe();
        var stepArena = new StepArena();
        Report("forward-backward", BenchHarness.Measure(
            () =>
            {
                using var step = StepArena.Enter(stepArena);
                foreach (var p in parameters) p.Grad.Clear();
                using var tape = Tape.Record();
                var pred = model.Call(x, training: true);
                tape.Backward(pred, loss.Grad(pred, y));
            },
            budgetSeconds: 3));
        using (Tape.NoGrad())
        {
            Report("forward-inference", BenchHarness.Measure(
                () =>
                {
                    using var step = StepArena.Enter(stepArena);
                    model.Call(x);
                },
                budgetSeconds: 2));
        }

        var embLayer = (Embedding)model.Layers[0];
        var lstmLayer = (LSTM)model.Layers[1];
        var dLastLayer = new LsTensor(Batch, Units);
        dLastLayer.Fill(0.01f);
        Report("lstm-layer-forward-backward", BenchHarness.Measure(
            () =>
            {
                using var step = StepArena.Enter(stepArena);
                foreach (var p in parameters) p.Grad.Clear();
                using var tape = Tape.Record();
                var e = embLayer.Apply([x], null, true, out _)[0];
                var h = lstmLayer.Apply([e], null, true, out _)[0];
                tape.Backward(h, dLastLayer);
            },
            budgetSeconds: 3));
        Report("adam-step", BenchHarness.Measure(() => adam.Step(parameters), budgetSeconds: 1));
        Report("zero-grads", BenchHarness.Measure(() => { foreach (var p in parameters) p.Grad.Clear(); }, budgetSeconds: 1));

        // Embedding alone.
        var table = ((Embedding)model.Layers[0]).Embeddings.Value;
        using (Tape.NoGrad())
        {
            var arena = new StepArena();
            Report("embedding-op-in-step", BenchHarness.Measure(
                () =>
                {
                    using var step = StepArena.Enter(arena);
                    Ops.Embedding(x, table);
                },
                budgetSeconds: 1));
        }

        var rows = new int[Batch * Time];
        for (int i = 0; i < rows.Length; i++) rows[i] = (int)ids[i];
        var dEmb = new float[Batch * Time * Embed];
        for (int i = 0; i < dEmb.Length; i++) dEmb[i] = (float)(rng.NextDouble() - 0.5);
        var dTable = new float[Vocab * Embed];
        Report("embedding-scatter-add", BenchHarness.Measure(
            () =>
            {
                for (int i = 0; i < rows.Length; i++)
                {
                    System.Numerics.Tensors.TensorPrimitives.Add(dTable.AsSpan(rows[i] * Embed, Embed), dEmb.AsSpan(i * Embed, Embed), dTable.AsSpan(rows[i] * Embed, Embed));
                }
            },
            budgetSeconds: 1));

        // The LSTM kernel alone.
        var layout = new LstmLayout(LstmVariant.Standard, Embed, Units);
        int gw = layout.GateWidth, bt = Batch * Time;
        float[] Rand(int n, float s)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float)(((rng.NextDouble() * 2) - 1) * s);
            return a;
        }

        var w = Rand(Embed * gw, 0.3f);
        var u = Rand(Units * gw, 0.3f);
        var b = Rand(gw, 0.1f);
        var xs = Rand(bt * Embed, 0.05f);
        var last = new float[Batch * Units];
        var dLast = Rand(Batch * Units, 0.1f);
        var dW = new float[w.Length];
        var dU = new float[u.Length];
        var dB = new float[b.Length];
        var dX = new float[xs.Length];
        var kernel = new LstmKernel(layout, "bench");
        var cache = new LstmCache();
        void Forward() => kernel.Forward(new SequenceRun(xs, Batch, Time, Embed), new LstmWeights { Kernel = w, RecurrentKernel = u, Bias = b }, default, default, new RnnOutputs { Last = last }, cache);
        void Backward(bool withDx) => kernel.Backward(new SequenceRun(xs, Batch, Time, Embed), new LstmWeights { Kernel = w, RecurrentKernel = u, Bias = b }, cache, new RnnOutputGradients { Last = dLast }, new LstmGradients { Kernel = dW, RecurrentKernel = dU, Bias = dB, Input = withDx ? dX : default });
        var tokens = rows;
        var tableValues = Rand(Vocab * Embed, 0.05f);
        var dTokenTable = new float[tableValues.Length];
        SequenceRun TokenRun() => new(xs, Batch, Time, Embed) { Tokens = tokens, TokenTable = tableValues };
        void ForwardTokens() => kernel.Forward(TokenRun(), new LstmWeights { Kernel = w, RecurrentKernel = u, Bias = b }, default, default, new RnnOutputs { Last = last }, cache);
        void BackwardTokens() => kernel.Backward(TokenRun(), new LstmWeights { Kernel = w, RecurrentKernel = u, Bias = b }, cache, new RnnOutputGradients { Last = dLast }, new LstmGradients { Kernel = dW, RecurrentKernel = dU, Bias = dB, Table = dTokenTable });
        float[] projected = [], scattered = [];
        var zTokens = new float[bt * gw];
        Report("token-projection-forward", BenchHarness.Measure(() => TokenProjection.Forward(TokenRun(), w, b, gw, zTokens, ref projected), budgetSeconds: 1));
        Report("token-projection-backward", BenchHarness.Measure(() => TokenProjection.Backward(TokenRun(), zTokens, w, gw, dW, dB, dTokenTable, ref scattered), budgetSeconds: 1));
        var fwdTokens = BenchHarness.Measure(ForwardTokens, budgetSeconds: 2);
        Report("lstm-forward-train-tokens", fwdTokens);
        var bothTokens = BenchHarness.Measure(() => { ForwardTokens(); BackwardTokens(); }, budgetSeconds: 3);
        Report("lstm-backward-tokens", new BenchHarness.Timing(bothTokens.Median - fwdTokens.Median, 0, 0, 0, 0));

        var fwd = BenchHarness.Measure(Forward, budgetSeconds: 2);
        Report("lstm-forward-train", fwd);
        var both = BenchHarness.Measure(() => { Forward(); Backward(true); }, budgetSeconds: 3);
        Report("lstm-backward", new BenchHarness.Timing(both.Median - fwd.Median, 0, 0, 0, 0));
        var noDx = BenchHarness.Measure(() => { Forward(); Backward(false); }, budgetSeconds: 3);
        Report("lstm-backward-no-dx", new BenchHarness.Timing(noDx.Median - fwd.Median, 0, 0, 0, 0));

        // The whole-sequence products inside the kernel.
        var z = new float[bt * gw];
        var hp = Rand(bt * Units, 0.5f);
        Report("gemm-projection-38400x15x40", BenchHarness.Measure(() => Gemm.Sgemm(false, false, bt, gw, Embed, 1f, xs, Embed, w, gw, 1f, z, gw), budgetSeconds: 1));
        Report("gemm-dW-15x38400x40-tA", BenchHarness.Measure(() => Gemm.Sgemm(true, false, Embed, gw, bt, 1f, xs, Embed, z, gw, 1f, dW, gw), budgetSeconds: 1));
        Report("gemm-dU-10x38400x40-tA", BenchHarness.Measure(() => Gemm.Sgemm(true, false, Units, gw, bt, 1f, hp, Units, z, gw, 1f, dU, gw), budgetSeconds: 1));
        var wt = Rand(gw * Embed, 0.3f);
        Report("gemm-dx-38400x40x15", BenchHarness.Measure(() => Gemm.Sgemm(false, false, bt, Embed, gw, 1f, z, gw, wt, Embed, 0f, dX, Embed), budgetSeconds: 1));
        Report("bias-rows-sum", BenchHarness.Measure(
            () =>
            {
                for (int r = 0; r < bt; r++) System.Numerics.Tensors.TensorPrimitives.Add(dB, z.AsSpan(r * gw, gw), dB);
            },
            budgetSeconds: 1));
        Report("bias-broadcast-38400x40", BenchHarness.Measure(
            () =>
            {
                for (int r = 0; r < bt; r++) b.AsSpan().CopyTo(z.AsSpan(r * gw, gw));
            },
            budgetSeconds: 1));
        Report("alloc-2.3MB-tensor", BenchHarness.Measure(() => new LsTensor(Batch, Time, Embed), budgetSeconds: 1));
    }

    /// <summary>d(mean binary cross-entropy)/d(prediction), enough to drive the tape for the timing.</summary>
    private sealed class BinaryCrossentropyProbe
    {
        private LsTensor? grad;

        public LsTensor Grad(LsTensor pred, LsTensor y)
        {
            grad ??= new LsTensor(pred.ShapeArray);
            var p = pred.Span;
            var t = y.Span;
            var g = grad.Span;
            for (int i = 0; i < g.Length; i++)
            {
                float pi = Math.Clamp(p[i], 1e-7f, 1 - 1e-7f);
                g[i] = (pi - t[i]) / (pi * (1 - pi)) / g.Length;
            }

            return grad;
        }
    }
}
