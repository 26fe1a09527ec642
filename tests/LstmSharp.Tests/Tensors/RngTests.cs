using LstmSharp.Tensors;

namespace LstmSharp.Tests.Tensors;

/// <summary>Tests that use the process-wide seed run alone, so no other test draws from it meanwhile.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalRngCollection
{
    public const string Name = "Global Rng";
}

public class RngTests
{
    // ------------------------------------------------------------ published reference values

    [Fact]
    public void SplitMix64MatchesThePublishedSequenceForSeed1234567()
    {
        // Reference outputs of Vigna's splitmix64.c for seed 1234567 (as listed on Rosetta Code).
        ulong[] expected = { 0x599ED017FB08FC85, 0x2C73F08458540FA5, 0x883EBCE5A3F27C77, 0x3FBEF740E9177B3F, 0xE3B8346708CB5ECD };
        ulong state = 1234567;
        foreach (ulong e in expected)
        {
            Assert.Equal(e, Rng.SplitMix64(ref state));
        }

        // Seeding fills the xoshiro state with the first four SplitMix64 outputs.
        Assert.Equal(expected[..4], new Rng(1234567).GetState());
    }

    [Fact]
    public void Xoshiro256StarStarMatchesTheReferenceImplementation()
    {
        // From state {0, 0, 0, 1}: outputs of the reference C code (xoshiro256starstar.c), as published
        // with the xoshiro-fortran cross-check tables.
        ulong[] fromOne =
        {
            0x0000000000000000, 0x0000000000000000, 0x0000000000001680, 0x02D0000000001680, 0x02D0005A2D001680,
            0x0000005A2D0B4120, 0x68B45A5A2D0B57A0, 0x68B48716AD000120, 0x1CB48716B2A00288, 0x11B10070BDEB59BC,
        };
        var rng = Rng.FromState(new ulong[] { 0, 0, 0, 1 });
        foreach (ulong e in fromOne)
        {
            Assert.Equal(e, rng.NextUInt64());
        }

        // From state {1, 2, 3, 4}: the rand_xoshiro crate's reference test values.
        ulong[] fromOneTwoThreeFour =
        {
            11520, 0, 1509978240, 1215971899390074240, 1216172134540287360, 607988272756665600,
            16172922978634559625, 8476171486693032832, 10595114339597558777, 2904607092377533576,
        };
        rng = Rng.FromState(new ulong[] { 1, 2, 3, 4 });
        foreach (ulong e in fromOneTwoThreeFour)
        {
            Assert.Equal(e, rng.NextUInt64());
        }
    }

    [Fact]
    public void JumpAndLongJumpMatchTheReferenceImplementation()
    {
        var rng = Rng.FromState(new ulong[] { 0, 0, 0, 1 });
        rng.Jump();
        Assert.Equal(new ulong[] { 0x934D05E8B2076310, 0xEABDD0BF76A1BE51, 0x75DD6A992ACCB1E8, 0xC660C602A7330187 }, rng.GetState());
        Assert.Equal(0xAED8D3ED373A211AUL, rng.NextUInt64());
        Assert.Equal(0x055BAFF45A8CDB8EUL, rng.NextUInt64());

        rng = Rng.FromState(new ulong[] { 0, 0, 0, 1 });
        rng.LongJump();
        Assert.Equal(new ulong[] { 0x4AA11F0B3241CDBF, 0xB6A17239B35B197F, 0x504952572E3F844B, 0x2628DF68616FD3A0 }, rng.GetState());
        Assert.Equal(0x308A124381BDAC08UL, rng.NextUInt64());
    }

    // ------------------------------------------------------------ determinism and children

    [Fact]
    public void SameSeedSameStreamDifferentSeedsDiffer()
    {
        var a = new Rng(42);
        var b = new Rng(42);
        var c = new Rng(43);
        var xa = new float[1000];
        var xb = new float[1000];
        var xc = new float[1000];
        a.FillNormal(xa);
        b.FillNormal(xb);
        c.FillNormal(xc);
        Assert.Equal(xa, xb);
        Assert.True(xa.Zip(xc).Count(p => p.First == p.Second) < 5, "seeds 42 and 43 gave nearly the same normals");
        Assert.NotEqual(new Rng(-1).NextUInt64(), new Rng(1).NextUInt64());
    }

