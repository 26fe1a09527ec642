using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;
using static LstmSharp.Tests.Infrastructure.GradientChecker;

namespace LstmSharp.Tests.Layers;

public class LayerTests
{
    public LayerTests() => Layer.ClearSession();

    [Fact]
    public void AutomaticNamesCountPerTypeAndResetWithTheSession()
    {
        Assert.Equal("dense", new Dense(3).Name);
        Assert.Equal("dense_1", new Dense(3).Name);
        Assert.Equal("dropout", new Dropout(0.1f).Name);
        Assert.Equal("mine", new Dense(3, name: "mine").Name);
        Assert.Equal("dense_2", new Dense(3).Name);
        Assert.Equal("input_layer", new InputLayer([4]).Name);
        Layer.ClearSession();
        Assert.Equal("dense", new Dense(3).Name);

        Assert.Equal("simple_rnn", LayerNames.ToSnakeCase("SimpleRNN"));
        Assert.Equal("lstm", LayerNames.ToSnakeCase("LSTM"));
        Assert.Equal("lstm_cell", LayerNames.ToSnakeCase("LSTMCell"));
        Assert.Equal("gru", LayerNames.ToSnakeCase("GRU"));
        Assert.Equal("conv2d", LayerNames.ToSnakeCase("Conv2D"));
        Assert.Equal("time_distributed", LayerNames.ToSnakeCase("TimeDistributed"));
    }

    [Fact]
    public void ParameterCountsMatchKeras()
    {
        Assert.Equal(1290, new Dense(10, inputShape: [128]).CountParams());
        Assert.Equal(75_000, new Embedding(5000, 15).CountParams());
        var d = new Dense(1);
        d.Build([10]);
        Assert.Equal(11, d.CountParams());
        Assert.Equal(10, new Dense(10, useBias: false, inputShape: [1]).CountParams());
        Assert.Equal(0, new Dropout(0.5f, inputShape: [3]).CountParams());
        Assert.Throws<InvalidOperationException>(() => new Dense(4).CountParams());
    }

    [Fact]
    public void ParametersHaveStablePathsInCreationOrder()
    {
        var d = new Dense(4, name: "head", inputShape: [3]);
        Assert.Equal(new[] { "head/kernel", "head/bias" }, d.Parameters.Select(p => p.Path));
        Assert.Equal(new[] { 3, 4 }, d.Kernel!.Value.ShapeArray);
        Assert.Equal(new[] { 4 }, d.Bias!.Value.ShapeArray);
        Assert.All(d.Bias.Value.ToArray(), v => Assert.Equal(0f, v));

        // glorot_uniform: limit sqrt(6 / (3 + 4)).
        float limit = MathF.Sqrt(6f / 7f);
        Assert.All(d.Kernel.Value.ToArray(), v => Assert.InRange(v, -limit, limit));
        Assert.True(d.Kernel.Value.ToArray().Distinct().Count() > 6);

        var e = new Embedding(10, 2, name: "emb");
        Assert.Equal("emb/embeddings", e.Parameters.Single().Path);
        Assert.All(e.Embeddings.Value.ToArray(), v => Assert.InRange(v, -0.05f, 0.05f));

        var pair = new Pair(name: "pair");
        pair.Build([3]);
        Assert.Equal(new[] { "pair/scale", "pair/first/kernel", "pair/first/bias", "pair/second/kernel", "pair/second/bias" }, pair.Parameters.Select(p => p.Path));
    }

