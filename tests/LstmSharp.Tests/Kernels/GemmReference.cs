using LstmSharp.Kernels;

namespace LstmSharp.Tests.Kernels;

/// <summary>
/// Runs <see cref="Gemm.Sgemm"/> on random operands laid out with padded strides (padding
/// filled with NaN so a stray read shows) and compares with a double-precision loop written
/// straight from the definition. Shared by the xunit tests and the child-process checks.
/// </summary>
internal static class GemmReference
{
    /// <summary>The sizes the brief asks for; every dimension meets each of them somewhere.</summary>
    public static readonly int[] Sizes = [1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 64, 129, 257, 513];

    /// <summary>
    /// One case. Returns null when it passes, else a readable failure (first bad element,
    /// expected, actual, bound, max error).
    /// </summary>
    public static string? Check(
        bool transA, bool transB, int m, int n, int k, float alpha, float beta,
        int padA = 0, int padB = 0, int padC = 0, bool nanInC = false, int seed = 1)
    {
        var rng = new Random(seed + (m * 7919) + (n * 104729) + (k * 13));
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = Math.Max(1, aCols + padA), ldb = Math.Max(1, bCols + padB), ldc = Math.Max(1, n + padC);
        float[] a = Matrix(rng, aRows, aCols, lda);
        float[] b = Matrix(rng, bRows, bCols, ldb);
        float[] c = Matrix(rng, m, n, ldc);
        if (nanInC)
        {
            for (int i = 0; i < m; i++)
            {
                Array.Fill(c, float.NaN, i * ldc, n);
            }
        }

        float[] before = (float[])c.Clone();
        Gemm.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

        double worst = 0;
        string? first = null;
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0, magnitude = 0;
                for (int p = 0; p < k; p++)
                {
                    double av = transA ? a[(p * lda) + i] : a[(i * lda) + p];
                    double bv = transB ? b[(j * ldb) + p] : b[(p * ldb) + j];
                    sum += av * bv;
                    magnitude += Math.Abs(av * bv);
                }

                double old = before[(i * ldc) + j];
                double expected = (alpha * sum) + (beta == 0 ? 0 : beta * old);
                double scale = (Math.Abs(alpha) * magnitude) + (beta == 0 ? 0 : Math.Abs(beta * old));
                // float32 summation error grows at most linearly with k (plus the final scaling steps).
                double bound = ((k + 4) * Math.Pow(2, -24) * scale) + 1e-30;
                double actual = c[(i * ldc) + j];
                double error = Math.Abs(actual - expected);
                if (!(error <= bound))
                {
                    first ??= $"C[{i},{j}]: expected {expected:R}, actual {actual:R}, bound {bound:E2}";
                }

                worst = Math.Max(worst, double.IsNaN(error) ? double.PositiveInfinity : error / Math.Max(scale, 1e-30));
            }

            for (int j = n; j < ldc; j++)
            {
                if (BitConverter.SingleToInt32Bits(c[(i * ldc) + j]) != BitConverter.SingleToInt32Bits(before[(i * ldc) + j]))
                {
                    first ??= $"padding C[{i},{j}] was written";
                }
            }
        }

        return first is null
            ? null
            : $"Sgemm(transA={transA}, transB={transB}, m={m}, n={n}, k={k}, alpha={alpha}, beta={beta}, "
              + $"lda={lda}, ldb={ldb}, ldc={ldc}, nanInC={nanInC}) on {Gemm.InstructionSet}: {first}; worst relative error {worst:E2}";
    }

    /// <summary>
    /// The core sample: all small (m, n) pairs over four depths, then the large sizes (each of
    /// 129, 257, 513 in every dimension, k across several KC slices, n across NC blocks),
    /// each in all four transpose combinations, with strides, alpha/beta ≠ 1 and NaN-filled C.
    /// </summary>
    public static IEnumerable<(bool TransA, bool TransB, int M, int N, int K, float Alpha, float Beta, int Pad, bool NanInC)> CoreCases(bool reduced)
    {
        int[] small = reduced ? [1, 2, 3, 7, 16, 17, 33] : [1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 64];
        int[] depths = reduced ? [1, 17] : [1, 3, 17, 64];
        int index = 0;
        foreach (int m in small)
        {
            foreach (int n in small)
            {
                foreach (int k in depths)
                {
                    index++;
                    var (alpha, beta, nan) = (index % 3) switch
                    {
                        0 => (1f, 0f, true),
                        1 => (1.5f, -0.75f, false),
                        _ => (-0.5f, 1f, false),
                    };
                    yield return (index % 2 == 0, index % 4 >= 2, m, n, k, alpha, beta, index % 5, nan);
                }
            }
        }

        (int M, int N, int K)[] large = reduced
            ? [(129, 33, 257), (3, 257, 129), (257, 17, 31), (1, 129, 513), (129, 1, 257), (15, 40, 1537), (1000, 15, 40), (20, 300, 1100)]
            : [
                (513, 7, 31), (3, 513, 129), (17, 31, 513), (129, 257, 33), (257, 129, 257),
                (31, 513, 17), (513, 64, 513), (1, 513, 257), (513, 1, 129), (7, 1057, 33),
                (200, 300, 600), (64, 129, 1), (1, 1, 513), (257, 3, 8),
                (15, 40, 1537), (1000, 15, 40), (3, 70, 1100), (128, 40, 10), (20, 300, 1100),
            ];
        foreach (var (m, n, k) in large)
        {
            foreach (bool ta in new[] { false, true })
            {
                foreach (bool tb in new[] { false, true })
                {
                    index++;
                    yield return (ta, tb, m, n, k, index % 2 == 0 ? 1f : 0.75f, index % 3 == 0 ? 0f : 1.25f, index % 4, index % 3 == 0);
                }
            }
        }
    }

    /// <summary>Runs the core sample; returns the failures (empty when all pass).</summary>
    public static List<string> RunCore(bool reduced)
    {
        var failures = new List<string>();
        foreach (var t in CoreCases(reduced))
        {
            string? failure = Check(t.TransA, t.TransB, t.M, t.N, t.K, t.Alpha, t.Beta, t.Pad, t.Pad + 1, t.Pad * 2, t.NanInC);
            if (failure is not null)
            {
                failures.Add(failure);
            }
        }

        return failures;
    }

    /// <summary>A [rows, ld] matrix: uniform values in [−1, 1) in the first cols of each row, NaN in the padding.</summary>
    private static float[] Matrix(Random rng, int rows, int cols, int ld)
    {
        var x = new float[Math.Max(1, rows * ld)];
        Array.Fill(x, float.NaN);
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
            {
                x[(i * ld) + j] = (float)((rng.NextDouble() * 2) - 1);
            }
        }

        return x;
    }
}
