using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Tensors;
using LstmSharp.Training;
using static LstmSharp.Tests.Infrastructure.GradientChecker;

namespace LstmSharp.Tests.Layers;

/// <summary>LayerNormalization and BatchNormalization against double references from their equations, with finite-difference gradients.</summary>
public class NormalizationLayerTests
{
    public NormalizationLayerTests() => Layer.ClearSession();

    /// <summary>y = γ(x − μ)/√(σ² + ε) + β over groups of n consecutive values.</summary>
    private static double[] LayerNormReference(double[] x, double[]? gamma, double[]? beta, int n, double eps)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / n; r++)
        {
            double mean = 0, var = 0;
            for (int i = 0; i < n; i++)
            {
                mean += x[(r * n) + i];
            }

            mean /= n;
            for (int i = 0; i < n; i++)
            {
                var += Math.Pow(x[(r * n) + i] - mean, 2);
            }

            var /= n;
            for (int i = 0; i < n; i++)
            {
                double h = (x[(r * n) + i] - mean) / Math.Sqrt(var + eps);
                y[(r * n) + i] = (h * (gamma?[i] ?? 1)) + (beta?[i] ?? 0);
            }
        }

        return y;
    }

    [Theory]
    [InlineData(true, true, false)]
    [InlineData(false, true, false)]
    [InlineData(true, false, false)]
    [InlineData(true, true, true)]
    public void LayerNormalizationMatchesTheReferenceAndFiniteDifferences(bool center, bool scale, bool twoAxes)
    {
        const int batch = 2, steps = 3, features = 5;
        var ln = new LayerNormalization(twoAxes ? [1, 2] : null, epsilon: 1e-3f, center: center, scale: scale, betaInitializer: "random_uniform", gammaInitializer: "random_uniform");
        var x = Random(51, -2, 2, batch, steps, features);
        ln.Build([steps, features]);
        int n = twoAxes ? steps * features : features;
        Assert.Equal(n, ln.NormalizedSize);
        var inputs = new List<Tensor> { x };
        if (scale)
        {
            Assert.Equal(twoAxes ? new[] { steps, features } : new[] { features }, ln.Gamma!.Value.ShapeArray);
            inputs.Add(ln.Gamma.Value);
        }

        if (center)
        {
            inputs.Add(ln.Beta!.Value);
        }

        CheckAgainstReference(
            $"layer norm center={center} scale={scale} axes={(twoAxes ? "[1,2]" : "-1")}",
            t => ln.Apply(t[0]),
            t => LayerNormReference(t[0], scale ? t[1] : null, center ? t[scale ? 2 : 1] : null, n, 1e-3),
            [.. inputs]);
    }

    /// <summary>Batch statistics over rows with weight 1 (the mask), applied to every row.</summary>
    private static double[] BatchNormReference(double[] x, double[]? w, double[]? gamma, double[]? beta, int channels, double eps, double[] meanOut, double[] varOut)
    {
        int rows = x.Length / channels;
        var y = new double[x.Length];
        for (int c = 0; c < channels; c++)
        {
            double n = 0, mean = 0, var = 0;
            for (int r = 0; r < rows; r++)
            {
                double wr = w?[r] ?? 1;
                n += wr;
                mean += wr * x[(r * channels) + c];
            }

            mean /= n;
            for (int r = 0; r < rows; r++)
            {
                var += (w?[r] ?? 1) * Math.Pow(x[(r * channels) + c] - mean, 2);
            }

            var /= n;
            meanOut[c] = mean;
            varOut[c] = var;
            for (int r = 0; r < rows; r++)
            {
                double h = (x[(r * channels) + c] - mean) / Math.Sqrt(var + eps);
                y[(r * channels) + c] = (h * (gamma?[c] ?? 1)) + (beta?[c] ?? 0);
            }
        }

        return y;
    }

    [Theory]
    [InlineData(true, true, false)]
    [InlineData(true, true, true)]
    [InlineData(false, false, false)]
    [InlineData(false, true, true)]
    public void BatchNormalizationInTrainingMatchesTheReferenceAndFiniteDifferences(bool center, bool scale, bool masked)
    {
        const int batch = 3, steps = 4, channels = 3;
        var bn = new BatchNormalization(momentum: 0.9f, epsilon: 1e-3f, center: center, scale: scale, betaInitializer: "random_uniform", gammaInitializer: "random_uniform");
        var x = Random(61, -2, 2, batch, steps, channels);
        var mask = Tensor.FromArray([1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 0], batch, steps);
        bn.Build([steps, channels]);
        var inputs = new List<Tensor> { x, mask };
        if (scale)
        {
            inputs.Add(bn.Gamma!.Value);
        }

        if (center)
        {
            inputs.Add(bn.Beta!.Value);
        }

        var mean = new double[channels];
        var variance = new double[channels];
        CheckAgainstReference(
            $"batch norm center={center} scale={scale} masked={masked}",
            t => bn.Apply(t[0], masked ? t[1] : null, true, out _),
            t => BatchNormReference(t[0], masked ? t[1] : null, scale ? t[2] : null, center ? t[scale ? 3 : 2] : null, channels, 1e-3, mean, variance),
            [.. inputs],
            constant: [1]);

        // One more training call from fresh moving statistics: moving = 0.9·old + 0.1·batch (biased variance, as Keras).
        var fresh = new BatchNormalization(momentum: 0.9f, center: center, scale: scale);
        fresh.Apply(x, masked ? mask : null, true, out _);
        for (int c = 0; c < channels; c++)
        {
            Assert.Equal(0.1 * mean[c], fresh.MovingMean!.Value[c], 1e-6);
            Assert.Equal(0.9 + (0.1 * variance[c]), fresh.MovingVariance!.Value[c], 1e-6);
        }
    }

    [Fact]
    public void BatchNormalizationAtInferenceUsesTheMovingStatistics()
    {
        const int batch = 2, steps = 3, channels = 4;
        var bn = new BatchNormalization(epsilon: 1e-2f, betaInitializer: "random_uniform", gammaInitializer: "random_uniform", movingMeanInitializer: "random_uniform", movingVarianceInitializer: "ones");
        bn.Build([steps, channels]);
        Random(3, 0.5f, 2f, channels).Span.CopyTo(bn.MovingVariance!.Value.Span);
        var mm = bn.MovingMean!.Value.ToArray().Select(v => (double)v).ToArray();
        var mv = bn.MovingVariance.Value.ToArray().Select(v => (double)v).ToArray();
        var x = Random(71, -2, 2, batch, steps, channels);
        CheckAgainstReference(
            "batch norm inference",
            t => bn.Apply(t[0]),
            t =>
            {
                var y = new double[t[0].Length];
                for (int i = 0; i < y.Length; i++)
                {
                    int c = i % channels;
                    y[i] = (t[1][c] * (t[0][i] - mm[c]) / Math.Sqrt(mv[c] + 1e-2)) + t[2][c];
                }

                return y;
            },
            [x, bn.Gamma!.Value, bn.Beta!.Value]);

        // Inference never moves the statistics; a frozen layer runs in inference mode even when training.
        Assert.Equal(mm, bn.MovingMean.Value.ToArray().Select(v => (double)v).ToArray());
        var inference = bn.Apply(x).ToArray();
        bn.Trainable = false;
        Assert.Equal(inference, bn.Apply(x, training: true).ToArray());
        Assert.Equal(mm, bn.MovingMean.Value.ToArray().Select(v => (double)v).ToArray());
        bn.Trainable = true;
        Assert.NotEqual(inference, bn.Apply(x, training: true).ToArray());
    }

    [Fact]
    public void KerasParameterCountsAndNames()
    {
        var bn = new BatchNormalization(name: "bn", inputShape: [10, 64]);
        Assert.Equal(256, bn.CountParams());
        Assert.Equal(new[] { "bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance" }, bn.Parameters.Select(p => p.Path));
        Assert.Equal(128, bn.TrainableParameters.Sum(p => p.Count));
        Assert.Equal(128, bn.NonTrainableParameters.Sum(p => p.Count));
        Assert.Equal(3 * 64, new BatchNormalization(center: false, inputShape: [64]).CountParams());

        var ln = new LayerNormalization(name: "ln", inputShape: [10, 64]);
        Assert.Equal(128, ln.CountParams());
        Assert.Equal(new[] { "ln/gamma", "ln/beta" }, ln.Parameters.Select(p => p.Path));
        Assert.All(ln.Gamma!.Value.ToArray(), v => Assert.Equal(1f, v));
        Assert.Equal(640, new LayerNormalization([-2, -1], scale: false, inputShape: [10, 64]).CountParams());
        Layer.ClearSession();
        Assert.Equal("layer_normalization", new LayerNormalization().Name);
        Assert.Equal("batch_normalization", new BatchNormalization().Name);
    }

    [Fact]
    public void BadArgumentsAndShapesNameTheLayer()
    {
        Assert.Contains("LayerNormalization 'l': axis [1] must be the trailing axes of the rank-3 input", Assert.Throws<ArgumentException>(() => new LayerNormalization([1], name: "l").Apply(new Tensor(2, 3, 4))).Message);
        Assert.Contains("axis must name one or more non-batch axes", Assert.Throws<ArgumentException>(() => new LayerNormalization([0])).Message);
        Assert.Contains("epsilon must be a positive finite number, got 0", Assert.Throws<ArgumentOutOfRangeException>(() => new LayerNormalization(epsilon: 0)).Message);
        Assert.Contains("momentum must be in [0, 1], got 1.5", Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNormalization(momentum: 1.5f)).Message);
        var ln = new LayerNormalization(name: "l2");
        ln.Apply(new Tensor(2, 3, 4));
        Assert.Contains("LayerNormalization 'l2': expected input [*, 3, 4], got [2, 3, 5]", Assert.Throws<ArgumentException>(() => ln.Apply(new Tensor(2, 3, 5))).Message);
        var bn = new BatchNormalization(name: "b");
        bn.Apply(new Tensor(2, 3, 4));
        Assert.Contains("BatchNormalization 'b': expected input [*, ..., 4], got [2, 3, 5]", Assert.Throws<ArgumentException>(() => bn.Apply(new Tensor(2, 3, 5))).Message);
        Assert.Contains("BatchNormalization 'b': expected mask [2, 3], got [2, 4]", Assert.Throws<ArgumentException>(() => bn.Apply(new Tensor(2, 3, 4), new Tensor(2, 4), true, out _)).Message);
        Assert.Contains("axis must be -1", Assert.Throws<ArgumentException>(() => LayerRegistry.FromConfig("BatchNormalization", (JsonObject)JsonNode.Parse("""{"axis": 1}""")!)).Message);
    }

    [Fact]
    public void ConfigsRoundTripAndModelsSaveAndLoad()
    {
        var layers = new Layer[]
        {
            new LayerNormalization([1, 2], epsilon: 1e-5f, center: false, gammaRegularizer: new L2(0.1), name: "ln", inputShape: [3, 4]),
            new LayerNormalization(),
            new BatchNormalization(momentum: 0.8f, epsilon: 1e-4f, scale: false, movingVarianceInitializer: "zeros", betaConstraint: new NonNeg()),
        };
        foreach (var layer in layers)
        {
            var config = layer.GetConfig();
            var copy = LayerRegistry.FromConfig(layer.ClassName, (JsonObject)JsonNode.Parse(config.ToJsonString())!);
            Assert.Equal(layer.GetType(), copy.GetType());
            Assert.Equal(config.ToJsonString(), copy.GetConfig().ToJsonString());
        }

        string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            Layer.SetRandomSeed(3);
            var model = new Sequential([
                new Conv1D(6, 3, padding: "same", inputShape: [10, 2]),
                new BatchNormalization(),
                new LayerNormalization(),
                new GlobalMaxPooling1D(),
                new Dense(1),
            ]);
            model.Compile(new Adam(0.01), "mse");
            var x = Random(9, -1, 1, 12, 10, 2);
            var y = Random(10, -1, 1, 12, 1);
            model.Fit(x, y, batchSize: 4, epochs: 2, verbose: 0);
            var bn = (BatchNormalization)model.Layers[1];
            Assert.NotEqual(0f, bn.MovingMean!.Value[0]);
            string path = Path.Combine(dir, "norm.lstm");
            model.Save(path);
            var loaded = Model.Load(path);
            Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
            Assert.Equal(bn.MovingVariance!.Value.ToArray(), ((BatchNormalization)loaded.Layers[1]).MovingVariance!.Value.ToArray());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
