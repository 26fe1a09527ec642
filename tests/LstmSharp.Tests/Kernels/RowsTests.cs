using LstmSharp.Kernels;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Kernels;

public class RowsTests
{
    private static readonly int[] RowCounts = { 1, 3 };

    /// <summary>Softmax (or its log) of each row of <paramref name="cols"/> values, in double (also the reference of Ops.Softmax/LogSoftmax).</summary>
    internal static double[] SoftmaxReference(IReadOnlyList<double> x, int rows, int cols, bool log)
    {
        var y = new double[x.Count];
        for (int r = 0; r < rows; r++)
        {
            double m = double.NegativeInfinity;
            for (int j = 0; j < cols; j++)
            {
                m = Math.Max(m, x[(r * cols) + j]);
            }

            double s = 0;
            for (int j = 0; j < cols; j++)
            {
                s += Math.Exp(x[(r * cols) + j] - m);
            }

            for (int j = 0; j < cols; j++)
            {
                double d = x[(r * cols) + j] - m;
                y[(r * cols) + j] = log ? d - Math.Log(s) : Math.Exp(d) / s;
            }
        }

        return y;
    }

    [Fact]
    public static void SoftmaxAndLogSoftmaxMatchDoublePrecision()
    {
        foreach (int rows in RowCounts)
        {
            foreach (int cols in KernelData.Lengths)
            {
                var x = KernelData.Uniform((rows * 1000) + cols, rows * cols, -8, 8);

                // A shifted row: softmax is shift-invariant, and a naive exp would overflow here.
                for (int j = 0; j < cols && rows > 1; j++)
                {
                    x[cols + j] += 1000f;
                }

                string where = $"[{rows}, {cols}]";
                var y = new float[x.Length];
                var ys = new float[x.Length];

                Rows.Softmax(x, rows, cols, y);
                // exp(x - m) inherits the rounding of x - m (≤ |x - m|·2^-24 ≤ 1e-6 here, and larger in the shifted row).
                Check.Close($"Rows.Softmax {where}", SoftmaxReference(Array.ConvertAll(x, v => (double)v), rows, cols, log: false), y, rel: 4e-6, abs: 1e-12, input: x);
                Rows.Softmax(x, rows, cols, ys, LaneWidth.Scalar);
                Check.Close($"Rows.Softmax vs scalar twin {where}", ys.Select(v => (double)v).ToArray(), y, rel: 1e-6, abs: 1e-12, input: x);

                Rows.LogSoftmax(x, rows, cols, y);
                Check.Close($"Rows.LogSoftmax {where}", SoftmaxReference(Array.ConvertAll(x, v => (double)v), rows, cols, log: true), y, rel: 1e-6, abs: 2e-6, input: x);
                Rows.LogSoftmax(x, rows, cols, ys, LaneWidth.Scalar);
                Check.Close($"Rows.LogSoftmax vs scalar twin {where}", ys.Select(v => (double)v).ToArray(), y, rel: 1e-6, abs: 1e-6, input: x);

                // In place.
                var inPlace = (float[])x.Clone();
                Rows.Softmax(inPlace, rows, cols, inPlace);
                Rows.Softmax(x, rows, cols, y);
                Check.Identical($"Rows.Softmax in place {where}", y, inPlace, x);
            }
        }
    }

