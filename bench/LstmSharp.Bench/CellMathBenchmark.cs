using System.Runtime.Intrinsics;
using LstmSharp.Kernels;
using LstmSharp.Recurrent;

namespace LstmSharp.Bench;

/// <summary>
/// <c>cellmath</c>: the per-element cost of the fused cell maths, without GEMMs or threads.
/// Each <see cref="VecMath"/> activation in elements per ns at Vector512 and Vector256 width on
/// an L1-resident buffer, and one time step's worth of LSTM rows (batch 128 × 128 units) through
/// <see cref="LstmCell.ForwardRow"/> and <see cref="LstmCell.BackwardRow"/>, in µs per step.
/// Run it again with <c>DOTNET_EnableAVX512=0</c> to time the row kernels at 256 bits.
/// </summary>
internal static class CellMathBenchmark
{
    private const int N = 4096;

    public static void Run(string[] args)
    {
        _ = args;
        BenchHarness.Header($"cellmath N={N} (activations, L1-resident), LSTM rows batch=128 units=128; Vector512 accelerated={Vector512.IsHardwareAccelerated}");
        var rng = new Random(1);
        var x = new float[N];
        var y = new float[N];
        for (int i = 0; i < N; i++)
        {
            x[i] = (float)(((rng.NextDouble() * 2) - 1) * 6);
        }

        Activation("exp", x, y);
        Activation("sigmoid", x, y);
        Activation("tanh", x, y);
        var scalar = BenchHarness.Measure(() => VecMath.ApplyScalar(ActivationKind.Tanh, x, y), budgetSeconds: 1);
        BenchHarness.Figure("cellmath/tanh", "scalar", "elements_per_ns", N / (scalar.Median * 1e9), "1/ns");
        scalar = BenchHarness.Measure(() => VecMath.ApplyScalar(ActivationKind.Sigmoid, x, y), budgetSeconds: 1);
        BenchHarness.Figure("cellmath/sigmoid", "scalar", "elements_per_ns", N / (scalar.Median * 1e9), "1/ns");

        LstmRows("standard", rng);
        LstmRows("vanilla", rng);
    }

    private static void LstmRows(string variantName, Random rng)
    {
        const int batch = 128, units = 128;
        var layout = new LstmLayout(LstmVariant.FromName(variantName), 28, units);
        int gw = layout.GateWidth, su = layout.WeightedGateCount * units;
        var z0 = Rand(rng, batch * gw, 3f);
        var z = new float[z0.Length];
        var c = Rand(rng, batch * units, 1f);
        var cPrev = (float[])c.Clone();
        var h = new float[batch * units];
        var p = layout.HasPeepholes ? Rand(rng, su, 0.3f) : [];
        var dh = Rand(rng, batch * units, 1f);
        var dc = Rand(rng, batch * units, 1f);
        var a = new float[z0.Length];

        void Forward()
        {
            z0.CopyTo(z, 0);
            for (int b = 0; b < batch; b++)
            {
                LstmCell.ForwardRow(layout, z.AsSpan(b * gw, gw), c.AsSpan(b * units, units), h.AsSpan(b * units, units), p, []);
            }
        }

        var copy = BenchHarness.Measure(() => z0.CopyTo(z, 0), budgetSeconds: 0.5);
        var fwd = BenchHarness.Measure(Forward, budgetSeconds: 2);
        Forward();
        var gates = (float[])z.Clone();

        void Backward()
        {
            gates.CopyTo(a, 0);
            for (int b = 0; b < batch; b++)
            {
                LstmCell.BackwardRow(layout, a.AsSpan(b * gw, gw), dh.AsSpan(b * units, units), dc.AsSpan(b * units, units), c.AsSpan(b * units, units), cPrev.AsSpan(b * units, units), p, []);
            }
        }

        var bwd = BenchHarness.Measure(Backward, budgetSeconds: 2);
        string workload = $"cellmath/lstm-rows-{variantName}";
        string impl = Vector512.IsHardwareAccelerated ? "Vector512" : Vector256.IsHardwareAccelerated ? "Vector256" : "scalar";
        BenchHarness.Figure(workload, impl, "forward_step_us", (fwd.Median - copy.Median) * 1e6, "us");
        BenchHarness.Figure(workload, impl, "backward_step_us", (bwd.Median - copy.Median) * 1e6, "us");
        BenchHarness.Figure(workload, impl, "forward_units_per_ns", batch * units / ((fwd.Median - copy.Median) * 1e9), "1/ns");
        BenchHarness.Diagnostic($"{workload}: gate copy {copy.Median * 1e6:0.00} us subtracted; forward min {fwd.Min * 1e6:0.00} max {fwd.Max * 1e6:0.00} us");
    }

    private static void Activation(string name, float[] x, float[] y)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            var t = BenchHarness.Measure(() => Map512(x, y), budgetSeconds: 1);
            BenchHarness.Figure($"cellmath/{name}", "Vector512", "elements_per_ns", N / (t.Median * 1e9), "1/ns");
        }

        if (Vector256.IsHardwareAccelerated)
        {
            var t = BenchHarness.Measure(() => Map256(x, y), budgetSeconds: 1);
            BenchHarness.Figure($"cellmath/{name}", "Vector256", "elements_per_ns", N / (t.Median * 1e9), "1/ns");
        }

        // A direct loop per function (no delegate), so that the activation inlines.
        void Map512(float[] xs, float[] ys)
        {
            ref float xr = ref xs[0];
            ref float yr = ref ys[0];
            switch (name)
            {
                case "exp":
                    for (nuint i = 0; i < N; i += 16) VecMath.Exp<Lanes512, Vector512<float>>(Vector512.LoadUnsafe(ref xr, i)).StoreUnsafe(ref yr, i);
                    break;
                case "sigmoid":
                    for (nuint i = 0; i < N; i += 16) VecMath.Sigmoid<Lanes512, Vector512<float>>(Vector512.LoadUnsafe(ref xr, i)).StoreUnsafe(ref yr, i);
                    break;
                default:
                    for (nuint i = 0; i < N; i += 16) VecMath.Tanh<Lanes512, Vector512<float>>(Vector512.LoadUnsafe(ref xr, i)).StoreUnsafe(ref yr, i);
                    break;
            }
        }

        void Map256(float[] xs, float[] ys)
        {
            ref float xr = ref xs[0];
            ref float yr = ref ys[0];
            switch (name)
            {
                case "exp":
                    for (nuint i = 0; i < N; i += 8) VecMath.Exp<Lanes256, Vector256<float>>(Vector256.LoadUnsafe(ref xr, i)).StoreUnsafe(ref yr, i);
                    break;
                case "sigmoid":
                    for (nuint i = 0; i < N; i += 8) VecMath.Sigmoid<Lanes256, Vector256<float>>(Vector256.LoadUnsafe(ref xr, i)).StoreUnsafe(ref yr, i);
                    break;
                default:
                    for (nuint i = 0; i < N; i += 8) VecMath.Tanh<Lanes256, Vector256<float>>(Vector256.LoadUnsafe(ref xr, i)).StoreUnsafe(ref yr, i);
                    break;
            }
        }
    }

    private static float[] Rand(Random rng, int n, float s)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(((rng.NextDouble() * 2) - 1) * s);
        return a;
    }
}
