using LstmSharp.Tensors;

namespace LstmSharp.Tests.Tensors;

public class InitializerTests
{
    private static readonly double Phi2 = Math.Exp(-2) / Math.Sqrt(2 * Math.PI);

    // Standard normal truncated to [-2, 2]: mass, variance and fourth moment.
    private static readonly double TruncMass = 0.954499736103642;
    private static readonly double TruncVar = 1 - (4 * Phi2 / TruncMass);
    private static readonly double TruncM4 = 3 - (28 * Phi2 / TruncMass);

    [Fact]
    public void FansFollowKeras()
    {
        Assert.Equal((1, 1), Initializers.ComputeFans(Array.Empty<int>()));
        Assert.Equal((5, 5), Initializers.ComputeFans(new[] { 5 }));
        Assert.Equal((3, 4), Initializers.ComputeFans(new[] { 3, 4 }));
        Assert.Equal((4 * 6, 5 * 6), Initializers.ComputeFans(new[] { 2, 3, 4, 5 }));
        Assert.Equal((3 * 7, 8 * 7), Initializers.ComputeFans(new[] { 7, 3, 8 }));
    }

    [Theory]
    [InlineData("glorot_uniform", 400, 600, "uniform", 1.0 / 500)]
    [InlineData("he_uniform", 400, 600, "uniform", 2.0 / 400)]
    [InlineData("lecun_uniform", 400, 600, "uniform", 1.0 / 400)]
    [InlineData("glorot_normal", 400, 600, "truncated", 1.0 / 500)]
    [InlineData("he_normal", 400, 600, "truncated", 2.0 / 400)]
    [InlineData("lecun_normal", 400, 600, "truncated", 1.0 / 400)]
    [InlineData("variance_scaling(scale=3, mode=fan_out, distribution=untruncated_normal)", 400, 600, "normal", 3.0 / 600)]
    [InlineData("variance_scaling(scale=0.5, mode=fan_avg, distribution=uniform)", 300, 500, "uniform", 0.5 / 400)]
    [InlineData("random_uniform", 300, 500, "uniform", 0.01 / 12)]
    [InlineData("random_normal", 300, 500, "normal", 0.0025)]
    [InlineData("truncated_normal", 300, 500, "truncated", 0.0025 * 0.773741)]
    public void RandomInitializersHaveTheKerasDistribution(string spec, int fanIn, int fanOut, string family, double variance)
    {
        var t = new Tensor(fanIn, fanOut);
        Initializers.Get(spec).Initialize(t, new Rng(11));
        var x = t.ToArray().Select(v => (double)v).ToArray();
        switch (family)
        {
            case "uniform":
                // U(-l, l): variance l²/3, fourth central moment l⁴/5.
                double l = Math.Sqrt(3 * variance);
                RngTests.AssertEvery(x, v => v >= -l * 1.000001 && v < l, $"{spec}: outside [-{l}, {l})");
                RngTests.AssertMoments(spec, x, mean: 0, variance: variance, fourthCentral: l * l * l * l / 5);
                break;
            case "normal":
                RngTests.AssertMoments(spec, x, mean: 0, variance: variance, fourthCentral: 3 * variance * variance);
                break;
            default:
                // The scaled truncated normal: stddev s with s²·TruncVar = variance, cut at 2s.
                double s = Math.Sqrt(variance / TruncVar);
                RngTests.AssertEvery(x, v => Math.Abs(v) <= 2 * s * 1.000001, $"{spec}: beyond 2·stddev {2 * s}");
                RngTests.AssertMoments(spec, x, mean: 0, variance: variance, fourthCentral: TruncM4 * s * s * s * s);
                break;
        }
    }

    [Fact]
    public void GlorotUniformOnA3DKernelUsesTheReceptiveField()
    {
        var t = new Tensor(3, 50, 80);
        Initializers.GlorotUniform().Initialize(t, new Rng(3));
        double limit = Math.Sqrt(6.0 / ((50 * 3) + (80 * 3)));
        Assert.All(t.ToArray(), v => Assert.InRange(v, -limit, limit));
        Assert.True(t.ToArray().Max(v => Math.Abs(v)) > 0.99 * limit, "the draws do not reach the receptive-field limit");
    }

