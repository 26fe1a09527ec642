using LstmSharp.Kernels;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Kernels;

[Collection(WorkerPoolCollection.Name)]
public class GemmTests
{
    [Fact]
    public void CoreSampleMatchesDoublePrecisionReference()
    {
        List<string> failures = GemmReference.RunCore(reduced: false);
        Assert.True(failures.Count == 0, $"{failures.Count} failing cases:\n{string.Join('\n', failures.Take(20))}");
    }

    public static TheoryData<int> SizeData() => new(GemmReference.Sizes);

    [Theory]
    [MemberData(nameof(SizeData))]
    public void EverySizeInEveryDimensionAndTransposeCombination(int size)
    {
        // Each size in each dimension, the other two drawn from sizes that cross MR/NR edges.
        (int M, int N, int K)[] shapes = [(size, 17, 33), (31, size, 7), (15, 33, size), (size, size, 3)];
        var failures = new List<string>();
        foreach (var (m, n, k) in shapes)
        {
            foreach (bool ta in new[] { false, true })
            {
                foreach (bool tb in new[] { false, true })
                {
                    string? failure = GemmReference.Check(ta, tb, m, n, k, 1.25f, 0.5f, padA: 1, padB: 2, padC: 3);
                    if (failure is not null)
                    {
                        failures.Add(failure);
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void BetaZeroIgnoresNaNInC(bool transA, bool transB)
    {
        foreach (var (m, n, k) in new[] { (1, 129, 17), (129, 1, 17), (33, 65, 300), (7, 7, 7) })
        {
            Assert.Null(GemmReference.Check(transA, transB, m, n, k, 2f, 0f, padC: 1, nanInC: true));
        }
    }

    public static TheoryData<int, int, int> NarrowShapeData() => new()
    {
        // Direct path (n ≤ 64, k ≤ 512): row-block and vector edges, the largest direct depth,
        // m large enough to be split over the pool.
        { 128, 40, 10 }, { 128, 10, 40 }, { 5, 2, 1 }, { 6, 16, 3 }, { 7, 17, 33 }, { 13, 48, 512 },
        { 31, 64, 100 }, { 2000, 15, 40 }, { 1000, 33, 257 },
        // Just past the direct limits (packed path).
        { 20, 65, 30 }, { 20, 30, 513 },
        // Split-k (m·n ≤ 4096, k > 1024): partial last chunk, several column strips, largest m·n.
        { 15, 40, 38400 }, { 10, 40, 1025 }, { 3, 70, 1100 }, { 64, 64, 1537 }, { 2, 2, 3000 },
        // Split-k with a row-major op(B) up to 64 rows or 16384 outputs (packed when transposed),
        // and just past both limits.
        { 28, 512, 1100 }, { 64, 257, 1030 }, { 100, 150, 1537 }, { 65, 300, 1025 },
    };

    [Theory]
    [MemberData(nameof(NarrowShapeData))]
    public void NarrowShapesMatchReferenceForEveryTransposeStrideAndBeta(int m, int n, int k)
    {
        var failures = new List<string>();
        int index = 0;
        foreach (bool ta in new[] { false, true })
        {
            foreach (bool tb in new[] { false, true })
            {
                foreach (var (alpha, beta, nan) in new[] { (1f, 0f, true), (0.75f, 1.25f, false), (-1.5f, 1f, false) })
                {
                    index++;
                    string? failure = GemmReference.Check(ta, tb, m, n, k, alpha, beta, padA: index % 3, padB: index % 4, padC: index % 2, nanInC: nan);
                    if (failure is not null)
                    {
                        failures.Add(failure);
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public void ZeroDepthOrZeroAlphaOnlyScalesC()
    {
        float[] c = [1, 2, 3, 4, float.NaN, 5];
        Gemm.Sgemm(false, false, 2, 3, 0, 1f, [], 1, [], 3, 2f, c, 3);
        Assert.Equal(new float[] { 2, 4, 6, 8, float.NaN, 10 }, c);

        float[] a = [float.NaN, 1, 2, 3];
        float[] b = [1, 2, 3, 4];
        float[] c2 = [float.NaN, float.NaN, float.NaN, float.NaN];
        Gemm.Sgemm(false, false, 2, 2, 2, 0f, a, 2, b, 2, 0f, c2, 2);
        Assert.Equal(new float[] { 0, 0, 0, 0 }, c2);
    }

    [Fact]
    public void EmptyOutputsAreNoOps()
    {
        float[] c = [7];
        Gemm.Sgemm(false, false, 0, 5, 3, 1f, [], 3, new float[15], 5, 0f, [], 5);
        Gemm.Sgemm(true, true, 4, 0, 3, 1f, new float[12], 4, [], 3, 0f, c, 1);
        Assert.Equal(7, c[0]);
    }

    [Fact]
    public void BadArgumentsNameTheArgumentAndTheSizes()
    {
        var a = new float[6];
        var b = new float[6];
        var c = new float[4];
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Sgemm(false, false, 2, 2, 3, 1f, a, 2, b, 2, 0f, c, 2));
        Assert.Contains("Gemm.Sgemm", e1.Message);
        Assert.Contains("lda", e1.Message);
        Assert.Contains("got 2", e1.Message);

        var e2 = Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 2, 2, 3, 1f, a, 3, b, 2, 0f, new float[3], 2));
        Assert.Contains("c holds 3 elements, expected at least 4", e2.Message);

        var e3 = Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, true, 2, 2, 4, 1f, new float[8], 4, b, 4, 0f, c, 2));
        Assert.Contains("b holds 6 elements, expected at least 8", e3.Message);

        var e4 = Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Sgemm(false, false, -1, 2, 3, 1f, a, 3, b, 2, 0f, c, 2));
        Assert.Contains("m=-1", e4.Message);
    }

    [Theory]
    [InlineData(false, false, 257, 513, 129)]
    [InlineData(true, true, 200, 300, 600)]
    [InlineData(false, true, 1, 2000, 700)]
    [InlineData(true, false, 1500, 1, 300)]
    [InlineData(true, false, 15, 40, 38400)]
    [InlineData(false, true, 38400, 15, 40)]
    [InlineData(false, true, 128, 128, 512)]
    [InlineData(false, false, 3000, 40, 64)]
    [InlineData(true, false, 28, 512, 3584)]
    [InlineData(true, false, 128, 128, 3584)]
    [InlineData(false, false, 100, 130, 300)]
    public void ResultsAreBitIdenticalForAnyThreadCount(bool transA, bool transB, int m, int n, int k)
    {
        var rng = new Random(42);
        float[] a = Random(rng, m * k);
        float[] b = Random(rng, k * n);
        float[] c0 = Random(rng, m * n);
        int lda = transA ? m : k, ldb = transB ? k : n;

        WorkerPool pool = WorkerPool.Shared;
        int saved = pool.ThreadCount;
        var results = new List<float[]>();
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                pool.ThreadCount = threads;
                float[] c = (float[])c0.Clone();
                Gemm.Sgemm(transA, transB, m, n, k, 0.5f, a, lda, b, ldb, 0.25f, c, n);
                results.Add(c);
            }
        }
        finally
        {
            pool.ThreadCount = saved;
        }

        for (int t = 1; t < results.Count; t++)
        {
            for (int i = 0; i < results[0].Length; i++)
            {
                Assert.True(
                    BitConverter.SingleToInt32Bits(results[0][i]) == BitConverter.SingleToInt32Bits(results[t][i]),
                    $"element {i}: 1 thread gave {results[0][i]:R}, {t + 1} threads gave {results[t][i]:R}");
            }
        }
    }

    /// <summary>
    /// A product with one row block reads A in place and gives each thread its own columns for
    /// every slice of k in one pass, with no barrier between slices. A thread that reaches the
    /// shallow last slice first must not write into the other's packed B (a race first seen as
    /// wrong rows of 65×1025·1025×300 with beta = 1), so the two-thread result must equal the
    /// one-thread bits on every repeat; rows past the last full 4/8/12-row panel are packed.
    /// </summary>
    [Theory]
    [InlineData(false, false, 65, 300, 1025)]
    [InlineData(true, false, 130, 200, 769)]
    [InlineData(false, true, 190, 100, 513)]
    [InlineData(true, true, 7, 96, 1030)]
    [InlineData(false, false, 64, 128, 512)]
    public void ColumnOwnersGiveTheOneThreadBitsOnEveryRepeat(bool transA, bool transB, int m, int n, int k)
    {
        var rng = new Random(7);
        float[] a = Random(rng, m * k);
        float[] b = Random(rng, k * n);
        float[] c0 = Random(rng, m * n);
        int lda = transA ? m : k, ldb = transB ? k : n;
        WorkerPool pool = WorkerPool.Shared;
        int saved = pool.ThreadCount;
        try
        {
            pool.ThreadCount = 1;
            float[] expected = (float[])c0.Clone();
            Gemm.Sgemm(transA, transB, m, n, k, -1.5f, a, lda, b, ldb, 1f, expected, n);
            Assert.Null(GemmReference.Check(transA, transB, m, n, k, -1.5f, 1f, padA: 1, padB: 2, padC: 1, nanInC: false));
            pool.ThreadCount = 2;
            for (int repeat = 0; repeat < 25; repeat++)
            {
                float[] c = (float[])c0.Clone();
                Gemm.Sgemm(transA, transB, m, n, k, -1.5f, a, lda, b, ldb, 1f, c, n);
                for (int i = 0; i < c.Length; i++)
                {
                    Assert.True(
                        BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(c[i]),
                        $"repeat {repeat}, C[{i / n},{i % n}]: 1 thread gave {expected[i]:R}, 2 threads gave {c[i]:R}");
                }
            }
        }
        finally
        {
            pool.ThreadCount = saved;
        }
    }

    [Theory]
    [InlineData(SimdPath.Vector256)]
    [InlineData(SimdPath.Scalar)]
    public void CoreSamplePassesWithNarrowerInstructionSets(SimdPath path)
        => SimdChildProcess.Run(path, typeof(GemmTests), nameof(ReducedCoreSampleOnThisProcessPath));

    /// <summary>Body of the child-process runs: a reduced core sample on whatever path the JIT allows.</summary>
    internal static void ReducedCoreSampleOnThisProcessPath()
    {
        // The kernels must have noticed the switched-off instruction sets.
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
        {
            Assert.NotEqual("Avx512", Gemm.InstructionSet);
        }

        if (!System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
        {
            Assert.Equal("Scalar", Gemm.InstructionSet);
        }

        List<string> failures = GemmReference.RunCore(reduced: true);
        Assert.True(failures.Count == 0, $"{failures.Count} failing cases on {Gemm.InstructionSet}:\n{string.Join('\n', failures.Take(20))}");
    }

    private static float[] Random(Random rng, int length)
    {
        var x = new float[length];
        for (int i = 0; i < length; i++)
        {
            x[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return x;
    }
}

/// <summary>Tests that change <see cref="WorkerPool.ThreadCount"/> run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class WorkerPoolCollection
{
    public const string Name = "WorkerPool";
}
