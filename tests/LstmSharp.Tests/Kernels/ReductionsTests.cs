using LstmSharp.Kernels;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Kernels;

public class ReductionsTests
{
    private static readonly int[] RowCounts = { 1, 2, 3, 7, 17, 64 };

    /// <summary>Worst-case error of a float sum of n terms: (n - 1)·2^-24·Σ|x| (any order).</summary>
    private static double SumBound(int n, double sumAbs) => (Math.Max(n - 1, 0) * KernelData.HalfUlp * sumAbs * 1.01) + 1e-30;

    [Fact]
    public static void RowAndColumnSumsAndMeansMatchDoublePrecision()
    {
        foreach (int rows in RowCounts)
        {
            foreach (int cols in KernelData.Lengths)
            {
                string where = $"[{rows}, {cols}]";
                var x = KernelData.Uniform((rows * 7) + cols, rows * cols, -2, 2);
                var rowSum = new double[rows];
                var rowAbs = new double[rows];
                var colSum = new double[cols];
                var colAbs = new double[cols];
                for (int r = 0; r < rows; r++)
                {
                    for (int c = 0; c < cols; c++)
                    {
                        float v = x[(r * cols) + c];
                        rowSum[r] += v;
                        rowAbs[r] += Math.Abs(v);
                        colSum[c] += v;
                        colAbs[c] += Math.Abs(v);
                    }
                }

                var yr = new float[rows];
                Reductions.RowSums(x, rows, cols, yr);
                Check.Within($"Reductions.RowSums {where}", rowSum, yr, rowAbs.Select(a => SumBound(cols, a)).ToArray());

                var yc = new float[cols];
                Reductions.ColumnSums(x, rows, cols, yc);
                Check.Within($"Reductions.ColumnSums {where}", colSum, yc, colAbs.Select(a => SumBound(rows, a)).ToArray());

                // accumulate: adds to what is there.
                Array.Fill(yc, 1f);
                Reductions.ColumnSums(x, rows, cols, yc, accumulate: true);
                Check.Within($"Reductions.ColumnSums accumulate {where}", colSum.Select(s => s + 1).ToArray(), yc, colAbs.Select(a => SumBound(rows + 1, a + 1)).ToArray());

                if (cols > 0)
                {
                    Reductions.RowMeans(x, rows, cols, yr);
                    Check.Within($"Reductions.RowMeans {where}", rowSum.Select(s => s / cols).ToArray(), yr, rowAbs.Select(a => SumBound(cols + 2, a) / cols).ToArray());
                }

                Reductions.ColumnMeans(x, rows, cols, yc);
                Check.Within($"Reductions.ColumnMeans {where}", colSum.Select(s => s / rows).ToArray(), yc, colAbs.Select(a => SumBound(rows + 2, a) / rows).ToArray());

                float total = Reductions.Sum(x);
                Check.Within($"Reductions.Sum {where}", new[] { rowSum.Sum() }, new[] { total }, new[] { SumBound(x.Length, rowAbs.Sum()) });
            }
        }
    }

    [Fact]
    public static void AxisSumsOf3DBuffersMatchNaiveLoops()
    {
        int[][] shapes = { new[] { 2, 3, 17 }, new[] { 5, 1, 64 }, new[] { 3, 129, 7 }, new[] { 1, 16, 1 }, new[] { 4, 0, 3 } };
        foreach (var shape in shapes)
        {
            int n = shape[0] * shape[1] * shape[2];
            var x = KernelData.Uniform(n, n, -1, 1);
            for (int axis = -1; axis < 3; axis++)
            {
                int a = axis < 0 ? 2 : axis;
                var outShape = shape.Where((_, d) => d != a).ToArray();
                var expected = new double[outShape[0] * outShape[1]];
                var abs = new double[expected.Length];
                for (int i = 0; i < shape[0]; i++)
                {
                    for (int j = 0; j < shape[1]; j++)
                    {
                        for (int k = 0; k < shape[2]; k++)
                        {
                            int[] idx = { i, j, k };
                            var o = idx.Where((_, d) => d != a).ToArray();
                            float v = x[(((i * shape[1]) + j) * shape[2]) + k];
                            expected[(o[0] * outShape[1]) + o[1]] += v;
                            abs[(o[0] * outShape[1]) + o[1]] += Math.Abs(v);
                        }
                    }
                }

                string where = $"shape [{string.Join(", ", shape)}] axis {axis}";
                var y = new float[expected.Length];
                Reductions.SumAxis(x, shape, axis, y);
                Check.Within($"Reductions.SumAxis {where}", expected, y, abs.Select(s => SumBound(shape[a], s)).ToArray());

                if (shape[a] > 0)
                {
                    Reductions.MeanAxis(x, shape, axis, y);
                    Check.Within($"Reductions.MeanAxis {where}", expected.Select(s => s / shape[a]).ToArray(), y, abs.Select(s => SumBound(shape[a] + 2, s) / shape[a]).ToArray());
                }
            }
        }
    }