    [Fact]
    public void TruncationCorrectionIsTheStddevOfTheTruncatedStandardNormal() =>
        Assert.Equal(VarianceScalingInitializer.TruncationCorrection, Math.Sqrt(TruncVar), 12);

    [Theory]
    [InlineData(new[] { 8, 8 }, 1f)]
    [InlineData(new[] { 40, 10 }, 1f)]
    [InlineData(new[] { 10, 40 }, 1f)]
    [InlineData(new[] { 2, 6, 9 }, 1.5f)]
    [InlineData(new[] { 1, 7 }, 1f)]
    [InlineData(new[] { 7, 1 }, 2f)]
    [InlineData(new[] { 64, 256 }, 1f)]
    public void OrthogonalIsOrthonormalAndMatchesGramSchmidtOfTheSameDraws(int[] shape, float gain)
    {
        var t = new Tensor(shape);
        const int seed = 21;
        Initializers.Orthogonal(gain).Initialize(t, new Rng(seed));
        int cols = shape[^1], rows = t.Length / cols;
        bool wide = rows < cols;
        int m = Math.Max(rows, cols), n = Math.Min(rows, cols);

        // Orthonormal columns (tall, square) or rows (wide), times gain².
        double worst = 0;
        for (int a = 0; a < n; a++)
        {
            for (int b = 0; b < n; b++)
            {
                double s = 0;
                for (int i = 0; i < m; i++)
                {
                    s += wide ? (double)t.Span[(a * cols) + i] * t.Span[(b * cols) + i] : (double)t.Span[(i * cols) + a] * t.Span[(i * cols) + b];
                }

                worst = Math.Max(worst, Math.Abs(s - (a == b ? gain * gain : 0)));
            }
        }

        Assert.True(worst < 1e-5 * gain * gain * Math.Sqrt(m), $"orthogonal {Tensor.FormatShape(shape)}: |QᵀQ - gain²I| reaches {worst:G3}");

        // Reference: the same [m, n] standard normal draws (row-major), modified Gram–Schmidt on the
        // columns. Gram–Schmidt yields R with a positive diagonal, which is exactly what the sign
        // correction of the Householder factor promises, so the two Q must agree.
        var rng = new Rng(seed);
        var q = new double[m, n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                q[i, j] = rng.NextStandardNormal();
            }
        }