    [Fact]
    public void OutputShapesMatchComputeOutputShape()
    {
        var cases = new (Layer Layer, int[] Input, int[] Expected)[]
        {
            (new Dense(5), [4, 3], [4, 5]),
            (new Dense(5, activation: "softmax"), [2, 7, 3], [2, 7, 5]),
            (new Activation("relu"), [2, 3], [2, 3]),
            (new Dropout(0.5f), [2, 3], [2, 3]),
            (new Embedding(10, 4), [2, 6], [2, 6, 4]),
            (new Flatten(), [2, 3, 4], [2, 12]),
            (new Reshape([2, -1]), [5, 3, 4], [5, 2, 6]),
            (new Reshape([4, 3]), [5, 12], [5, 4, 3]),
            (new InputLayer([3, -1]), [2, 3, 9], [2, 3, 9]),
        };
        foreach (var (layer, input, expected) in cases)
        {
            var x = input.Length == 2 && layer is Embedding ? Tensor.Full(1f, input) : Random(1, -1, 1, input);
            var y = layer.Apply(x, training: true);
            Assert.Equal(expected, y.ShapeArray);
            Assert.Equal(expected[1..], layer.ComputeOutputShape(input[1..]));
        }

        Assert.Equal(new[] { -1, 5 }, new Dense(5).ComputeOutputShape([-1, 3]));
        Assert.Equal(new[] { -1 }, new Flatten().ComputeOutputShape([-1, 3]));
    }

    [Fact]
    public void ShapeErrorsNameTheLayerExpectedAndActual()
    {
        var d = new Dense(10);
        var d1 = new Dense(10);
        d1.Apply(new Tensor(32, 128));
        var e = Assert.Throws<ArgumentException>(() => d1.Apply(new Tensor(32, 64)));
        Assert.Equal("Dense 'dense_1': expected input [*, 128], got [32, 64].", e.Message);

        var declared = new Dense(3, inputShape: [5, 8], name: "seq");
        e = Assert.Throws<ArgumentException>(() => declared.Apply(new Tensor(2, 5, 7)));
        Assert.Contains("Dense 'seq': expected input [*, 5, 8], got [2, 5, 7]", e.Message);

        var r = Assert.Throws<ArgumentException>(() => new Reshape([5]).Apply(new Tensor(2, 6)));
        Assert.Contains("Reshape 'reshape'", r.Message);
        Assert.Contains("[2, 6]", r.Message);

        var emb = new Embedding(5000, 8);
        var o = Assert.Throws<ArgumentOutOfRangeException>(() => emb.Apply(Tensor.FromArray([3f, 5000f], 1, 2)));
        Assert.Contains("in layer 'embedding'", o.Message);
        Assert.Contains("index 5000", o.Message);
        Assert.Contains("input_dim 5000", o.Message);
        GC.KeepAlive(d);
    }

