using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Tests.Training;

public class LossTests
{
    private static Tensor T(float[] data, params int[] shape) => Tensor.FromArray(data, shape);

    [Fact]
    public void CategoricalFromProbabilitiesMatchesHandValues()
    {
        // Row 0: −log 0.7; row 1: −log 0.5; mean of the two.
        var p = T([0.2f, 0.7f, 0.1f, 0.5f, 0.25f, 0.25f], 2, 3);
        var y = T([0, 1, 0, 1, 0, 0], 2, 3);
        double expected = (-Math.Log(0.7) - Math.Log(0.5)) / 2;
        Assert.Equal(expected, new CategoricalCrossentropy().Compute(p, y), 1e-6);

        // Rows are renormalised first: [1, 2, 1] / 4 → the target class has q = 0.5.
        var unnormalised = T([1f, 2f, 1f], 1, 3);
        Assert.Equal(Math.Log(2), new CategoricalCrossentropy().Compute(unnormalised, T([0, 1, 0], 1, 3)), 1e-6);
    }

    [Fact]
    public void CategoricalFromLogitsMatchesHandValues()
    {
        // lse([1, 2, 3]) = 3 + log(e^−2 + e^−1 + 1); loss = lse − 3.
        var x = T([1f, 2f, 3f], 1, 3);
        double lse = 3 + Math.Log(Math.Exp(-2) + Math.Exp(-1) + 1);
        Assert.Equal(lse - 3, new CategoricalCrossentropy(fromLogits: true).Compute(x, T([0, 0, 1], 1, 3)), 1e-6);
        Assert.Equal(lse - 1, new SparseCategoricalCrossentropy(fromLogits: true).Compute(x, T([0f], 1)), 1e-6);
    }

    [Fact]
    public void ExtremeLogitsAndSaturatedProbabilitiesStayFinite()
    {
        // Logits ±100: lse = 100 + log(1 + e^−200) = 100 (to double precision), so loss = 200 for the wrong class.
        var x = T([100f, -100f, -100f, 100f], 2, 2);
        var y = T([0, 1, 0, 1], 2, 2);
        var d = new Tensor(2, 2);
        double loss = new CategoricalCrossentropy(fromLogits: true).Compute(x, y, d);
        Assert.Equal((200 + 0) / 2.0, loss, 1e-4);
        // ∂L/∂x = (softmax − y)/B: row 0 → [1, −1]/2, row 1 → [0, 0].
        Assert.Equal([0.5f, -0.5f, 0f, 0f], d.ToArray());

        // Probabilities exactly 0 and 1: the clip gives −log(1e−7) for the wrong class, 0 gradient where clipped.
        var p = T([0f, 1f], 1, 2);
        double cce = new CategoricalCrossentropy().Compute(p, T([1, 0], 1, 2), d = new Tensor(1, 2));
        Assert.Equal(-Math.Log(1e-7f), cce, 1e-5);
        Assert.All(d.ToArray(), v => Assert.True(float.IsFinite(v)));

        double sparse = new SparseCategoricalCrossentropy().Compute(p, T([0f], 1), d);
        Assert.Equal(-Math.Log(1e-7f), sparse, 1e-5);
        Assert.All(d.ToArray(), v => Assert.Equal(0f, v));

        // Binary: p = 1, z = 0 → −log(1 − (1 − 1e−7 in float32)) = −log(2^−23) = 23 log 2.
        var bd = new Tensor(2, 1);
        double bce = new BinaryCrossentropy().Compute(T([1f, 0f], 2, 1), T([0f, 0f], 2, 1), bd);
        Assert.Equal(((23 * Math.Log(2)) - Math.Log(1 - 1e-7f)) / 2, bce, 1e-5);
        Assert.All(bd.ToArray(), v => Assert.True(float.IsFinite(v)));

        // Binary from logits: x = 100, z = 0 → 100; x = −100, z = 1 → 100; x = 100, z = 1 → ~0.
        double bl = new BinaryCrossentropy(fromLogits: true).Compute(T([100f, -100f, 100f], 3, 1), T([0f, 1f, 1f], 3, 1), bd = new Tensor(3, 1));
        Assert.Equal(200.0 / 3, bl, 1e-5);
        Assert.Equal([1f / 3, -1f / 3, 0f], bd.ToArray());
    }