    [Fact]
    public static void NormsAndNonFiniteScanMatchNaiveLoops()
    {
        foreach (int n in KernelData.Lengths)
        {
            var x = KernelData.Uniform(n + 5, n, -3, 3);
            double maxAbs = x.Length == 0 ? 0 : x.Max(v => Math.Abs((double)v));
            Assert.Equal((float)maxAbs, Reductions.MaxAbs(x));

            double ss = x.Sum(v => (double)v * v);
            Check.Close($"Reductions.L2Norm length {n}", new[] { Math.Sqrt(ss) }, new[] { Reductions.L2Norm(x) }, rel: 1e-6 + (n * KernelData.HalfUlp));

            Assert.Equal(-1, Reductions.IndexOfNonFinite(x));
            Assert.False(Reductions.AnyNonFinite(x));
            foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            {
                // Every position: each vector block and the tail.
                for (int p = 0; p < n; p++)
                {
                    var y = (float[])x.Clone();
                    y[p] = bad;
                    if (p + 3 < n)
                    {
                        y[p + 3] = float.NaN;
                    }

                    int found = Reductions.IndexOfNonFinite(y);
                    Assert.True(found == p, $"Reductions.IndexOfNonFinite length {n}: {bad} at {p}, found {found}");
                    Assert.Equal(p, Reductions.IndexOfNonFiniteScalar(y));
                }
            }
        }

        // Largest finite, subnormal and zero values are finite.
        var edge = new[] { float.MaxValue, float.MinValue, float.Epsilon, -float.Epsilon, 0f, -0f, 1e-40f };
        Assert.Equal(-1, Reductions.IndexOfNonFinite(Enumerable.Repeat(edge, 10).SelectMany(e => e).ToArray()));
    }

    [Theory]
    [InlineData(SimdPath.Vector256)]
    [InlineData(SimdPath.Scalar)]
    public void EveryPathAgreesInAChildProcess(SimdPath path) => SimdChildProcess.Run(path, typeof(ReductionsTests), new[]
    {
        nameof(RowAndColumnSumsAndMeansMatchDoublePrecision),
        nameof(AxisSumsOf3DBuffersMatchNaiveLoops),
        nameof(NormsAndNonFiniteScanMatchNaiveLoops),
    });

    [Fact]
    public void L2NormDoesNotOverflowForLargeFiniteValues()
    {
        Assert.Equal(5e30f, Reductions.L2Norm(new[] { 3e30f, 4e30f }), 1e24f);
        Assert.Equal(0f, Reductions.L2Norm(ReadOnlySpan<float>.Empty));
        Assert.True(float.IsNaN(Reductions.L2Norm(new[] { 1f, float.NaN })));
        Assert.True(float.IsNaN(Reductions.MaxAbs(new[] { 1f, float.NaN, 3f })));
    }

    [Fact]
    public void WrongShapesNameTheOpAxisAndShape()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Reductions.SumAxis(new float[6], new[] { 2, 3 }, 2, new float[2]));
        Assert.Contains("axis 2 is out of range for shape [2, 3]", e.Message);
        var e2 = Assert.Throws<ArgumentException>(() => Reductions.SumAxis(new float[6], new[] { 2, 3 }, 0, new float[2]));
        Assert.Contains("Reductions.SumAxis: y has length 2, expected 3", e2.Message);
        e2 = Assert.Throws<ArgumentException>(() => Reductions.ColumnSums(new float[5], 2, 3, new float[3]));
        Assert.Contains("x has 5 elements, expected [2, 3] = 6", e2.Message);
    }
}