    [Fact]
    public void ConstructorArgumentsAreValidated()
    {
        Assert.Contains("units must be a positive integer, got -3", Assert.Throws<ArgumentOutOfRangeException>(() => new Dense(-3)).Message);
        Assert.Contains("rate must be in [0, 1), got 1", Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1f)).Message);
        Assert.Contains("got -0.2", Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(-0.2f)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(float.NaN));
        Assert.Contains("unknown activation 'sigmoidal'", Assert.Throws<ArgumentException>(() => new Dense(2, "sigmoidal")).Message);
        Assert.Contains("unknown kernelInitializer 'glorot'", Assert.Throws<ArgumentException>(() => new Dense(2, kernelInitializer: "glorot")).Message);
        Assert.Contains("inputDim must be a positive integer, got 0", Assert.Throws<ArgumentOutOfRangeException>(() => new Embedding(0, 3)).Message);
        Assert.Throws<ArgumentException>(() => new Reshape([2, -1, -1]));
        Assert.Throws<ArgumentException>(() => new Dense(2, inputShape: [0]));
    }

    [Fact]
    public void DenseGradientsMatchADoubleReference()
    {
        // Dense(2, tanh) on a [2, 3, 4] sequence batch: y = tanh(x·W + b), all leading axes folded.
        var dense = new Dense(2, activation: "tanh");
        dense.Build([3, 4]);
        var x = Random(2, -1, 1, 2, 3, 4);
        var w = dense.Kernel!.Value;
        var b = dense.Bias!.Value;
        CheckAgainstReference(
            "dense tanh",
            t => dense.Apply(t[0]),
            t =>
            {
                var y = new double[6 * 2];
                for (int row = 0; row < 6; row++)
                {
                    for (int j = 0; j < 2; j++)
                    {
                        double s = t[2][j];
                        for (int p = 0; p < 4; p++)
                        {
                            s += t[0][(row * 4) + p] * t[1][(p * 2) + j];
                        }

                        y[(row * 2) + j] = Math.Tanh(s);
                    }
                }

                return y;
            },
            [x, w, b]);
    }

    [Fact]
    public void LayerOpsAreRecordedUnderTheLayerName()
    {
        var dense = new Dense(2, activation: "relu", inputShape: [3]);
        using var tape = Tape.Record();
        dense.Apply(Random(3, -1, 1, 4, 3));
        Assert.Equal(new[] { "dense/matmul", "dense/add", "dense/relu" }, tape.OpNames);
    }

    [Fact]
    public void InferenceKeepsNoGraph()
    {
        var dense = new Dense(2, inputShape: [3]);
        var y = dense.Apply(Random(3, -1, 1, 4, 3));
        Assert.False(y.RequiresGrad);
        Assert.All(dense.Parameters, p => Assert.Null(p.Value.Grad));
    }

    [Fact]
    public void NonTrainableLayersGetNoGradients()
    {
        var frozen = new Dense(2, inputShape: [3]) { Trainable = false };
        var head = new Dense(1, inputShape: [2]);
        Assert.Empty(frozen.TrainableParameters);
        Assert.Equal(2, frozen.NonTrainableParameters.Count);
        using (var tape = Tape.Record())
        {
            tape.Backward(Ops.Sum(head.Apply(frozen.Apply(Random(3, -1, 1, 4, 3)))));
        }

        Assert.All(frozen.Parameters, p => Assert.Null(p.Value.Grad));
        Assert.All(head.Parameters, p => Assert.NotNull(p.Value.Grad));
        frozen.Trainable = true;
        Assert.Equal(2, frozen.TrainableParameters.Count);
    }

    [Fact]
    public void MasksFlowFromEmbeddingThroughMaskingLayers()
    {
        var emb = new Embedding(10, 3, maskZero: true);
        var ids = Tensor.FromArray([4f, 2f, 0f, 0f, 7f, 0f], 2, 3);
        var e = emb.Apply(ids, null, training: false, out var mask);
        Assert.Equal(new[] { 2, 3, 3 }, e.ShapeArray);
        Assert.Equal(new[] { 1f, 1f, 0f, 0f, 1f, 0f }, mask!.ToArray());
        Assert.Equal(new[] { 2, 3 }, mask.ShapeArray);

        new Dense(2).Apply(e, mask, training: false, out var afterDense);
        Assert.Same(mask, afterDense);
        new Dropout(0.5f).Apply(e, mask, training: true, out var afterDropout);
        Assert.Same(mask, afterDropout);
        new Flatten().Apply(e, mask, training: false, out var afterFlatten);
        Assert.Null(afterFlatten);

        new Embedding(10, 3).Apply(ids, null, training: false, out var noMask);
        Assert.Null(noMask);
    }

    [Fact]
    public void SeveralOutputsGoThroughTheListPath()
    {
        var halves = new Halves();
        var x = Random(4, -1, 1, 2, 6);
        var mask = Tensor.Full(1f, 2);
        var outs = halves.Apply([x], [mask], training: false, out var masks);
        Assert.Equal(2, outs.Count);
        Assert.Equal(new[] { 2, 3 }, outs[1].ShapeArray);
        Assert.Equal(x[1, 4], outs[1][1, 1]);
        Assert.Same(mask, masks[0]);
        Assert.Null(masks[1]);
        Assert.Contains("returns 2 outputs", Assert.Throws<InvalidOperationException>(() => halves.Apply(x)).Message);
        Assert.Contains("expected 1 input, got 2", Assert.Throws<ArgumentException>(() => new Dense(2).Apply([x, x], null, false, out _)).Message);
    }

    [Fact]
    public void DropoutLayerIsSeededAndIdentityAtInference()
    {
        var x = Tensor.Full(1f, 8, 16);
        var a = new Dropout(0.5f, seed: 3);
        var b = new Dropout(0.5f, seed: 3);
        Assert.Same(x, a.Apply(x, training: false));
        var ya = a.Apply(x, training: true);
        Assert.Equal(ya.ToArray(), b.Apply(x, training: true).ToArray());
        Assert.Contains(0f, ya.ToArray());
        Assert.Contains(2f, ya.ToArray());

        // The next call draws the next mask, not the same one.
        Assert.NotEqual(ya.ToArray(), a.Apply(x, training: true).ToArray());
    }

    [Fact]
    public void RegularizationLossesAreCollected()
    {
        var l2 = new SumOfSquares(0.1);
        var dense = new Dense(2, kernelRegularizer: l2, activityRegularizer: l2, inputShape: [3]);
        var x = Random(5, -1, 1, 4, 3);
        using (var tape = Tape.Record())
        {
            var y = dense.Apply(x);
            var losses = dense.Losses();
            Assert.Equal(2, losses.Count);
            Assert.Equal(l2.Penalty(dense.Kernel!.Value.Span), losses[0].Span[0], 1e-5);

            // Keras divides the activity penalty by the batch size.
            Assert.Equal(l2.Penalty(y.Span) / 4, losses[1].Span[0], 1e-5);
            tape.Backward(Ops.Add(losses[0], losses[1]));
        }

        Assert.NotNull(dense.Kernel.Value.Grad);
        dense.ClearLosses();
        dense.ZeroGrad();

        // The weight penalty alone: d(c·Σw²)/dW = 2c·W.
        using (var tape = Tape.Record())
        {
            tape.Backward(dense.Losses().Single());
        }

        var w = dense.Kernel.Value.ToArray();
        var g = dense.Kernel.Value.Grad!.ToArray();
        for (int i = 0; i < w.Length; i++)
        {
            Assert.Equal(0.2f * w[i], g[i], 1e-6);
        }

        Assert.Single(dense.Losses());
    }

    [Fact]
    public void ConfigsRoundTripThroughTheRegistry()
    {
        LayerConfig.RegisterObject(nameof(SumOfSquares), c => new SumOfSquares(c["c"]!.GetValue<double>()));
        var layers = new Layer[]
        {
            new Dense(7, activation: "relu", useBias: false, kernelInitializer: "he_uniform", kernelRegularizer: new SumOfSquares(0.25), kernelConstraint: new MaxNorm(3), activityRegularizer: new L1L2(0.1, 0.2), name: "d", inputShape: [-1, 3]),
            new Dense(2, kernelInitializer: "random_normal(stddev=0.1)", biasRegularizer: new L2(0.5), biasConstraint: new NonNeg()),
            new Activation("softmax"),
            new Dropout(0.3f, seed: 9),
            new Embedding(100, 8, maskZero: true, inputLength: 12),
            new Flatten(),
            new Reshape([2, -1]),
            new InputLayer([5, -1], batchSize: 4),
        };
        layers[1].Trainable = false;
        layers[2].BatchSize = 16;
        foreach (var layer in layers)
        {
            var config = layer.GetConfig();
            var copy = LayerRegistry.FromConfig(layer.ClassName, (JsonObject)JsonNode.Parse(config.ToJsonString())!);
            Assert.Equal(layer.GetType(), copy.GetType());
            Assert.Equal(config.ToJsonString(), copy.GetConfig().ToJsonString());
        }

        var dense = (Dense)LayerRegistry.FromConfig("Dense", layers[0].GetConfig());
        Assert.Equal(0.25, ((SumOfSquares)dense.KernelRegularizer!).C);
        Assert.Equal(0.2, ((L1L2)dense.ActivityRegularizer!).L2);
        Assert.IsType<MaxNorm>(dense.KernelConstraint);
        Assert.Equal("random_uniform(minval=-0.05, maxval=0.05)", new Embedding(3, 2).EmbeddingsInitializer);
        Assert.Equal(new[] { -1, 3 }, dense.InputShape);
        Assert.Equal("[null,null,3]", layers[0].GetConfig()["batch_input_shape"]!.ToJsonString());

        var err = Assert.Throws<ArgumentException>(() => LayerRegistry.FromConfig("Conv9D", new JsonObject()));
        Assert.Contains("unknown layer class 'Conv9D'", err.Message);
    }

    [Fact]
    public void SetWeightsChecksShapes()
    {
        var d = new Dense(2, inputShape: [3], name: "w");
        var e = Assert.Throws<ArgumentException>(() => d.SetWeights([new Tensor(3, 2), new Tensor(3)]));
        Assert.Contains("'w/bias' expected [2], got [3]", e.Message);
        d.SetWeights([Tensor.Full(0.5f, 3, 2), Tensor.Full(1f, 2)]);
        Assert.Equal(new[] { 2.5f, 2.5f }, d.Apply(Tensor.Full(1f, 1, 3)).ToArray());
    }

    /// <summary>A tiny MLP learns XOR with the library's SGD.</summary>
    [Fact]
    public void MlpLearnsXor()
    {
        var hidden = new Dense(8, activation: "tanh", inputShape: [2]);
        var output = new Dense(1, activation: "sigmoid", inputShape: [8]);
        var rng = new Rng(11);
        foreach (var p in hidden.Parameters.Concat(output.Parameters))
        {
            rng.FillUniform(p.Value.Span, -1f, 1f);
        }

        var x = Tensor.FromArray([0f, 0f, 0f, 1f, 1f, 0f, 1f, 1f], 4, 2);
        var target = Tensor.FromArray([0f, 1f, 1f, 0f], 4, 1);
        var parameters = hidden.TrainableParameters.Concat(output.TrainableParameters).ToArray();
        var sgd = new Sgd(learningRate: 0.5);
        float loss = float.NaN;
        for (int step = 0; step < 1500; step++)
        {
            Tape.ZeroGrad(parameters.Select(p => p.Value));
            using (var tape = Tape.Record())
            {
                var err = Ops.Subtract(output.Apply(hidden.Apply(x, training: true), training: true), target);
                var mse = Ops.Mean(Ops.Mul(err, err));
                tape.Backward(mse);
                loss = mse.Span[0];
            }

            sgd.Step(parameters);
        }

        var pred = output.Apply(hidden.Apply(x));
        Assert.True(loss < 0.01f, $"XOR loss after training: {loss}");
        Assert.Equal(new[] { 0f, 1f, 1f, 0f }, pred.ToArray().Select(v => v > 0.5f ? 1f : 0f));
    }

    /// <summary>Two Dense sublayers behind a gain vector, to check sublayer paths.</summary>
    private sealed class Pair : Layer
    {
        private readonly Dense first;
        private readonly Dense second;
        private Parameter? scale;

        public Pair(string? name = null)
            : base(name)
        {
            first = TrackLayer(new Dense(2, name: "first"));
            second = TrackLayer(new Dense(2, name: "second"));
        }

        protected override void OnBuild(int[] inputShape)
        {
            scale = AddWeight("scale", [inputShape[^1]], "ones");
            first.Build(inputShape);
            second.Build([2]);
        }

        protected override Tensor Call(Tensor input, Tensor? mask, bool training) =>
            second.Apply(first.Apply(Ops.Mul(input, scale!.Value), training), training);
    }

    /// <summary>Splits the last axis in two halves: one input, two outputs.</summary>
    private sealed class Halves : Layer
    {
        public Halves()
            : base() => SupportsMasking = true;

        protected override IReadOnlyList<Tensor> Call(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks, bool training)
        {
            ExpectInputCount(inputs.Count, 1);
            int half = inputs[0].Dim(-1) / 2;
            return Ops.Split(inputs[0], [half, half]);
        }
    }

    /// <summary>c·Σw², with a public property named like its constructor argument (for config round trips).</summary>
    private sealed class SumOfSquares(double c) : IRegularizer
    {
        public double C { get; } = c;

        public double Penalty(ReadOnlySpan<float> w)
        {
            double s = 0;
            foreach (float v in w)
            {
                s += (double)v * v;
            }

            return C * s;
        }

        public void AddGradient(ReadOnlySpan<float> w, Span<float> grad)
        {
            for (int i = 0; i < w.Length; i++)
            {
                grad[i] += (float)(2 * C * w[i]);
            }
        }
    }
}
