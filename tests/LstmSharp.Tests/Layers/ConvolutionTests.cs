using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Training;
using static LstmSharp.Tests.Infrastructure.GradientChecker;

namespace LstmSharp.Tests.Layers;

/// <summary>
/// Conv1D, the 1-D poolings and SpatialDropout1D against double-precision references written
/// from the equations (Keras's output-length rules spelled out here, not taken from the library),
/// with gradients from central differences of the references.
/// </summary>
public class ConvolutionTests
{
    public ConvolutionTests() => Layer.ClearSession();

    /// <summary>Keras's output steps and left padding, from its documentation's formulas.</summary>
    internal static (int OutSteps, int PadLeft) KerasGeometry(string padding, int steps, int width, int stride, int dilation)
    {
        int span = (dilation * (width - 1)) + 1;
        return padding switch
        {
            "valid" => (((steps - span) / stride) + 1, 0),
            "same" => ((steps + stride - 1) / stride, Math.Max(0, ((((steps + stride - 1) / stride) - 1) * stride) + span - steps) / 2),
            _ => (((steps - 1) / stride) + 1, span - 1), // causal
        };
    }

    /// <summary>y[b,t,f] = act(bias[f] + Σ_k Σ_c x[b, t·s + k·d − padLeft, c]·W[k,c,f]), zeros outside the sequence.</summary>
    internal static double[] ConvReference(double[] x, double[] w, double[]? bias, int batch, int steps, int channels, int width, int filters, int stride, int dilation, string padding, Func<double, double> act)
    {
        var (outSteps, padLeft) = KerasGeometry(padding, steps, width, stride, dilation);
        var y = new double[batch * outSteps * filters];
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < outSteps; t++)
            {
                for (int f = 0; f < filters; f++)
                {
                    double s = bias?[f] ?? 0;
                    for (int k = 0; k < width; k++)
                    {
                        int src = (t * stride) + (k * dilation) - padLeft;
                        if (src < 0 || src >= steps)
                        {
                            continue;
                        }

                        for (int c = 0; c < channels; c++)
                        {
                            s += x[(((b * steps) + src) * channels) + c] * w[(((k * channels) + c) * filters) + f];
                        }
                    }

                    y[(((b * outSteps) + t) * filters) + f] = act(s);
                }
            }
        }

        return y;
    }

    [Theory]
    [InlineData("valid", 7, 3, 1, 1, true)]
    [InlineData("valid", 9, 2, 3, 1, true)]
    [InlineData("same", 7, 3, 2, 1, true)]
    [InlineData("same", 8, 4, 3, 1, false)]
    [InlineData("same", 6, 3, 1, 2, true)]
    [InlineData("causal", 7, 3, 1, 2, true)]
    [InlineData("causal", 7, 2, 2, 1, false)]
    [InlineData("valid", 9, 3, 1, 3, true)]
    public void Conv1DMatchesTheDoubleReferenceAndFiniteDifferences(string padding, int steps, int width, int stride, int dilation, bool useBias)
    {
        const int batch = 2, channels = 3, filters = 4;
        var conv = new Conv1D(filters, width, stride, padding, dilation, activation: "tanh", useBias: useBias, biasInitializer: "random_uniform");
        var x = Random(11, -1, 1, batch, steps, channels);
        conv.Build([steps, channels]);
        Tensor[] inputs = useBias ? [x, conv.Kernel!.Value, conv.Bias!.Value] : [x, conv.Kernel!.Value];
        var (outSteps, _) = KerasGeometry(padding, steps, width, stride, dilation);
        Assert.Equal(new[] { outSteps, filters }, conv.ComputeOutputShape([steps, channels]));
        Assert.Equal(new[] { batch, outSteps, filters }, conv.Apply(x).ShapeArray);
        CheckAgainstReference(
            $"conv1d {padding} k{width} s{stride} d{dilation}",
            t => conv.Apply(t[0]),
            t => ConvReference(t[0], t[1], useBias ? t[2] : null, batch, steps, channels, width, filters, stride, dilation, padding, Math.Tanh),
            inputs);
    }

    [Theory]
    [InlineData("valid", 1)]
    [InlineData("same", 2)]
    [InlineData("causal", 1)]
    public void Conv1DOverSeveralBatchChunksMatchesTheReference(string padding, int dilation)
    {
        // 12 sequences of 100 steps: the stride-1 path cuts them into several chunks of whole sequences.
        const int batch = 12, steps = 100, channels = 2, filters = 3, width = 3;
        var conv = new Conv1D(filters, width, 1, padding, dilation, biasInitializer: "random_uniform");
        var x = Random(13, -1, 1, batch, steps, channels);
        conv.Build([steps, channels]);
        CheckAgainstReference(
            $"conv1d {padding} d{dilation}, {batch} sequences",
            t => conv.Apply(t[0]),
            t => ConvReference(t[0], t[1], t[2], batch, steps, channels, width, filters, 1, dilation, padding, v => v),
            [x, conv.Kernel!.Value, conv.Bias!.Value]);
    }

    [Theory]
    [InlineData(1, "valid")]
    [InlineData(1, "same")]
    [InlineData(2, "valid")]
    public void Conv1DGradientsAreBitIdenticalForAnyThreadCount(int strides, string padding)
    {
        var x = Random(17, -1, 1, 30, 100, 16);
        var kernel = Random(18, -1, 1, 5, 16, 8);
        var bias = Random(19, -1, 1, 8);
        var dy = Random(20, -1, 1, 30, strides == 1 && padding == "valid" ? 96 : padding == "same" ? 100 / strides : 48, 8);
        var pool = LstmSharp.Kernels.WorkerPool.Shared;
        int saved = pool.ThreadCount;
        var results = new List<float[]>();
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                pool.ThreadCount = threads;
                foreach (var t in new[] { x, kernel, bias })
                {
                    t.Grad = null;
                    t.RequiresGrad = true;
                }

                using var tape = Tape.Record();
                var y = Ops.Conv1D(x, kernel, bias, strides, padding);
                tape.Backward(y, dy);
                results.Add([.. y.ToArray(), .. x.Grad!.ToArray(), .. kernel.Grad!.ToArray(), .. bias.Grad!.ToArray()]);
            }
        }
        finally
        {
            pool.ThreadCount = saved;
        }

        Assert.Equal(results[0], results[1]);
        Assert.Equal(results[0], results[2]);
    }

    [Fact]
    public void Conv1DOnTheCnnLstmShapesMatchesTheReference()
    {
        // The experiment's layer: Conv1D(64, 5, relu, valid) on [batch, 100, 128], checked on a smaller batch (several GEMM panels, k = 640 > one slice).
        const int batch = 3, steps = 100, channels = 128, filters = 64;
        var conv = new Conv1D(filters, 5, activation: "relu", biasInitializer: "random_uniform");
        var x = Random(3, -1, 1, batch, steps, channels);
        var y = conv.Apply(x);
        var expected = ConvReference(
            x.ToArray().Select(v => (double)v).ToArray(), conv.Kernel!.Value.ToArray().Select(v => (double)v).ToArray(), conv.Bias!.Value.ToArray().Select(v => (double)v).ToArray(),
            batch, steps, channels, 5, filters, 1, 1, "valid", v => Math.Max(0, v));
        Infrastructure.Check.Close("conv1d 3x100x128 -> 64", expected, y.Span, rel: 1e-5, abs: 1e-5);
    }

    [Fact]
    public void Conv1DKerasParameterCountsNamesAndKernelLayout()
    {
        // keras-io imdb_cnn_lstm: conv1d (None, 96, 64) 41,024 params.
        var conv = new Conv1D(64, 5, activation: "relu", inputShape: [100, 128]);
        Assert.Equal(41_024, conv.CountParams());
        Assert.Equal(new[] { "conv1d/kernel", "conv1d/bias" }, conv.Parameters.Select(p => p.Path));
        Assert.Equal(new[] { 5, 128, 64 }, conv.Kernel!.Value.ShapeArray);
        Assert.Equal(new[] { 96, 64 }, conv.ComputeOutputShape([100, 128]));
        Assert.Equal(5 * 8 * 2, new Conv1D(2, 5, useBias: false, inputShape: [-1, 8]).CountParams());

        // glorot_uniform with Keras's fans for a [k, in, out] kernel: limit = sqrt(6 / (k·in + k·out)).
        float limit = MathF.Sqrt(6f / ((5 * 128) + (5 * 64)));
        Assert.All(conv.Kernel.Value.ToArray(), v => Assert.InRange(v, -limit, limit));
        Assert.True(conv.Kernel.Value.ToArray().Max() > 0.9f * limit);

        var model = new Sequential([
            new Embedding(20_000, 128, inputLength: 100),
            new Dropout(0.25f),
            new Conv1D(64, 5, padding: "valid", activation: "relu", strides: 1),
            new MaxPooling1D(4),
            new LSTM(70),
            new Dense(1, activation: "sigmoid"),
        ]);

        // keras-io's summary: 2,560,000 + 41,024 + 0 + 37,800 + 71.
        Assert.Equal(2_638_895, model.CountParams());
        Assert.Equal(new[] { 24, 64 }, new MaxPooling1D(4).ComputeOutputShape([96, 64]));
    }

    [Fact]
    public void PoolingOutputShapesFollowKeras()
    {
        Assert.Equal(new[] { 3, 5 }, new MaxPooling1D(2).ComputeOutputShape([7, 5]));
        Assert.Equal(new[] { 4, 5 }, new MaxPooling1D(2, padding: "same").ComputeOutputShape([7, 5]));
        Assert.Equal(new[] { 5, 5 }, new AveragePooling1D(3, 1).ComputeOutputShape([7, 5]));
        Assert.Equal(new[] { 3, 5 }, new AveragePooling1D(3, 3, "same").ComputeOutputShape([7, 5]));
        Assert.Equal(new[] { -1, 5 }, new MaxPooling1D(3).ComputeOutputShape([-1, 5]));
        Assert.Equal(new[] { 5 }, new GlobalMaxPooling1D().ComputeOutputShape([7, 5]));
        Assert.Equal(new[] { 1, 5 }, new GlobalAveragePooling1D(keepDims: true).ComputeOutputShape([7, 5]));
        Assert.Equal(0, new MaxPooling1D(2, inputShape: [4, 3]).CountParams());
        Layer.ClearSession();
        Assert.Equal("max_pooling1d", new MaxPooling1D().Name);
        Assert.Equal("global_average_pooling1d", new GlobalAveragePooling1D().Name);
        Assert.Equal("spatial_dropout1d", new SpatialDropout1D(0.1f).Name);
    }

    /// <summary>Window of output t: the positions of [t·s − padLeft, + pool) inside the sequence.</summary>
    private static double[] PoolReference(double[] x, int batch, int steps, int channels, int pool, int stride, string padding, bool max)
    {
        var (outSteps, padLeft) = KerasGeometry(padding, steps, pool, stride, 1);
        var y = new double[batch * outSteps * channels];
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < outSteps; t++)
            {
                for (int c = 0; c < channels; c++)
                {
                    double acc = max ? double.NegativeInfinity : 0;
                    int n = 0;
                    for (int k = 0; k < pool; k++)
                    {
                        int s = (t * stride) + k - padLeft;
                        if (s < 0 || s >= steps)
                        {
                            continue;
                        }

                        double v = x[(((b * steps) + s) * channels) + c];
                        acc = max ? Math.Max(acc, v) : acc + v;
                        n++;
                    }

                    y[(((b * outSteps) + t) * channels) + c] = max ? acc : acc / n;
                }
            }
        }

        return y;
    }

    [Theory]
    [InlineData(true, 2, null, "valid", 7)]
    [InlineData(true, 3, 2, "same", 8)]
    [InlineData(true, 4, 1, "same", 6)]
    [InlineData(false, 2, null, "valid", 7)]
    [InlineData(false, 3, 2, "same", 8)]
    [InlineData(false, 4, 3, "same", 7)]
    public void PoolingMatchesTheDoubleReferenceAndFiniteDifferences(bool max, int pool, int? strides, string padding, int steps)
    {
        const int batch = 2, channels = 3;
        Layer layer = max ? new MaxPooling1D(pool, strides, padding) : new AveragePooling1D(pool, strides, padding);
        var x = Random(21, -1, 1, batch, steps, channels);
        CheckAgainstReference(
            $"{layer.ClassName} {pool}/{strides}/{padding}",
            t => layer.Apply(t[0]),
            t => PoolReference(t[0], batch, steps, channels, pool, strides ?? pool, padding, max),
            [x]);
    }

    [Fact]
    public void GlobalPoolingMatchesTheReferenceAndAverageHonoursTheMask()
    {
        const int batch = 3, steps = 5, channels = 4;
        var x = Random(31, -1, 1, batch, steps, channels);
        var mask = Tensor.FromArray([1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0], batch, steps);
        var avg = new GlobalAveragePooling1D();
        CheckAgainstReference(
            "global average (masked)",
            t => avg.Apply(t[0], t[1], false, out _),
            t =>
            {
                var y = new double[batch * channels];
                for (int b = 0; b < batch; b++)
                {
                    double n = Enumerable.Range(0, steps).Sum(s => t[1][(b * steps) + s]);
                    for (int c = 0; c < channels; c++)
                    {
                        double s = 0;
                        for (int i = 0; i < steps; i++)
                        {
                            s += t[1][(b * steps) + i] * t[0][(((b * steps) + i) * channels) + c];
                        }

                        y[(b * channels) + c] = s / n;
                    }
                }

                return y;
            },
            [x, mask],
            constant: [1]);

        var gmax = new GlobalMaxPooling1D(keepDims: true);
        CheckAgainstReference(
            "global max",
            t => gmax.Apply(t[0]),
            t => PoolReference(t[0], batch, steps, channels, steps, 1, "valid", max: true),
            [x]);

        // Without a mask every step counts; a fully masked sequence averages to zeros, not NaN; no mask leaves.
        var plain = avg.Apply(x);
        Assert.Equal(x.ToArray().Take(steps * channels).Where((_, i) => i % channels == 0).Average(), plain[0, 0], 1e-6);
        var none = Tensor.FromArray(new float[batch * steps], batch, steps);
        var zeros = avg.Apply(x, none, false, out var outMask);
        Assert.All(zeros.ToArray(), v => Assert.Equal(0f, v));
        Assert.Null(outMask);
    }

    [Fact]
    public void SpatialDropoutDropsWholeChannelsAndIsTheIdentityAtInference()
    {
        const int batch = 8, steps = 6, channels = 50;
        var x = Random(41, 0.5f, 1.5f, batch, steps, channels);
        var drop = new SpatialDropout1D(0.4f, seed: 7);
        Assert.Same(x, drop.Apply(x));
        var y = drop.Apply(x, training: true);
        int dropped = 0;
        for (int b = 0; b < batch; b++)
        {
            for (int c = 0; c < channels; c++)
            {
                bool zero = y[b, 0, c] == 0;
                dropped += zero ? 1 : 0;
                for (int t = 0; t < steps; t++)
                {
                    Assert.Equal(zero ? 0f : x[b, t, c] / 0.6f, y[b, t, c], 1e-6);
                }
            }
        }

        Assert.InRange(dropped, 100, 220); // 400 channels at rate 0.4: 160 ± 4.9σ

        // dx = dy ⊙ mask: the same channels get zero gradient.
        x.RequiresGrad = true;
        var seeded = new SpatialDropout1D(0.4f, seed: 7);
        using (var tape = Tape.Record())
        {
            var z = seeded.Apply(x, training: true);
            tape.Backward(Ops.Sum(z));
            Assert.Equal(y.ToArray(), z.ToArray());
        }

        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal(y.Span[i] == 0 ? 0f : 1f / 0.6f, x.Grad!.Span[i], 1e-6);
        }
    }

    [Fact]
    public void BadInputGetsOneErrorNamingLayerArgumentExpectedAndActual()
    {
        var conv = new Conv1D(4, 5, name: "c");
        var e = Assert.Throws<ArgumentException>(() => conv.Apply(new Tensor(2, 3, 6)));
        Assert.Contains("Conv1D 'c'", e.Message);
        Assert.Contains("kernel_size 5", e.Message);
        Assert.Contains("expected at least 5 steps, got 3", e.Message);

        var dilated = new Conv1D(4, 3, dilationRate: 4, name: "d", inputShape: [8, 2]);
        e = Assert.Throws<ArgumentException>(() => dilated.CountParams());
        Assert.Contains("Conv1D 'd'", e.Message);
        Assert.Contains("span 9", e.Message);
        Assert.Contains("got 8", e.Message);

        // Built for longer sequences, then called on a short one: the same message, not a crash inside the kernel.
        var built = new Conv1D(2, 4, name: "b");
        built.Apply(new Tensor(1, 10, 3));
        Assert.Contains("expected at least 4 steps, got 2", Assert.Throws<ArgumentException>(() => built.Apply(new Tensor(1, 2, 3))).Message);
        Assert.Contains("expected input [*, steps, 3] (rank 3), got [1, 10, 5]", Assert.Throws<ArgumentException>(() => built.Apply(new Tensor(1, 10, 5))).Message);

        var rank = Assert.Throws<ArgumentException>(() => new Conv1D(4, 2, name: "r").Apply(new Tensor(2, 6)));
        Assert.Contains("Conv1D 'r': expected input [*, steps, channels] (rank 3), got [*, 6]", rank.Message);

        var pool = Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPooling1D(0, name: "p"));
        Assert.Contains("MaxPooling1D 'p': poolSize must be a positive integer, got 0", pool.Message);
        Assert.Equal("poolSize", pool.ParamName);
        Assert.Contains("strides must be a positive integer", Assert.Throws<ArgumentOutOfRangeException>(() => new AveragePooling1D(2, 0)).Message);
        Assert.Contains("padding must be 'valid' or 'same', got 'causal'", Assert.Throws<ArgumentException>(() => new AveragePooling1D(2, padding: "causal")).Message);
        var longPool = Assert.Throws<ArgumentException>(() => new MaxPooling1D(4, name: "m").Apply(new Tensor(2, 3, 1)));
        Assert.Contains("MaxPooling1D 'm': pool_size 4 is longer than the input's steps with padding 'valid'; expected at least 4 steps, got 3", longPool.Message);
        Assert.Contains("GlobalMaxPooling1D 'g': expected input [*, steps, channels] (rank 3), got [*, 4]", Assert.Throws<ArgumentException>(() => new GlobalMaxPooling1D(name: "g").Apply(new Tensor(2, 4))).Message);

        Assert.Contains("filters must be a positive integer, got 0", Assert.Throws<ArgumentOutOfRangeException>(() => new Conv1D(0, 3)).Message);
        Assert.Contains("kernelSize must be a positive integer, got -1", Assert.Throws<ArgumentOutOfRangeException>(() => new Conv1D(2, -1)).Message);
        Assert.Contains("padding must be 'valid', 'same' or 'causal', got 'full'", Assert.Throws<ArgumentException>(() => new Conv1D(2, 3, padding: "full")).Message);
        Assert.Contains("cannot be combined", Assert.Throws<ArgumentException>(() => new Conv1D(2, 3, strides: 2, dilationRate: 2)).Message);
        Assert.Contains("rate must be in [0, 1), got 1", Assert.Throws<ArgumentOutOfRangeException>(() => new SpatialDropout1D(1f)).Message);

        // The op on its own names itself and the argument.
        var op = Assert.Throws<ArgumentException>(() => Ops.Conv1D(new Tensor(1, 2, 3), new Tensor(4, 3, 2)));
        Assert.Contains("op 'conv1d'", op.Message);
        Assert.Contains("expected at least 4 steps, got 2", op.Message);
    }

    [Fact]
    public void ConfigsRoundTripThroughTheRegistry()
    {
        var layers = new Layer[]
        {
            new Conv1D(8, 3, 2, "same", activation: "relu", useBias: false, kernelInitializer: "he_uniform", kernelRegularizer: new L2(0.01), biasConstraint: new NonNeg(), name: "c", inputShape: [-1, 4]),
            new Conv1D(2, 5, padding: "causal", dilationRate: 2),
            new MaxPooling1D(3, 1, "same"),
            new AveragePooling1D(),
            new GlobalMaxPooling1D(keepDims: true),
            new GlobalAveragePooling1D(),
            new SpatialDropout1D(0.2f, seed: 3),
        };
        foreach (var layer in layers)
        {
            var config = layer.GetConfig();
            var copy = LayerRegistry.FromConfig(layer.ClassName, (JsonObject)JsonNode.Parse(config.ToJsonString())!);
            Assert.Equal(layer.GetType(), copy.GetType());
            Assert.Equal(config.ToJsonString(), copy.GetConfig().ToJsonString());
        }

        // Keras writes tuples as lists and may omit strides; both forms read back.
        var keras = (JsonObject)JsonNode.Parse("""{"name": "k", "filters": 6, "kernel_size": [3], "strides": 2, "padding": "valid", "activation": "tanh"}""")!;
        var conv = (Conv1D)LayerRegistry.FromConfig("Conv1D", keras);
        Assert.Equal((6, 3, 2, 1, "tanh"), (conv.Filters, conv.KernelSize, conv.Strides, conv.DilationRate, conv.Activation));
        var pool = (MaxPooling1D)LayerRegistry.FromConfig("MaxPooling1D", (JsonObject)JsonNode.Parse("""{"pool_size": [4], "strides": null}""")!);
        Assert.Equal((4, 4), (pool.PoolSize, pool.Strides));
        Assert.Contains("data_format must be 'channels_last', got 'channels_first'", Assert.Throws<ArgumentException>(() => LayerRegistry.FromConfig("Conv1D", (JsonObject)JsonNode.Parse("""{"filters": 2, "kernel_size": 3, "data_format": "channels_first"}""")!)).Message);
    }

    [Fact]
    public void ACnnLstmModelSavesAndLoadsWithIdenticalPredictions()
    {
        string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            Layer.SetRandomSeed(5);
            var model = new Sequential([
                new Embedding(30, 8, inputLength: 12),
                new SpatialDropout1D(0.1f),
                new Conv1D(6, 3, padding: "causal", activation: "relu"),
                new AveragePooling1D(2, padding: "same"),
                new Conv1D(5, 2, strides: 2),
                new MaxPooling1D(2, 1),
                new LSTM(4, returnSequences: true),
                new GlobalAveragePooling1D(),
                new Dense(1, activation: "sigmoid"),
            ]);
            model.Compile(new Adam(0.01), "binary_crossentropy", ["accuracy"]);
            var rng = new Random(2);
            var x = new Tensor(16, 12);
            var y = new Tensor(16, 1);
            for (int i = 0; i < 16; i++)
            {
                for (int t = 0; t < 12; t++)
                {
                    x[i, t] = rng.Next(1, 30);
                }

                y[i, 0] = x[i, 0] > 15 ? 1 : 0;
            }

            var before = model.Predict(x);
            model.Fit(x, y, batchSize: 8, epochs: 2, verbose: 0);
            var trained = model.Predict(x);
            Assert.NotEqual(before.ToArray(), trained.ToArray());

            string path = Path.Combine(dir, "cnn.lstm");
            model.Save(path);
            var loaded = Model.Load(path);
            Assert.Equal(trained.ToArray(), loaded.Predict(x).ToArray());
            Assert.Equal(model.Layers.Select(l => l.ClassName), loaded.Layers.Select(l => l.ClassName));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