    [Fact]
    public void ForkAndSplitGiveReproducibleIndependentChildren()
    {
        var parent = new Rng(7);
        var state = parent.GetState();
        var s1 = parent.Split(1);
        var s1Again = parent.Split(1);
        var s2 = parent.Split(2);
        Assert.Equal(state, parent.GetState()); // Split does not advance the parent
        Assert.Equal(s1.NextUInt64(), s1Again.NextUInt64());

        var f1 = parent.Fork();
        Assert.NotEqual(state, parent.GetState()); // Fork does
        var f2 = parent.Fork();
        var replay = new Rng(7);
        Assert.Equal(replay.Fork().NextUInt64(), new Rng(7).Fork().NextUInt64());

        // Streams are uncorrelated with each other and with the parent.
        const int n = 20000;
        var streams = new[] { s1, s2, f1, f2, parent };
        var draws = streams.Select(r => Enumerable.Range(0, n).Select(_ => r.NextDouble()).ToArray()).ToArray();
        for (int i = 0; i < draws.Length; i++)
        {
            for (int j = i + 1; j < draws.Length; j++)
            {
                double corr = Correlation(draws[i], draws[j]);
                Assert.True(Math.Abs(corr) < 5 / Math.Sqrt(n), $"streams {i} and {j} correlate: {corr:F4}");
                Assert.True(draws[i].Zip(draws[j]).Count(p => p.First == p.Second) == 0, $"streams {i} and {j} share values");
            }
        }
    }

    // ------------------------------------------------------------ statistics (5-sigma bounds)

    [Fact]
    public void UniformsHaveTheRightMomentsAndRange()
    {
        var rng = new Rng(1);
        const int n = 200_000;
        var d = new double[n];
        var f = new float[n];
        for (int i = 0; i < n; i++)
        {
            d[i] = rng.NextDouble();
            f[i] = rng.NextFloat();
        }

        foreach (var (name, x) in new[] { ("NextDouble", d), ("NextFloat", f.Select(v => (double)v).ToArray()) })
        {
            AssertEvery(x, v => v >= 0.0 && v < 1.0, $"{name}: outside [0, 1)");
            AssertMoments(name, x, mean: 0.5, variance: 1.0 / 12, fourthCentral: 1.0 / 80);
            Assert.True(Math.Abs(Correlation(x[..^1], x[1..])) < 5 / Math.Sqrt(n), $"{name}: consecutive draws correlate");
        }

        var u = new float[n];
        rng.FillUniform(u, -0.05f, 0.05f);
        AssertEvery(u, v => v >= -0.05f && v < 0.05f, "FillUniform: outside [-0.05, 0.05)");
        AssertMoments("FillUniform", u.Select(v => (double)v).ToArray(), mean: 0, variance: 0.01 / 12, fourthCentral: 1e-4 / 80);
        Assert.InRange(rng.Uniform(2f, 3f), 2f, MathF.BitDecrement(3f));
    }

    [Fact]
    public void IntegersAreUniformByChiSquare()
    {
        var rng = new Rng(2);
        foreach (int k in new[] { 1, 2, 7, 10, 1000 })
        {
            int n = 200 * k;
            var counts = new int[k];
            for (int i = 0; i < n; i++)
            {
                counts[rng.NextInt(k)]++;
            }

            AssertChiSquareUniform($"NextInt({k})", counts, n);
        }

        for (int i = 0; i < 1000; i++)
        {
            Assert.InRange(rng.NextInt(-3, 4), -3, 3);
            Assert.InRange(rng.NextInt(int.MinValue, int.MaxValue), int.MinValue, int.MaxValue - 1);
        }
    }

