using LstmSharp.Kernels;
using LstmSharp.Recurrent;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Recurrent;

/// <summary>
/// LayerNormLstmCell's rows: the vector widths give the scalar twin's bits (statistics included,
/// summed in RowStatistics' fixed 16-lane order), and RowStatistics' sums are close to double sums.
/// The cell's equations are held to the double reference by the harness (lnlstm/* entries).
/// </summary>
public class LayerNormLstmCellTests
{
    // 10 and 26 reach the 256-bit loop after the 512-bit one; 37 leaves a scalar tail after both.
    private static readonly int[] UnitCounts = [1, 3, 7, 8, 9, 10, 15, 16, 17, 26, 33, 37, 128];

    private static float[] Random(Random rng, int n, float scale)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = ((rng.NextSingle() * 2) - 1) * scale;
        }

        return a;
    }

    internal static void VectorRowsGiveTheScalarTwinsBits()
    {
        (ActivationKind Act, ActivationKind Rec)[] kinds = [(ActivationKind.Tanh, ActivationKind.Sigmoid), (ActivationKind.Relu, ActivationKind.HardSigmoid)];
        foreach (var (act, rec) in kinds)
        {
            foreach (bool bias in new[] { true, false })
            {
                foreach (int n in UnitCounts)
                {
                    var rng = new Random((n * 7) + (bias ? 1 : 0));
                    int gw = 4 * n;
                    float[] gx = Random(rng, gw, 1.5f), gh = Random(rng, gw, 1.5f), b = bias ? Random(rng, gw, 0.5f) : [];
                    float[] gc = Random(rng, n, 1.5f), bc = Random(rng, n, 0.5f);
                    var p = new LayerNormLstmCell.Norms { InputGamma = gx, RecurrentGamma = gh, Bias = b, CellGamma = gc, CellBeta = bc, Epsilon = LayerNormLstmCell.DefaultEpsilon };
                    float[] ax = Random(rng, gw, 3f), ah = Random(rng, gw, 2f), c = Random(rng, n, 2f);
                    string where = $"{act}/{rec} bias={bias} units={n}";

                    var v = Forward(n, act, rec, p, ax, ah, c, LaneWidth.Auto);
                    var s = Forward(n, act, rec, p, ax, ah, c, LaneWidth.Scalar);
                    for (int i = 0; i < v.Length; i++)
                    {
                        Assert.True(v[i].AsSpan().SequenceEqual(s[i]), $"{where}: forward output {i} differs");
                    }

                    float[] dh = Random(rng, n, 1f), dc = Random(rng, n, 1f);
                    var bv = Backward(n, act, rec, p, v, c, dh, dc, LaneWidth.Auto);
                    var bs = Backward(n, act, rec, p, s, c, dh, dc, LaneWidth.Scalar);
                    for (int i = 0; i < bv.Length; i++)
                    {
                        Assert.True(bv[i].AsSpan().SequenceEqual(bs[i]), $"{where}: backward output {i} differs");
                    }
                }
            }
        }
    }

    /// <summary>x̂, ĥ, rx, rh, gates, c_t, ĉ, h, [r_c].</summary>
    private static float[][] Forward(int n, ActivationKind act, ActivationKind rec, in LayerNormLstmCell.Norms p, float[] ax, float[] ah, float[] c, LaneWidth width)
    {
        float[] x = (float[])ax.Clone(), hh = (float[])ah.Clone(), ct = (float[])c.Clone();
        float[] rx = new float[4], rh = new float[4], gates = new float[4 * n], cHat = new float[n], h = new float[n];
        float rc = LayerNormLstmCell.ForwardRow(n, act, rec, x, hh, rx, rh, p, gates, ct, cHat, h, width);
        return [x, hh, rx, rh, gates, ct, cHat, h, [rc]];
    }

    /// <summary>dz, dc_{t−1}, da_x, da_h, dℓ.</summary>
    private static float[][] Backward(int n, ActivationKind act, ActivationKind rec, in LayerNormLstmCell.Norms p, float[][] f, float[] cPrev, float[] dh, float[] dc, LaneWidth width)
    {
        float[] gates = (float[])f[4].Clone(), dcs = (float[])dc.Clone();
        float[] dax = new float[4 * n], dah = new float[4 * n], dl = new float[n];
        LayerNormLstmCell.BackwardRow(n, act, rec, p, f[0], f[1], f[2], f[3], gates, f[5], cPrev, f[6], f[8][0], dh, dcs, dax, dah, dl, width);
        return [gates, dcs, dax, dah, dl];
    }

    [Fact]
    public void VectorRows() => VectorRowsGiveTheScalarTwinsBits();

    [Theory]
    [InlineData(SimdPath.Vector256)]
    [InlineData(SimdPath.Scalar)]
    public void EverySimdPathMatches(SimdPath path) =>
        SimdChildProcess.Run(path, typeof(LayerNormLstmCellTests), [nameof(VectorRowsGiveTheScalarTwinsBits), nameof(StatisticsOnThisPath)]);

    internal static void StatisticsOnThisPath()
    {
        foreach (int n in new[] { 0, 1, 5, 15, 16, 17, 31, 32, 47, 128, 515 })
        {
            var rng = new Random(n + 3);
            var a = Random(rng, n, 4f);
            var b = Random(rng, n, 2f);
            double sum = 0, dot = 0, mean = n == 0 ? 0 : a.Average(x => (double)x), sq = 0;
            for (int i = 0; i < n; i++)
            {
                sum += a[i];
                dot += (double)a[i] * b[i];
            }

            float meanF = (float)mean;
            for (int i = 0; i < n; i++)
            {
                sq += ((double)a[i] - meanF) * ((double)a[i] - meanF);
            }

            foreach (var width in new[] { LaneWidth.Auto, LaneWidth.Vector256, LaneWidth.Scalar })
            {
                if (width == LaneWidth.Vector256 && !System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
                {
                    continue;
                }

                float s = RowStatistics.Sum(a, width), d = RowStatistics.Dot(a, b, width), q = RowStatistics.SquaredDeviations(a, meanF, width);
                Assert.Equal(RowStatistics.Sum(a, LaneWidth.Scalar), s);
                Assert.Equal(RowStatistics.Dot(a, b, LaneWidth.Scalar), d);
                Assert.Equal(RowStatistics.SquaredDeviations(a, meanF, LaneWidth.Scalar), q);
                Assert.Equal(sum, s, 1e-5 * (1 + Math.Abs(sum) + n));
                Assert.Equal(dot, d, 1e-5 * (1 + Math.Abs(dot) + n));
                Assert.Equal(sq, q, 1e-5 * (1 + sq));
            }
        }
    }

    [Fact]
    public void Statistics() => StatisticsOnThisPath();
}