    [Fact]
    public static void SoftmaxBackwardsMatchDoublePrecision()
    {
        foreach (int rows in RowCounts)
        {
            foreach (int cols in KernelData.Lengths)
            {
                string where = $"[{rows}, {cols}]";
                var x = KernelData.Uniform(cols + 7, rows * cols, -4, 4);
                var dy = KernelData.Uniform(cols + 8, rows * cols, -1, 1);
                var y = new float[x.Length];
                var dx = new float[x.Length];

                Rows.Softmax(x, rows, cols, y);
                Rows.SoftmaxBackward(y, dy, rows, cols, dx);
                var expected = new double[x.Length];
                for (int r = 0; r < rows; r++)
                {
                    double dot = 0;
                    for (int j = 0; j < cols; j++)
                    {
                        dot += (double)dy[(r * cols) + j] * y[(r * cols) + j];
                    }

                    for (int j = 0; j < cols; j++)
                    {
                        int i = (r * cols) + j;
                        expected[i] = y[i] * (dy[i] - dot);
                    }
                }

                Check.Close($"Rows.SoftmaxBackward {where}", expected, dx, rel: 1e-5, abs: 1e-7);

                Rows.LogSoftmax(x, rows, cols, y);
                Rows.LogSoftmaxBackward(y, dy, rows, cols, dx);
                for (int r = 0; r < rows; r++)
                {
                    double s = 0;
                    for (int j = 0; j < cols; j++)
                    {
                        s += dy[(r * cols) + j];
                    }

                    for (int j = 0; j < cols; j++)
                    {
                        int i = (r * cols) + j;
                        expected[i] = dy[i] - (Math.Exp(y[i]) * s);
                    }
                }

                Check.Close($"Rows.LogSoftmaxBackward {where}", expected, dx, rel: 1e-5, abs: 1e-6);
                var dxs = new float[x.Length];
                Rows.LogSoftmaxBackward(y, dy, rows, cols, dxs, LaneWidth.Scalar);
                Check.Close($"Rows.LogSoftmaxBackward vs scalar twin {where}", dxs.Select(v => (double)v).ToArray(), dx, rel: 1e-6, abs: 1e-6);

                // In place: dx written over dy.
                var inPlace = (float[])dy.Clone();
                Rows.LogSoftmaxBackward(y, inPlace, rows, cols, inPlace);
                Check.Identical($"Rows.LogSoftmaxBackward in place {where}", dx, inPlace);
            }
        }
    }

    [Fact]
    public static void ArgMaxAndBiasBroadcastMatchNaiveLoops()
    {
        foreach (int rows in RowCounts)
        {
            foreach (int cols in KernelData.Lengths)
            {
                string where = $"[{rows}, {cols}]";

                // Small integers: plenty of ties, and the first maximum must win.
                var x = KernelData.Uniform(cols, rows * cols, 0, 5).Select(MathF.Floor).ToArray();
                var index = new int[rows];
                Rows.ArgMax(x, rows, cols, index);
                for (int r = 0; r < rows; r++)
                {
                    int best = -1;
                    for (int j = 0; j < cols; j++)
                    {
                        if (best < 0 || x[(r * cols) + j] > x[(r * cols) + best])
                        {
                            best = j;
                        }
                    }

                    Assert.True(best == index[r], $"Rows.ArgMax {where} row {r}: expected {best}, got {index[r]}; row = [{string.Join(", ", x.Skip(r * cols).Take(cols))}]");
                }

                var m = KernelData.Uniform(cols + 1, rows * cols);
                var v = KernelData.Uniform(cols + 2, cols);
                var y = new float[m.Length];
                var expected = new float[m.Length];
                for (int i = 0; i < m.Length; i++)
                {
                    expected[i] = m[i] + v[i % cols];
                }

                Rows.AddRowVector(m, rows, cols, v, y);
                Check.Identical($"Rows.AddRowVector {where}", expected, y, m);
                Rows.AddRowVector(m, rows, cols, v);
                Check.Identical($"Rows.AddRowVector in place {where}", expected, m);
            }
        }
    }

    [Theory]
    [InlineData(SimdPath.Vector256)]
    [InlineData(SimdPath.Scalar)]
    public void EveryPathAgreesInAChildProcess(SimdPath path) => SimdChildProcess.Run(path, typeof(RowsTests), new[]
    {
        nameof(SoftmaxAndLogSoftmaxMatchDoublePrecision),
        nameof(SoftmaxBackwardsMatchDoublePrecision),
        nameof(ArgMaxAndBiasBroadcastMatchNaiveLoops),
    });

