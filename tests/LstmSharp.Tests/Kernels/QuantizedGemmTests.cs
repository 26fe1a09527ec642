using LstmSharp.Kernels;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Kernels;

/// <summary>
/// <see cref="QuantizedMatrix"/> (int8 per channel, bf16) and <see cref="QuantizedGemm"/>: the
/// rounding rules, the products against a double loop over the dequantized values, and the same
/// bits on the scalar, Vector256 and Vector512 paths and for any thread count.
/// </summary>
[Collection(WorkerPoolCollection.Name)]
public class QuantizedGemmTests
{
    private static readonly int[] Ms = [1, 2, 3, 4, 5, 9];
    private static readonly int[] Ns = [1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 130];
    private static readonly int[] Ks = [1, 3, 28, 129];

    [Fact]
    public void Int8ScalesAreTheColumnMaximumOver127AndValuesRoundToTheNearest()
    {
        var rng = new Random(3);
        const int rows = 37, cols = 11;
        var w = RandomValues(rng, rows * cols, 2.0);
        for (int k = 0; k < rows; k++)
        {
            w[(k * cols) + 4] = 0f; // an all-zero column
        }

        var q = QuantizedMatrix.Quantize(w, rows, cols, QuantizationMode.Int8, "test");
        var values = q.Int8.ToArray();
        for (int j = 0; j < cols; j++)
        {
            float amax = 0f;
            for (int k = 0; k < rows; k++)
            {
                amax = Math.Max(amax, Math.Abs(w[(k * cols) + j]));
            }

            Assert.Equal(amax / 127f, q.Scales[j]);
            bool reachesFullScale = false;
            for (int k = 0; k < rows; k++)
            {
                sbyte v = values[(k * cols) + j];
                Assert.InRange(v, (sbyte)-127, (sbyte)127);
                reachesFullScale |= Math.Abs((int)v) == 127;
                double error = Math.Abs(((double)v * q.Scales[j]) - w[(k * cols) + j]);
                Assert.True(error <= (0.5 * q.Scales[j]) + 1e-7, $"column {j} row {k}: |q·s − w| = {error}, more than half a step {q.Scales[j] / 2}");
            }

            Assert.True(j == 4 ? q.Scales[j] == 0f && !reachesFullScale : reachesFullScale, $"column {j}: the largest value must map to ±127 (scale {q.Scales[j]})");
        }
    }

    [Fact]
    public void BFloat16RoundsToNearestEvenAndWidensExactly()
    {
        float halfway = BitConverter.UInt32BitsToSingle(0x3F808000); // 1 + 2^-8: a tie, rounds to the even 1.0
        float above = BitConverter.UInt32BitsToSingle(0x3F808001);
        float oddTie = BitConverter.UInt32BitsToSingle(0x3F818000); // 1 + 3·2^-8: a tie, rounds up to even
        Assert.Equal((ushort)0x3F80, QuantizedMatrix.ToBFloat16(halfway));
        Assert.Equal((ushort)0x3F81, QuantizedMatrix.ToBFloat16(above));
        Assert.Equal((ushort)0x3F82, QuantizedMatrix.ToBFloat16(oddTie));
        Assert.Equal(-2.5f, QuantizedMatrix.FromBFloat16(QuantizedMatrix.ToBFloat16(-2.5f)));
        var q = QuantizedMatrix.Quantize([halfway, above, oddTie, -3f], 2, 2, QuantizationMode.BFloat16, "test");
        var back = new float[4];
        q.Dequantize(back);
        Assert.Equal([1f, 1.0078125f, 1.015625f, -3f], back);
    }

    [Fact]
    public void NonFiniteWeightsAreRefusedNamingTheWeightAndIndex()
    {
        var e = Assert.Throws<ArgumentException>(() => QuantizedMatrix.Quantize([1f, float.NaN, 2f, 3f], 2, 2, QuantizationMode.Int8, "LSTM 'x' weight 'kernel'"));
        Assert.Contains("LSTM 'x' weight 'kernel'", e.Message);
        Assert.Contains("[1]", e.Message);
    }

    [Theory]
    [InlineData(QuantizationMode.Int8)]
    [InlineData(QuantizationMode.BFloat16)]
    public void ProductsMatchADoubleLoopOverTheDequantizedWeights(QuantizationMode mode) => MatchesReference(mode, LaneWidth.Auto);

    [Theory]
    [InlineData(QuantizationMode.Int8)]
    [InlineData(QuantizationMode.BFloat16)]
    public void EveryWidthAndThreadCountGivesTheScalarBits(QuantizationMode mode) => SameBitsEverywhere(mode);

    [Theory]
    [InlineData(SimdPath.Vector256)]
    [InlineData(SimdPath.Scalar)]
    public void EverySimdPathMatches(SimdPath path) =>
        SimdChildProcess.Run(path, typeof(QuantizedGemmTests), [nameof(ReferenceOnThisPath), nameof(SameBitsOnThisPath)]);