    [Fact]
    public void NormalsHaveGaussianMomentsAndTails()
    {
        var rng = new Rng(3);
        const int n = 200_000;
        var x = new float[n];
        rng.FillNormal(x, 1.5f, 2f);
        var z = x.Select(v => (v - 1.5) / 2).ToArray();
        AssertMoments("FillNormal", z, mean: 0, variance: 1, fourthCentral: 3);
        AssertFraction("|z| < 1", z.Count(v => Math.Abs(v) < 1), n, 0.682689492);
        AssertFraction("|z| < 2", z.Count(v => Math.Abs(v) < 2), n, 0.954499736);

        rng.FillTruncatedNormal(x, 0f, 0.5f);
        AssertEvery(x, v => Math.Abs(v) <= 1f, "FillTruncatedNormal: beyond 2 stddev");

        // Standard normal truncated to [-2, 2]: variance 1 − 2·2·φ(2)/(Φ(2) − Φ(−2)).
        double phi2 = Math.Exp(-2) / Math.Sqrt(2 * Math.PI);
        double truncVar = 1 - (4 * phi2 / 0.954499736);
        double m4 = 3 - ((2 * 8 * phi2) / 0.954499736) - (3 * 4 * phi2 / 0.954499736); // E[z^4] for the truncation
        AssertMoments("FillTruncatedNormal", x.Select(v => v / 0.5).ToArray(), mean: 0, variance: truncVar, fourthCentral: m4);
    }

    [Fact]
    public void ShuffleMakesEveryPermutationEquallyLikely()
    {
        var rng = new Rng(4);
        var counts = new Dictionary<string, int>();
        const int n = 24_000;
        var p = new int[5];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < p.Length; j++)
            {
                p[j] = j;
            }

            rng.Shuffle(p);
            string key = string.Concat(p);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        Assert.Equal(120, counts.Count);
        AssertChiSquareUniform("Shuffle of 5", counts.Values.ToArray(), n);

        var perm = rng.Permutation(1000);
        Assert.Equal(Enumerable.Range(0, 1000), perm.Order());
    }

    [Fact]
    public void BernoulliAndDropoutMasksHaveTheRightRates()
    {
        var rng = new Rng(5);
        const int n = 100_000;
        var mask = new float[n];
        foreach (float p in new[] { 0f, 0.1f, 0.5f, 0.9f, 1f })
        {
            rng.Bernoulli(mask, p);
            AssertEvery(mask, v => v == 0f || v == 1f, $"Bernoulli({p}): not 0 or 1");
            AssertFraction($"Bernoulli({p})", mask.Count(v => v == 1f), n, p);
        }

        rng.DropoutMask(mask, 0.25f);
        AssertEvery(mask, v => v == 0f || v == 1f / 0.75f, "DropoutMask(0.25): not 0 or 1/0.75");
        AssertFraction("DropoutMask(0.25) dropped", mask.Count(v => v == 0f), n, 0.25);
        Assert.InRange(mask.Average(), 1 - (5 * Math.Sqrt(0.25 * 0.75 / n) / 0.75), 1 + (5 * Math.Sqrt(0.25 * 0.75 / n) / 0.75));
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        var rng = new Rng(0);
        Assert.Contains("maxExclusive must be positive, got 0", Assert.Throws<ArgumentOutOfRangeException>(() => rng.NextInt(0)).Message);
        Assert.Contains("rate must be in [0, 1), got 1", Assert.Throws<ArgumentOutOfRangeException>(() => rng.DropoutMask(new float[2], 1f)).Message);
        Assert.Contains("low < high", Assert.Throws<ArgumentOutOfRangeException>(() => rng.Uniform(1f, 1f)).Message);
        Assert.Contains("stddev", Assert.Throws<ArgumentOutOfRangeException>(() => rng.Normal(0f, -1f)).Message);
        Assert.Contains("all-zero", Assert.Throws<ArgumentException>(() => Rng.FromState(new ulong[4])).Message);
    }

    // ------------------------------------------------------------ helpers

    /// <summary>Asserts <paramref name="ok"/> for every value; the message (with the first offender) is built only on failure.</summary>
    internal static void AssertEvery<T>(IReadOnlyList<T> values, Func<T, bool> ok, string label)
    {
        for (int i = 0; i < values.Count; i++)
        {
            if (!ok(values[i]))
            {
                Assert.Fail($"{label}: value [{i}] = {values[i]}");
            }
        }
    }

    private static double Correlation(double[] a, double[] b)
    {
        double ma = a.Average(), mb = b.Average();
        double sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sab += (a[i] - ma) * (b[i] - mb);
            saa += (a[i] - ma) * (a[i] - ma);
            sbb += (b[i] - mb) * (b[i] - mb);
        }

        return sab / Math.Sqrt(saa * sbb);
    }

    /// <summary>Mean and variance within 5 standard errors (the variance's standard error from the 4th moment).</summary>
    internal static void AssertMoments(string label, double[] x, double mean, double variance, double fourthCentral)
    {
        int n = x.Length;
        double m = x.Average();
        double v = x.Sum(t => (t - m) * (t - m)) / (n - 1);
        double seMean = Math.Sqrt(variance / n);
        double seVar = Math.Sqrt((fourthCentral - (variance * variance)) / n);
        Assert.True(Math.Abs(m - mean) < 5 * seMean, $"{label}: mean {m:G6}, expected {mean:G6} ± {5 * seMean:G3}");
        Assert.True(Math.Abs(v - variance) < 5 * seVar, $"{label}: variance {v:G6}, expected {variance:G6} ± {5 * seVar:G3}");
    }

    private static void AssertFraction(string label, int hits, int n, double p)
    {
        double se = Math.Sqrt(p * (1 - p) / n);
        double f = (double)hits / n;
        Assert.True(Math.Abs(f - p) <= (5 * se) + 1e-12, $"{label}: fraction {f:G6}, expected {p:G6} ± {5 * se:G3}");
    }

    /// <summary>Pearson χ² against equal cells, accepted below mean + 5 standard deviations of χ²(k−1).</summary>
    private static void AssertChiSquareUniform(string label, int[] counts, int n)
    {
        int k = counts.Length;
        if (k < 2)
        {
            Assert.Equal(n, counts.Sum());
            return;
        }

        double expected = (double)n / k;
        double chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        double limit = (k - 1) + (5 * Math.Sqrt(2.0 * (k - 1)));
        Assert.True(chi2 < limit, $"{label}: χ² = {chi2:F1} with {k - 1} degrees of freedom, limit {limit:F1}");
    }
}