    [Fact]
    public void BinaryCrossentropyAveragesTheLastAxisThenTheBatch()
    {
        // Keras's docstring example: y = [[0, 1], [0, 0]], p = [[0.6, 0.4], [0.4, 0.6]].
        // Row 0: −(log 0.4 + log 0.4)/2 = 0.9163; row 1: −(log 0.6 + log 0.4)/2 = 0.7136.
        var p = T([0.6f, 0.4f, 0.4f, 0.6f], 2, 2);
        var y = T([0, 1, 0, 0], 2, 2);
        double r0 = -(Math.Log(0.4) + Math.Log(0.4)) / 2;
        double r1 = -(Math.Log(0.6) + Math.Log(0.4)) / 2;
        Assert.Equal((r0 + r1) / 2, new BinaryCrossentropy().Compute(p, y), 1e-6);

        // A [B, 1] prediction accepts [B] targets.
        Assert.Equal(-Math.Log(0.6), new BinaryCrossentropy().Compute(T([0.6f], 1, 1), T([1f], 1)), 1e-6);
    }

    [Fact]
    public void RegressionLossesMatchHandValues()
    {
        // Row 0: diffs [1, −2] → mse 2.5, mae 1.5; row 1: diffs [0.5, 0] → mse 0.125, mae 0.25.
        var p = T([2f, 0f, 1.5f, 3f], 2, 2);
        var y = T([1f, 2f, 1f, 3f], 2, 2);
        Assert.Equal((2.5 + 0.125) / 2, Losses.Get("mse").Compute(p, y), 1e-6);
        Assert.Equal((1.5 + 0.25) / 2, Losses.Get("mae").Compute(p, y), 1e-6);
        var d = new Tensor(2, 2);
        Losses.Get("mean_absolute_error").Compute(p, y, d);
        // sign(diff) / (C · B), and 0 at a tie.
        Assert.Equal([0.25f, -0.25f, 0.25f, 0f], d.ToArray());
    }

    [Fact]
    public void SampleWeightsScaleEachLossValueAndDivideByTheirCount()
    {
        // Sequence output [B=2, T=2, C=1]: per-value losses (p − y)² = 1, 4, 9, 16.
        var p = T([1f, 2f, 3f, 4f], 2, 2, 1);
        var y = new Tensor(2, 2, 1);
        var mse = new MeanSquaredError();
        Assert.Equal((1 + 4 + 9 + 16) / 4.0, mse.Compute(p, y), 1e-6);
        // One weight per sample broadcasts over time: (0.5·(1 + 4) + 2·(9 + 16)) / 4.
        Assert.Equal(((0.5 * 5) + (2 * 25)) / 4.0, mse.Compute(p, y, null, [0.5f, 2f]), 1e-6);
        // One weight per value (temporal weights), zero weights still count in the denominator.
        var d = new Tensor(2, 2, 1);
        Assert.Equal((0 + 4 + 9 + 0) / 4.0, mse.Compute(p, y, d, [0f, 1f, 1f, 0f]), 1e-6);
        Assert.Equal([0f, 1f, 1.5f, 0f], d.ToArray());
        var e = Assert.Throws<ArgumentException>(() => mse.Compute(p, y, null, [1f, 2f, 3f]));
        Assert.Contains("sampleWeights", e.Message);
    }

