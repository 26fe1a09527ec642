using LstmSharp.Recurrent;

namespace LstmSharp.Bench;

/// <summary>
/// <c>lstm-kernel</c>: the LSTM sequence kernel alone (no layer, no optimizer) on the MNIST-row
/// shape — batch 128, 28 steps, 28 inputs, 128 units — forward (training), backward,
/// inference, and batch-1 inference latency.
/// </summary>
internal static class LstmKernelBenchmark
{
    public static void Run(string[] args)
    {
        string variantName = args.Length > 0 ? args[0] : "standard";
        const int batch = 128, time = 28, inputs = 28, units = 128;
        var layout = new LstmLayout(LstmVariant.FromName(variantName), inputs, units);
        BenchHarness.Header($"lstm-kernel variant={variantName} batch={batch} time={time} inputs={inputs} units={units} threads={Kernels.WorkerPool.Shared.ThreadCount}");
        var rng = new Random(1);
        float[] Rand(int n, float s)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float)(((rng.NextDouble() * 2) - 1) * s);
            return a;
        }

        var w = Rand(inputs * layout.GateWidth, 0.2f);
        var u = Rand(units * layout.GateWidth, 0.1f);
        var b = Rand(layout.GateWidth, 0.1f);
        int su = layout.WeightedGateCount * units;
        var p = layout.HasPeepholes ? Rand(su, 0.1f) : [];
        var r = layout.HasGateRecurrence ? Rand(su * su, 0.05f) : [];
        var x = Rand(batch * time * inputs, 1f);
        var x1 = x.AsSpan(0, time * inputs).ToArray();
        var last = new float[batch * units];
        var dLast = Rand(batch * units, 1f);
        var dW = new float[w.Length];
        var dU = new float[u.Length];
        var dB = new float[b.Length];
        var dP = new float[p.Length];
        var dR = new float[r.Length];
        var dX = new float[x.Length];
        var kernel = new LstmKernel(layout, "bench");
        var cache = new LstmCache();

        void Forward(bool training) => kernel.Forward(new SequenceRun(x, batch, time, inputs), new LstmWeights { Kernel = w, RecurrentKernel = u, Bias = b, Peephole = p, GateRecurrence = r }, default, default, new RnnOutputs { Last = last }, training ? cache : null);
        void Backward() => kernel.Backward(new SequenceRun(x, batch, time, inputs), new LstmWeights { Kernel = w, RecurrentKernel = u, Bias = b, Peephole = p, GateRecurrence = r }, cache, new RnnOutputGradients { Last = dLast }, new LstmGradients { Kernel = dW, RecurrentKernel = dU, Bias = dB, Peephole = dP, GateRecurrence = dR, Input = dX });
        void Forward1() => kernel.Forward(new SequenceRun(x1, 1, time, inputs), new LstmWeights { Kernel = w, RecurrentKernel = u, Bias = b, Peephole = p, GateRecurrence = r }, default, default, new RnnOutputs { Last = last.AsSpan(0, units) }, null);

        string workload = $"lstm-kernel/{variantName}";
        var fwd = BenchHarness.Measure(() => Forward(true), budgetSeconds: 4);
        BenchHarness.Figure(workload, "LstmSharp", "forward_train_b128_ms", fwd.Median * 1e3, "ms");
        var both = BenchHarness.Measure(() => { Forward(true); Backward(); }, budgetSeconds: 6);
        BenchHarness.Figure(workload, "LstmSharp", "forward_backward_b128_ms", both.Median * 1e3, "ms");
        BenchHarness.Figure(workload, "LstmSharp", "backward_b128_ms", (both.Median - fwd.Median) * 1e3, "ms");
        var inf = BenchHarness.Measure(() => Forward(false), budgetSeconds: 4);
        BenchHarness.Figure(workload, "LstmSharp", "inference_b128_ms", inf.Median * 1e3, "ms");
        var lat = BenchHarness.Measure(Forward1, budgetSeconds: 3);
        BenchHarness.Figure(workload, "LstmSharp", "inference_b1_us", lat.Median * 1e6, "us");
    }
}
