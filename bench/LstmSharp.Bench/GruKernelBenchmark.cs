using LstmSharp.Recurrent;

namespace LstmSharp.Bench;

/// <summary>
/// <c>gru-kernel</c>: the GRU (both reset conventions) and SimpleRNN sequence kernels alone (no
/// layer, no optimizer) on the MNIST-row shape — batch 128, 28 steps, 28 inputs, 128 units —
/// forward (training), forward + backward, inference, and batch-1 inference latency.
/// </summary>
internal static class GruKernelBenchmark
{
    public static void Run(string[] args)
    {
        string which = args.Length > 0 ? args[0] : "all";
        const int batch = 128, time = 28, inputs = 28, units = 128;
        BenchHarness.Header($"gru-kernel cells={which} batch={batch} time={time} inputs={inputs} units={units} threads={Kernels.WorkerPool.Shared.ThreadCount}");
        foreach (string cell in new[] { "gru-reset-after", "gru-reset-before", "simple-rnn" })
        {
            if (which != "all" && which != cell)
            {
                continue;
            }

            var rng = new Random(1);
            float[] Rand(int n, float s)
            {
                var a = new float[n];
                for (int i = 0; i < n; i++) a[i] = (float)(((rng.NextDouble() * 2) - 1) * s);
                return a;
            }

            bool isGru = cell != "simple-rnn";
            var gruLayout = isGru ? new GruLayout(inputs, units, resetAfter: cell == "gru-reset-after") : null;
            var rnnLayout = isGru ? null : new SimpleRnnLayout(inputs, units);
            int gw = isGru ? gruLayout!.GateWidth : units;
            int bl = isGru ? gruLayout!.BiasLength : rnnLayout!.BiasLength;
            var w = Rand(inputs * gw, 0.2f);
            var u = Rand(units * gw, 0.1f);
            var b = Rand(bl, 0.1f);
            var x = Rand(batch * time * inputs, 1f);
            var x1 = x.AsSpan(0, time * inputs).ToArray();
            var last = new float[batch * units];
            var dLast = Rand(batch * units, 1f);
            var dW = new float[w.Length];
            var dU = new float[u.Length];
            var dB = new float[b.Length];
            var dX = new float[x.Length];
            var gru = isGru ? new GruKernel(gruLayout!, "bench") : null;
            var rnn = isGru ? null : new SimpleRnnKernel(rnnLayout!, "bench");
            var gruCache = new GruCache();
            var rnnCache = new SimpleRnnCache();

            void Forward(bool training)
            {
                var run = new SequenceRun(x, batch, time, inputs);
                var weights = new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b };
                var outs = new RnnOutputs { Last = last };
                if (isGru) gru!.Forward(run, weights, default, outs, training ? gruCache : null);
                else rnn!.Forward(run, weights, default, outs, training ? rnnCache : null);
            }

            void Backward()
            {
                var run = new SequenceRun(x, batch, time, inputs);
                var weights = new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b };
                var dOut = new RnnOutputGradients { Last = dLast };
                var grads = new RnnGradients { Kernel = dW, RecurrentKernel = dU, Bias = dB, Input = dX };
                if (isGru) gru!.Backward(run, weights, gruCache, dOut, grads);
                else rnn!.Backward(run, weights, rnnCache, dOut, grads);
            }

            void Forward1()
            {
                var run = new SequenceRun(x1, 1, time, inputs);
                var weights = new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b };
                var outs = new RnnOutputs { Last = last.AsSpan(0, units) };
                if (isGru) gru!.Forward(run, weights, default, outs, null);
                else rnn!.Forward(run, weights, default, outs, null);
            }

            string workload = $"gru-kernel/{cell}";
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
}