    [Fact]
    public void BadShapesAndLabelsGiveClearErrors()
    {
        var p = new Tensor(2, 3);
        var e = Assert.Throws<ArgumentException>(() => new CategoricalCrossentropy().Compute(p, new Tensor(2, 4)));
        Assert.Contains("categorical_crossentropy", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[2, 4]", e.Message);

        e = Assert.Throws<ArgumentException>(() => new SparseCategoricalCrossentropy(true).Compute(p, T([0f, 3f], 2)));
        Assert.Contains("[0, 3)", e.Message);
        Assert.Contains("got 3", e.Message);
        e = Assert.Throws<ArgumentException>(() => new SparseCategoricalCrossentropy(true).Compute(p, T([0f, 1.5f], 2)));
        Assert.Contains("1.5", e.Message);

        e = Assert.Throws<ArgumentException>(() => new CategoricalCrossentropy().Compute(p, new Tensor(2, 3)));
        Assert.Contains("sum to 0", e.Message);

        e = Assert.Throws<ArgumentException>(() => new MeanSquaredError().Compute(p, new Tensor(2, 3), new Tensor(3, 2)));
        Assert.Contains("dPred", e.Message);

        e = Assert.Throws<ArgumentException>(() => Losses.Get("hinge"));
        Assert.Contains("binary_crossentropy", e.Message);
        Assert.Contains("'hinge'", e.Message);
    }

    [Theory]
    [InlineData("categorical_crossentropy", false)]
    [InlineData("categorical_crossentropy", true)]
    [InlineData("sparse_categorical_crossentropy", false)]
    [InlineData("sparse_categorical_crossentropy", true)]
    [InlineData("binary_crossentropy", false)]
    [InlineData("binary_crossentropy", true)]
    [InlineData("mse", false)]
    [InlineData("mae", false)]
    public void GradientMatchesFiniteDifferencesOfTheDoubleReference(string name, bool fromLogits)
    {
        // Sequence-shaped [B=2, T=3, C=4] with per-sample weights, so broadcasting is exercised too.
        int b = 2, t = 3, c = 4, rows = b * t;
        var rng = new Random(7);
        bool sparse = name.StartsWith("sparse", StringComparison.Ordinal);
        var pred = new double[rows * c];
        var target = new double[sparse ? rows : rows * c];
        for (int i = 0; i < pred.Length; i++)
        {
            // Probabilities stay away from the clip; logits span a wide range.
            pred[i] = fromLogits ? (rng.NextDouble() * 8) - 4 : name.StartsWith("binary", StringComparison.Ordinal) || !name.Contains("cross", StringComparison.Ordinal) ? 0.05 + (0.9 * rng.NextDouble()) : 0.1 + rng.NextDouble();
        }

        for (int n = 0; n < rows; n++)
        {
            if (sparse)
            {
                target[n] = rng.Next(c);
            }
            else if (name == "categorical_crossentropy")
            {
                target[(n * c) + rng.Next(c)] = 1;
            }
            else
            {
                for (int i = 0; i < c; i++)
                {
                    target[(n * c) + i] = name == "binary_crossentropy" ? rng.Next(2) : rng.NextDouble();
                }
            }
        }

        double[] weights = [0.5, 2.0];
        var loss = Losses.Get(name, fromLogits);
        var yPred = T(pred.Select(v => (float)v).ToArray(), b, t, c);
        var yTrue = T(target.Select(v => (float)v).ToArray(), sparse ? [b, t] : [b, t, c]);
        var d = new Tensor(b, t, c);
        double value = loss.Compute(yPred, yTrue, d, [0.5f, 2f]);

        // Reference on the float-rounded inputs so only the arithmetic differs.
        var p0 = yPred.ToArray().Select(v => (double)v).ToArray();
        var y0 = yTrue.ToArray().Select(v => (double)v).ToArray();
        Assert.Equal(ReferenceLoss.Value(name, fromLogits, p0, y0, rows, c, weights, t), value, 1e-5);
        const double h = 1e-6;
        for (int i = 0; i < p0.Length; i++)
        {
            var plus = (double[])p0.Clone();
            var minus = (double[])p0.Clone();
            plus[i] += h;
            minus[i] -= h;
            double fd = (ReferenceLoss.Value(name, fromLogits, plus, y0, rows, c, weights, t) - ReferenceLoss.Value(name, fromLogits, minus, y0, rows, c, weights, t)) / (2 * h);
            Assert.True(Math.Abs(fd - d.Span[i]) <= 1e-4 + (1e-3 * Math.Abs(fd)), $"{name} fromLogits={fromLogits} element {i}: finite difference {fd}, analytic {d.Span[i]}");
        }
    }

    [Fact]
    public void FusedSoftmaxCrossEntropyGivesProbabilitiesAndPMinusYOverB()
    {
        var x = T([1f, 2f, 3f, -1f, 0f, 4f], 2, 3);
        var y = T([0, 0, 1, 1, 0, 0], 2, 3);
        var probs = new Tensor(2, 3);
        var d = new Tensor(2, 3);
        double loss = Losses.SoftmaxCrossEntropy(x, y, sparse: false, probs, d);
        Assert.Equal(new CategoricalCrossentropy(fromLogits: true).Compute(x, y), loss, 12);
        for (int r = 0; r < 2; r++)
        {
            double z = 0;
            for (int j = 0; j < 3; j++)
            {
                z += Math.Exp(x[r, j]);
            }

            for (int j = 0; j < 3; j++)
            {
                double pj = Math.Exp(x[r, j]) / z;
                Assert.Equal(pj, probs[r, j], 1e-6);
                Assert.Equal((pj - y[r, j]) / 2, d[r, j], 1e-6);
            }
        }

        var ds = new Tensor(2, 3);
        double sparseLoss = Losses.SoftmaxCrossEntropy(x, T([2f, 0f], 2), sparse: true, null, ds);
        Assert.Equal(loss, sparseLoss, 1e-6);
        Assert.Equal(d.ToArray(), ds.ToArray());
    }

    [Fact]
    public void ClassWeightsBecomeSampleWeights()
    {
        var oneHot = T([0, 1, 1, 0, 0, 1], 3, 2);
        var w = new float[3];
        Losses.ClassWeightsToSampleWeights(oneHot, new Dictionary<int, float> { [0] = 1f, [1] = 5f }, w);
        Assert.Equal([5f, 1f, 5f], w);
        Losses.ClassWeightsToSampleWeights(T([2f, 0f, 1f], 3), new Dictionary<int, float> { [0] = 1f, [1] = 2f, [2] = 3f }, w);
        Assert.Equal([3f, 1f, 2f], w);
        var e = Assert.Throws<ArgumentException>(() => Losses.ClassWeightsToSampleWeights(T([2f, 0f, 1f], 3, 1), new Dictionary<int, float> { [0] = 1f }, w));
        Assert.Contains("class 2", e.Message);
    }

    [Fact]
    public void LossesRoundTripThroughConfig()
    {
        foreach (var (name, logits) in new[] { ("categorical_crossentropy", true), ("sparse_categorical_crossentropy", false), ("binary_crossentropy", true), ("mse", false), ("mae", false) })
        {
            var loss = Losses.Get(name, logits);
            var back = Losses.FromConfig(loss.GetConfig());
            Assert.Equal(loss.GetType(), back.GetType());
            Assert.Equal(loss.FromLogits, back.FromLogits);
            Assert.Equal(loss.Name, back.Name);
        }
    }
}

/// <summary>Double-precision losses written straight from Keras's definitions.</summary>
internal static class ReferenceLoss
{
    public static double Value(string name, bool fromLogits, double[] p, double[] y, int rows, int c, double[] weights, int rowsPerWeight)
    {
        const double eps = 1e-7;
        double total = 0;
        for (int n = 0; n < rows; n++)
        {
            var pr = p.AsSpan(n * c, c);
            double l = 0;
            switch (name)
            {
                case "categorical_crossentropy":
                case "sparse_categorical_crossentropy":
                {
                    var yr = name.StartsWith("sparse", StringComparison.Ordinal) ? OneHot((int)y[n], c) : y.AsSpan(n * c, c).ToArray();
                    var q = new double[c];
                    if (fromLogits)
                    {
                        double m = pr.ToArray().Max();
                        double z = pr.ToArray().Sum(v => Math.Exp(v - m));
                        for (int i = 0; i < c; i++)
                        {
                            l -= yr[i] * (pr[i] - m - Math.Log(z));
                        }
                    }
                    else
                    {
                        double s = pr.ToArray().Sum();
                        for (int i = 0; i < c; i++)
                        {
                            l -= yr[i] * Math.Log(Math.Clamp(pr[i] / s, eps, 1 - eps));
                        }
                    }

                    break;
                }

                case "binary_crossentropy":
                    for (int i = 0; i < c; i++)
                    {
                        double x = pr[i], z = y[(n * c) + i];
                        if (fromLogits)
                        {
                            double sig = 1 / (1 + Math.Exp(-x));
                            l -= (z * Math.Log(sig)) + ((1 - z) * Math.Log(1 - sig));
                        }
                        else
                        {
                            double cl = Math.Clamp(x, eps, 1 - eps);
                            l -= (z * Math.Log(cl)) + ((1 - z) * Math.Log(1 - cl));
                        }
                    }

                    l /= c;
                    break;
                case "mse":
                    for (int i = 0; i < c; i++)
                    {
                        l += (pr[i] - y[(n * c) + i]) * (pr[i] - y[(n * c) + i]);
                    }

                    l /= c;
                    break;
                case "mae":
                    for (int i = 0; i < c; i++)
                    {
                        l += Math.Abs(pr[i] - y[(n * c) + i]);
                    }

                    l /= c;
                    break;
                default:
                    throw new ArgumentException(name);
            }

            total += weights[n / rowsPerWeight] * l;
        }

        return total / rows;
    }

    private static double[] OneHot(int k, int c)
    {
        var v = new double[c];
        v[k] = 1;
        return v;
    }
}