[Collection(GlobalRngCollection.Name)]
public class GlobalRngTests
{
    [Fact]
    public void TheGlobalSeedMakesLayerCreationReproducible()
    {
        Rng.SetGlobalSeed(1234);
        var first = new[] { Rng.CreateFromGlobal().NextUInt64(), Rng.CreateFromGlobal().NextUInt64(), (ulong)Rng.NextGlobalSeed() };
        Rng.SetGlobalSeed(1234);
        var again = new[] { Rng.CreateFromGlobal().NextUInt64(), Rng.CreateFromGlobal().NextUInt64(), (ulong)Rng.NextGlobalSeed() };
        Rng.SetGlobalSeed(1235);
        var other = new[] { Rng.CreateFromGlobal().NextUInt64(), Rng.CreateFromGlobal().NextUInt64(), (ulong)Rng.NextGlobalSeed() };
        Assert.Equal(first, again);
        Assert.NotEqual(first[0], first[1]);
        Assert.DoesNotContain(other, first.Contains);
    }

    [Fact]
    public void GlobalDrawsAreSafeAcrossThreads()
    {
        Rng.SetGlobalSeed(99);
        var expected = new HashSet<long>();
        for (int i = 0; i < 4000; i++)
        {
            expected.Add(Rng.NextGlobalSeed());
        }

        Rng.SetGlobalSeed(99);
        var seen = new System.Collections.Concurrent.ConcurrentBag<long>();
        Parallel.For(0, 4, _ =>
        {
            for (int i = 0; i < 1000; i++)
            {
                seen.Add(Rng.NextGlobalSeed());
            }
        });

        // Under the lock every draw is a distinct element of the same sequence.
        Assert.Equal(4000, seen.Distinct().Count());
        Assert.True(expected.SetEquals(seen));
    }
}