    internal static void ReferenceOnThisPath()
    {
        MatchesReference(QuantizationMode.Int8, LaneWidth.Auto);
        MatchesReference(QuantizationMode.BFloat16, LaneWidth.Auto);
    }

    internal static void SameBitsOnThisPath()
    {
        SameBitsEverywhere(QuantizationMode.Int8);
        SameBitsEverywhere(QuantizationMode.BFloat16);
    }

    private static void MatchesReference(QuantizationMode mode, LaneWidth width)
    {
        var rng = new Random(mode == QuantizationMode.Int8 ? 11 : 12);
        foreach (int m in Ms)
        {
            foreach (int n in Ns)
            {
                foreach (int k in Ks)
                {
                    int lda = k + 2, ldc = n + 3;
                    var q = QuantizedMatrix.Quantize(RandomValues(rng, k * n, 1.0), k, n, mode, "test");
                    var a = RandomValues(rng, ((m - 1) * lda) + k, 1.0);
                    var c = RandomValues(rng, ((m - 1) * ldc) + n, 1.0);
                    var expected = Reference(q, m, a, lda, c, ldc, out var magnitude);
                    QuantizedGemm.MultiplyAdd(q, m, a, lda, c, ldc, width);
                    for (int i = 0; i < m; i++)
                    {
                        for (int j = 0; j < n; j++)
                        {
                            int at = (i * ldc) + j;
                            double tolerance = 1e-6 * (magnitude[at] + 1);
                            Assert.True(Math.Abs(c[at] - expected[at]) <= tolerance, $"{mode} m={m} n={n} k={k} C[{i},{j}]: actual {c[at]:G9}, expected {expected[at]:G9} (tolerance {tolerance:G3})");
                        }
                    }

                    // The padding between rows of C is left alone.
                    for (int i = 0; i + 1 < m; i++)
                    {
                        for (int j = n; j < ldc; j++)
                        {
                            Assert.Equal(expected[(i * ldc) + j], c[(i * ldc) + j]);
                        }
                    }
                }
            }
        }
    }

    /// <summary>C + A·(q·s) (or A·bf16) in double, with Σ|terms| for the tolerance.</summary>
    private static double[] Reference(QuantizedMatrix q, int m, float[] a, int lda, float[] c, int ldc, out double[] magnitude)
    {
        int n = q.Columns, k = q.Rows;
        var w = new double[k * n];
        for (int p = 0; p < k; p++)
        {
            for (int j = 0; j < n; j++)
            {
                w[(p * n) + j] = q.Mode == QuantizationMode.Int8
                    ? q.Int8[(p * n) + j] * (double)q.Scales[j]
                    : QuantizedMatrix.FromBFloat16(q.BFloat16[(p * n) + j]);
            }
        }

        var result = c.Select(v => (double)v).ToArray();
        magnitude = c.Select(v => Math.Abs((double)v)).ToArray();
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0, abs = 0;
                for (int p = 0; p < k; p++)
                {
                    double t = a[(i * lda) + p] * w[(p * n) + j];
                    sum += t;
                    abs += Math.Abs(t);
                }

                result[(i * ldc) + j] += sum;
                magnitude[(i * ldc) + j] += abs;
            }
        }

        return result;
    }

    private static void SameBitsEverywhere(QuantizationMode mode)
    {
        var rng = new Random(21);
        var widths = new List<LaneWidth> { LaneWidth.Scalar };
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated) widths.Add(LaneWidth.Vector256);
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) widths.Add(LaneWidth.Vector512);
        foreach (var (m, n, k) in new[] { (1, 512, 128), (5, 130, 28), (70, 65, 33), (128, 512, 128) })
        {
            var q = QuantizedMatrix.Quantize(RandomValues(rng, k * n, 0.3), k, n, mode, "test");
            var a = RandomValues(rng, m * k, 1.0);
            var c0 = RandomValues(rng, m * n, 1.0);
            var expected = (float[])c0.Clone();
            QuantizedGemm.MultiplyAdd(q, m, a, k, expected, n, LaneWidth.Scalar);
            foreach (var width in widths)
            {
                var c = (float[])c0.Clone();
                QuantizedGemm.MultiplyAdd(q, m, a, k, c, n, width);
                Check.Identical($"{mode} {m}x{n}x{k}: scalar (expected) vs {width} (actual)", expected, c);
            }

            var pool = WorkerPool.Shared;
            int saved = pool.ThreadCount;
            try
            {
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    pool.ThreadCount = threads;
                    var c = (float[])c0.Clone();
                    QuantizedGemm.MultiplyAddParallel(q, m, a, k, c, n);
                    Check.Identical($"{mode} {m}x{n}x{k}: scalar (expected) vs {threads} threads (actual)", expected, c);
                }
            }
            finally
            {
                pool.ThreadCount = saved;
            }
        }
    }

    private static float[] RandomValues(Random rng, int count, double scale)
    {
        var v = new float[count];
        for (int i = 0; i < count; i++)
        {
            v[i] = (float)(((rng.NextDouble() * 2) - 1) * scale);
        }

        return v;
    }
}
