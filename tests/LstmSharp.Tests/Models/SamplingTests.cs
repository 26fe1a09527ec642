using LstmSharp.Models;
using LstmSharp.Tensors;

namespace LstmSharp.Tests.Models;

public class SamplingTests
{
    private static double[] Frequencies(float[] logits, SamplingOptions options, int draws = 20_000, int seed = 7)
    {
        var rng = new Rng(seed);
        var f = new double[logits.Length];
        for (int i = 0; i < draws; i++)
        {
            f[Sampling.Sample(logits, options, rng)] += 1.0 / draws;
        }

        return f;
    }

    private static float[] LogitsOf(params double[] probabilities) => probabilities.Select(p => (float)Math.Log(p)).ToArray();

    [Fact]
    public void TemperatureOneDrawsTheSoftmaxAndTemperatureSharpensIt()
    {
        var logits = LogitsOf(0.5, 0.3, 0.15, 0.05);
        var f = Frequencies(logits, new SamplingOptions(1.0));
        double[] expected = [0.5, 0.3, 0.15, 0.05];
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(expected[i], f[i], 0.015);
        }

        // T = 0.5: p^2 renormalised.
        double z = expected.Sum(p => p * p);
        var cold = Frequencies(logits, new SamplingOptions(0.5));
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(expected[i] * expected[i] / z, cold[i], 0.015);
        }
    }

    [Fact]
    public void TemperatureZeroAndTopKOneAreArgmax()
    {
        float[] logits = [0.1f, 2.5f, 2.4f, -1f];
        var rng = new Rng(1);
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(1, Sampling.Sample(logits, new SamplingOptions(0), rng));
            Assert.Equal(1, Sampling.Sample(logits, new SamplingOptions(1.5, TopK: 1), rng));
        }

        Assert.Equal(1, Sampling.ArgMax(logits));
    }

    [Fact]
    public void TopKKeepsTheKMostLikelyAndTheirTies()
    {
        var logits = LogitsOf(0.4, 0.1, 0.3, 0.2);
        var f = Frequencies(logits, new SamplingOptions(1.0, TopK: 2));
        Assert.Equal(0, f[1]);
        Assert.Equal(0, f[3]);
        Assert.Equal(0.4 / 0.7, f[0], 0.015);
        Assert.Equal(0.3 / 0.7, f[2], 0.015);

        float[] tied = [1f, 0f, 1f, 1f];
        var t = Frequencies(tied, new SamplingOptions(1.0, TopK: 2));
        Assert.Equal(0, t[1]);
        Assert.All(new[] { t[0], t[2], t[3] }, v => Assert.Equal(1.0 / 3, v, 0.015));
    }

    [Fact]
    public void TopPKeepsTheSmallestNucleusReachingP()
    {
        var logits = LogitsOf(0.15, 0.5, 0.05, 0.3);
        var f = Frequencies(logits, new SamplingOptions(1.0, TopP: 0.7)); // 0.5 + 0.3 ≥ 0.7
        Assert.Equal(0, f[0]);
        Assert.Equal(0, f[2]);
        Assert.Equal(0.5 / 0.8, f[1], 0.015);

        var g = Frequencies(logits, new SamplingOptions(1.0, TopP: 0.85)); // needs the 0.15 as well
        Assert.Equal(0, g[2]);
        Assert.Equal(0.15 / 0.95, g[0], 0.015);

        var only = Frequencies(logits, new SamplingOptions(1.0, TopP: 0.01));
        Assert.Equal(1.0, only[1], 1e-9);

        var both = Frequencies(logits, new SamplingOptions(1.0, TopK: 3, TopP: 0.9)); // top-3 = {0.5, 0.3, 0.15}, renormalised; 0.9 of it needs all three
        Assert.Equal(0, both[2]);
        Assert.True(both[0] > 0.1);
    }

    [Fact]
    public void SameSeedSameDraws()
    {
        float[] logits = [0.3f, 0.1f, 0.9f, 0.5f, -0.2f];
        var a = new Rng(123);
        var b = new Rng(123);
        var options = new SamplingOptions(0.8, TopK: 4, TopP: 0.95);
        var xs = Enumerable.Range(0, 200).Select(_ => Sampling.Sample(logits, options, a)).ToArray();
        var ys = Enumerable.Range(0, 200).Select(_ => Sampling.Sample(logits, options, b)).ToArray();
        Assert.Equal(xs, ys);
        Assert.True(xs.Distinct().Count() >= 3);
    }

    [Fact]
    public void ProbabilitiesAreSampledAsTheirLogarithms()
    {
        float[] probs = [0.2f, 0f, 0.8f];
        var rng = new Rng(3);
        var counts = new int[3];
        for (int i = 0; i < 10_000; i++)
        {
            counts[Sampling.SampleFromProbabilities(probs, new SamplingOptions(), rng)]++;
        }

        Assert.Equal(0, counts[1]);
        Assert.Equal(0.8, counts[2] / 10_000.0, 0.02);
    }

    [Fact]
    public void BadOptionsAndLogitsAreNamed()
    {
        var rng = new Rng(1);
        float[] ok = [1f, 2f];
        Assert.Contains("temperature", Assert.Throws<ArgumentOutOfRangeException>(() => Sampling.Sample(ok, new SamplingOptions(-1), rng)).Message);
        Assert.Contains("temperature", Assert.Throws<ArgumentOutOfRangeException>(() => Sampling.Sample(ok, new SamplingOptions(double.NaN), rng)).Message);
        Assert.Contains("topK", Assert.Throws<ArgumentOutOfRangeException>(() => Sampling.Sample(ok, new SamplingOptions(TopK: 0), rng)).Message);
        Assert.Contains("topP", Assert.Throws<ArgumentOutOfRangeException>(() => Sampling.Sample(ok, new SamplingOptions(TopP: 0), rng)).Message);
        Assert.Contains("topP", Assert.Throws<ArgumentOutOfRangeException>(() => Sampling.Sample(ok, new SamplingOptions(TopP: 1.5), rng)).Message);
        Assert.Contains("logit 1 is NaN", Assert.Throws<ArgumentException>(() => Sampling.Sample([0f, float.NaN], new SamplingOptions(), rng)).Message);
        Assert.Contains("-infinity", Assert.Throws<ArgumentException>(() => Sampling.Sample([float.NegativeInfinity], new SamplingOptions(), rng)).Message);
        Assert.Throws<ArgumentException>(() => Sampling.Sample([], new SamplingOptions(), rng));
    }
}