    [Fact]
    public void SoftmaxIsStableForHugeAndTinyLogits()
    {
        var y = new float[6];
        Rows.Softmax(new float[] { 1000f, 1001f, 1002f, -1e30f, 0f, 88f }, 2, 3, y);
        float e1 = MathF.Exp(-1), e2 = MathF.Exp(-2);
        Assert.Equal(e2 / (1 + e1 + e2), y[0], 1e-6);
        Assert.Equal(1 / (1 + e1 + e2), y[2], 1e-6);
        Assert.Equal(0f, y[3]);
        Assert.True(y.All(float.IsFinite));

        Rows.LogSoftmax(new float[] { 1000f, 0f, 100f, 100f }, 2, 2, y.AsSpan(0, 4));
        Assert.Equal(0f, y[0], 1e-6);
        Assert.Equal(-1000f, y[1], 1e-3);
        Assert.Equal(-MathF.Log(2), y[2], 1e-6);
    }

    [Fact]
    public void ArgMaxReportsTheFirstNaN()
    {
        var index = new int[1];
        Rows.ArgMax(new float[] { 1f, float.NaN, 5f, float.NaN }, 1, 4, index);
        Assert.Equal(1, index[0]);
    }

    [Fact]
    public void WrongShapesNameTheOpAndShape()
    {
        var e = Assert.Throws<ArgumentException>(() => Rows.Softmax(new float[6], 2, 4, new float[6]));
        Assert.Contains("Rows.Softmax: x has 6 elements, expected [2, 4] = 8", e.Message);
        e = Assert.Throws<ArgumentException>(() => Rows.AddRowVector(new float[6], 2, 3, new float[2], new float[6]));
        Assert.Contains("row vector has length 2, expected 3", e.Message);
        e = Assert.Throws<ArgumentException>(() => Rows.ArgMax(new float[6], 2, 3, new int[3]));
        Assert.Contains("index has length 3, expected 2", e.Message);
    }

    [Theory]
    [InlineData(5, 1, 3)]
    [InlineData(50, 15, 40)]
    [InlineData(300, 7, 9000)]
    [InlineData(5000, 40, 38400)]
    public void GatherCopiesTheIndexedRowsOnEveryWidth(int vocab, int cols, int count)
    {
        // 15 and 40 columns reach the Vector512, Vector256 and scalar parts of a row; 38400 rows split over the pool.
        var rng = new Random(vocab + cols);
        var table = new float[vocab * cols];
        for (int i = 0; i < table.Length; i++) table[i] = (float)rng.NextDouble();
        var index = new int[count];
        for (int i = 0; i < count; i++) index[i] = rng.Next(vocab);
        var y = new float[count * cols];
        Rows.Gather(index, table, cols, y);
        for (int r = 0; r < count; r++)
        {
            Assert.True(table.AsSpan(index[r] * cols, cols).SequenceEqual(y.AsSpan(r * cols, cols)), $"row {r} (index {index[r]})");
        }
    }

    [Fact]
    public void GatherRejectsIndicesOutsideTheTableAndWrongShapes()
    {
        Assert.ThrowsAny<ArgumentOutOfRangeException>(() => Rows.Gather([0, 3], new float[6], 2, new float[4]));
        Assert.ThrowsAny<ArgumentOutOfRangeException>(() => Rows.Gather([-1], new float[6], 2, new float[2]));
        var e = Assert.Throws<ArgumentException>(() => Rows.Gather([0, 1], new float[6], 2, new float[3]));
        Assert.Contains("Rows.Gather: y has 3 elements, expected [2, 2] = 4", e.Message);
        Assert.Contains("not a whole number of rows", Assert.Throws<ArgumentException>(() => Rows.Gather([0], new float[5], 2, new float[2])).Message);
    }
}