        for (int j = 0; j < n; j++)
        {
            for (int p = 0; p < j; p++)
            {
                double d = 0;
                for (int i = 0; i < m; i++)
                {
                    d += q[i, p] * q[i, j];
                }

                for (int i = 0; i < m; i++)
                {
                    q[i, j] -= d * q[i, p];
                }
            }

            double norm = Math.Sqrt(Enumerable.Range(0, m).Sum(i => q[i, j] * q[i, j]));
            for (int i = 0; i < m; i++)
            {
                q[i, j] /= norm;
            }
        }

        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float actual = wide ? t.Span[(j * cols) + i] : t.Span[(i * cols) + j];
                double expected = gain * q[i, j];
                Assert.True(Math.Abs(actual - expected) < 1e-5, $"orthogonal {Tensor.FormatShape(shape)}: Q[{i}, {j}] = {actual}, Gram–Schmidt gives {expected}");
            }
        }
    }

    [Fact]
    public void ConstantsAndIdentity()
    {
        var t = new Tensor(2, 4);
        var rng = new Rng(0);
        Initializers.Ones().Initialize(t, rng);
        Assert.All(t.ToArray(), v => Assert.Equal(1f, v));
        Initializers.Zeros().Initialize(t, rng);
        Assert.All(t.ToArray(), v => Assert.Equal(0f, v));
        Initializers.Get("constant(value=0.25)").Initialize(t, rng);
        Assert.All(t.ToArray(), v => Assert.Equal(0.25f, v));
        Initializers.Identity(3f).Initialize(t, rng);
        Assert.Equal(new float[] { 3, 0, 0, 0, 0, 3, 0, 0 }, t.ToArray());
        var tall = new Tensor(3, 2);
        Initializers.Get("identity").Initialize(tall, rng);
        Assert.Equal(new float[] { 1, 0, 0, 1, 0, 0 }, tall.ToArray());
    }

    [Fact]
    public void SameSeedGivesIdenticalTensorsAndOtherSeedsDiffer()
    {
        foreach (string name in Initializers.Names)
        {
            var init = Initializers.Get(name);
            var a = new Tensor(12, 20);
            var b = new Tensor(12, 20);
            var c = new Tensor(12, 20);
            init.Initialize(a, new Rng(5));
            init.Initialize(b, new Rng(5));
            init.Initialize(c, new Rng(6));
            Assert.Equal(a.ToArray(), b.ToArray());
            bool random = name is not ("zeros" or "ones" or "constant" or "identity");
            Assert.True(random == !a.ToArray().SequenceEqual(c.ToArray()), $"{name}: seeds 5 and 6 {(random ? "gave the same" : "gave different")} tensors");
        }
    }

    [Fact]
    public void NamesClassNamesAliasesAndConfigsRoundTrip()
    {
        Assert.Equal("glorot_uniform", Initializers.Get("GlorotUniform").Name);
        Assert.Equal("he_normal", Initializers.Get("HeNormal").Name);
        Assert.Equal("random_uniform", Initializers.Get("uniform").Name);
        Assert.Equal("zeros", Initializers.Get("zero").Name);
        Assert.Equal("variance_scaling", Initializers.Get("VarianceScaling").Name);

        var custom = Initializers.Get("random_normal(mean=1, stddev=0.1)");
        Assert.Equal("random_normal(mean=1, stddev=0.1)", custom.GetConfig().ToString());

        var configs = Initializers.Names.Select(n => Initializers.Get(n).GetConfig())
            .Append(Initializers.VarianceScaling(2.5, FanMode.FanAvg, VarianceDistribution.Uniform).GetConfig())
            .Append(Initializers.Orthogonal(1.3f).GetConfig())
            .Append(Initializers.Constant(-0.7f).GetConfig())
            .Append(Initializers.TruncatedNormal(0.2f, 0.3f).GetConfig());
        foreach (var config in configs)
        {
            var rebuilt = Initializers.Get(config.ToString());
            Assert.Equal(config, rebuilt.GetConfig());
            Assert.Equal(config, Initializers.FromConfig(config).GetConfig());

            var a = new Tensor(6, 9);
            var b = new Tensor(6, 9);
            Initializers.FromConfig(config).Initialize(a, new Rng(8));
            rebuilt.Initialize(b, new Rng(8));
            Assert.Equal(a.ToArray(), b.ToArray());
        }

        // Keras configs carry seed=None; accepted.
        Assert.Equal("he_uniform", Initializers.Get("he_uniform(seed=None)").Name);
    }

    [Fact]
    public void BadNamesArgumentsAndShapesGiveClearErrors()
    {
        var e = Assert.Throws<ArgumentException>(() => Initializers.Get("glorot_unifrom"));
        Assert.Contains("'glorot_unifrom'", e.Message);
        Assert.Contains("glorot_uniform, glorot_normal", e.Message);

        e = Assert.Throws<ArgumentException>(() => Initializers.Get("random_normal(stdev=0.1)"));
        Assert.Contains("takes no argument stdev", e.Message);
        e = Assert.Throws<ArgumentException>(() => Initializers.Get("orthogonal(seed=3)"));
        Assert.Contains("seed", e.Message);
        e = Assert.Throws<ArgumentException>(() => Initializers.Get("random_normal(stddev=abc)"));
        Assert.Contains("stddev must be a number, got 'abc'", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.RandomUniform(1f, -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.RandomNormal(0f, -1f));
        e = Assert.Throws<ArgumentException>(() => Initializers.Get("variance_scaling(mode=fan_mid)"));
        Assert.Contains("fan_in, fan_out, fan_avg, got 'fan_mid'", e.Message);

        e = Assert.Throws<ArgumentException>(() => Initializers.Orthogonal().Initialize(new Tensor(5), new Rng(0)));
        Assert.Contains("orthogonal: needs a tensor of rank ≥ 2, got shape [5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Initializers.Identity().Initialize(new Tensor(2, 2, 2), new Rng(0)));
        Assert.Contains("identity: needs a 2-D tensor, got shape [2, 2, 2]", e.Message);
    }
}
