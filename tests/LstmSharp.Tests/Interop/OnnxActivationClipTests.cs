using LstmSharp.Autograd;
using LstmSharp.Interop.Onnx;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Interop;

/// <summary>
/// ONNX recurrent nodes with a cell <c>clip</c> and every activation of the operators' list
/// (with their alphas and betas): built as one-node graphs, run in ONNX Runtime (the judge),
/// imported, run in LstmSharp and compared at 1e-5 relative; then exported again and run in
/// ONNX Runtime once more.
/// </summary>
public class OnnxActivationClipTests
{
    private const int Time = 5;
    private const int Batch = 3;

    public static TheoryData<string> Cases() => new(CaseTable.Keys.ToArray());

    private static readonly Dictionary<string, RecurrentNodeSpec> CaseTable = new()
    {
        ["lstm_clip_defaults"] = new("LSTM") { Clip = 0.5f },
        ["lstm_hardsigmoid_leakyrelu_softsign_clip"] = new("LSTM")
        {
            Activations = ["HardSigmoid", "LeakyRelu", "Softsign"], Alphas = [0.3f, 0.1f], Betas = [0.4f], Clip = 2f, Seed = 2,
        },
        ["lstm_bidir_scaledtanh_elu_affine_softplus"] = new("LSTM", "bidirectional")
        {
            Activations = ["Sigmoid", "ScaledTanh", "Elu", "Sigmoid", "Affine", "Softplus"],
            Alphas = [1.5f, 0.8f, 0.5f], Betas = [0.7f, 0.1f], Clip = 1.5f, Seed = 3,
        },
        ["lstm_reverse_peepholes_input_forget_clip"] = new("LSTM", "reverse") { Peepholes = true, InputForget = true, Clip = 1f, Seed = 4 },
        ["lstm_initial_states_thresholdedrelu_relu"] = new("LSTM")
        {
            Activations = ["Sigmoid", "ThresholdedRelu", "Relu"], Alphas = [0.2f], InitialStates = true, Clip = 3f, Seed = 5,
        },
        ["lstm_default_alphas"] = new("LSTM") { Activations = ["HardSigmoid", "LeakyRelu", "Elu"], Seed = 6 },
        ["gru_clip_softsign"] = new("GRU") { Activations = ["Sigmoid", "Softsign"], Clip = 0.8f, Seed = 7 },
        ["gru_bidir_linear_before_reset_elu_thresholdedrelu"] = new("GRU", "bidirectional")
        {
            Activations = ["HardSigmoid", "Elu", "Sigmoid", "ThresholdedRelu"], Alphas = [0.25f, 1.2f, 0.1f], Betas = [0.45f],
            LinearBeforeReset = true, Clip = 3f, Seed = 8,
        },
        ["gru_reverse_leakyrelu_initial_state"] = new("GRU", "reverse")
        {
            Activations = ["Sigmoid", "LeakyRelu"], Alphas = [0.3f], InitialStates = true, Seed = 9,
        },
        ["rnn_leakyrelu"] = new("RNN") { Activations = ["LeakyRelu"], Alphas = [0.2f], Seed = 10 },
        ["rnn_bidir_softplus_scaledtanh_clip"] = new("RNN", "bidirectional")
        {
            Activations = ["Softplus", "ScaledTanh"], Alphas = [0.9f], Betas = [1.1f], Clip = 1f, Seed = 11,
        },
        ["rnn_reverse_clip_tanh"] = new("RNN", "reverse") { Clip = 0.3f, Seed = 12 },

        // Keras's elu, softsign and softplus are fused kinds: these stay LSTM / GRU / SimpleRNN.
        ["lstm_fused_softplus_elu"] = new("LSTM") { Activations = ["Softplus", "Elu", "Elu"], Seed = 13 },
        ["lstm_bidir_fused_softsign"] = new("LSTM", "bidirectional") { Activations = ["Sigmoid", "Softsign", "Softsign", "Sigmoid", "Softsign", "Softsign"], Seed = 14 },
        ["gru_fused_softsign_softplus"] = new("GRU") { Activations = ["Softsign", "Softplus"], LinearBeforeReset = true, Seed = 15 },
        ["rnn_fused_elu_alpha_one"] = new("RNN", "reverse") { Activations = ["Elu"], Alphas = [1f], Seed = 16 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ImportMatchesOnnxRuntime(string name)
    {
        var spec = CaseTable[name];
        var onnx = spec.Build();
        var feeds = Feeds(spec);
        var expected = RecurrentNodeSpec.RunOrt(onnx, feeds);

        var model = OnnxImport.Load(onnx, name: name);
        var actual = model.Call(feeds);
        Assert.Equal(expected.Count, actual.Count);
        for (int k = 0; k < expected.Count; k++)
        {
            OnnxRuntimeCheck.AssertClose($"{name} {expected[k].Name}", actual[k], expected[k].Values, expected[k].Shape);
        }

        // Saved and loaded, the model is the same; exported again, ONNX Runtime agrees with it.
        string path = Path.Combine(Path.GetTempPath(), $"lstmsharp-onnxacts-{name}-{Guid.NewGuid():N}.lstm");
        try
        {
            model.Save(path);
            var again = Model.Load(path);
            var reloaded = again.Call(feeds);
            for (int k = 0; k < actual.Count; k++)
            {
                Check.Identical($"{name} reloaded output {k}", actual[k].Span, reloaded[k].Span);
            }
        }
        finally
        {
            File.Delete(path);
        }

        var exported = model.ToOnnxBytes(new OnnxExportOptions { Opset = 14 });
        var rerun = RecurrentNodeSpec.RunOrt(exported, feeds);
        for (int k = 0; k < actual.Count; k++)
        {
            OnnxRuntimeCheck.AssertClose($"{name} re-exported {rerun[k].Name}", actual[k], rerun[k].Values, rerun[k].Shape);
        }
    }

    [Fact]
    public void ClipAndExoticActivationsImportAsOnnxCells_PlainOnesStayFused()
    {
        var cells = OnnxImport.Load(CaseTable["lstm_hardsigmoid_leakyrelu_softsign_clip"].Build());
        var cell = Assert.Single(cells.Layers.OfType<RNN>()).Cell;
        var onnxCell = Assert.IsType<OnnxRecurrentCell>(cell);
        Assert.Equal(2f, onnxCell.Clip);
        Assert.Equal(["HardSigmoid(alpha=0.3, beta=0.4)", "LeakyRelu(alpha=0.1)", "Softsign"], onnxCell.Activations.Select(a => a.ToString()));

        var fused = OnnxImport.Load(new RecurrentNodeSpec("LSTM") { Activations = ["HardSigmoid", "Tanh", "Tanh"], Alphas = [0.3f], Betas = [0.4f] }.Build());
        Assert.Single(fused.Layers.OfType<LSTM>());
        Assert.Empty(fused.Layers.OfType<RNN>());
    }

    [Theory]
    [InlineData("lstm_fused_softplus_elu")]
    [InlineData("lstm_bidir_fused_softsign")]
    [InlineData("gru_fused_softsign_softplus")]
    [InlineData("rnn_fused_elu_alpha_one")]
    public void KerasSmoothActivationsImportFused(string name)
    {
        var model = OnnxImport.Load(CaseTable[name].Build());
        Assert.Empty(model.Layers.OfType<RNN>());
        var layer = model.Layers.OfType<RecurrentLayer>().FirstOrDefault() ?? model.Layers.OfType<Bidirectional>().Single().Forward;
        Assert.Contains(layer.Activation, new[] { ActivationKind.Elu, ActivationKind.Softsign, ActivationKind.Softplus });
    }

    /// <summary>Keras layers with elu / softsign / softplus (fused kernels) exported and run in ONNX Runtime.</summary>
    [Fact]
    public void KerasSmoothActivationsExportToOnnxRuntime()
    {
        var model = new Sequential(
        [
            new LSTM(5, activation: "elu", recurrentActivation: "softplus", returnSequences: true, inputShape: [Time, 3]),
            new GRU(4, activation: "softsign", returnSequences: true),
            new SimpleRNN(4, activation: "softplus"),
            new Dense(3, activation: "elu"),
            new Activation("softsign"),
        ]);
        OnnxRuntimeCheck.RandomizeWeights(model, 3);
        OnnxRuntimeCheck.AssertMatches(model, [Scaled(OnnxRuntimeCheck.RandomInput(4, Batch, Time, 3), 2f)]);
    }

    [Fact]
    public void ImportedClipModelFineTunes()
    {
        var spec = CaseTable["gru_clip_softsign"] with { YOnly = true };
        var model = OnnxImport.Load(spec.Build());
        var x = OnnxRuntimeCheck.RandomInput(21, Time, Batch, spec.Features);
        var outputs = model.Call([x]);
        var target = outputs.Select(t => new Tensor(t.ShapeArray)).ToArray();
        var before = model.Parameters.Select(p => p.Value.ToArray()).ToArray();
        model.Compile("sgd", "mse");
        var history = model.Fit([x], target[0], epochs: 3, batchSize: Batch, verbose: 0);
        var losses = history["loss"];
        Assert.True(losses[^1] < losses[0], $"loss did not fall: {string.Join(", ", losses)}");
        Assert.Contains(model.Parameters.Select((p, i) => (p, i)), t => !t.p.Value.ToArray().SequenceEqual(before[t.i]));
    }

    public static TheoryData<string, float?, float?> Functions() => new()
    {
        { "Relu", null, null }, { "Tanh", null, null }, { "Sigmoid", null, null },
        { "Affine", 0.7f, -0.3f }, { "LeakyRelu", 0.15f, null }, { "ThresholdedRelu", 0.4f, null },
        { "ScaledTanh", 1.3f, 0.6f }, { "HardSigmoid", 0.3f, 0.45f }, { "Elu", 0.8f, null },
        { "Softsign", null, null }, { "Softplus", null, null },
    };

    /// <summary>Derivative against central differences of Apply, and Ops.Activation's backward against Derivative.</summary>
    [Theory]
    [MemberData(nameof(Functions))]
    public void DerivativeMatchesFiniteDifferences(string name, float? alpha, float? beta)
    {
        var f = ActivationFunction.Create(name, alpha, beta);
        double[] points = [-3.1, -1.7, -0.9, -0.35, -0.05, 0.05, 0.3, 0.85, 1.6, 2.9];
        const double h = 1e-6;
        foreach (double x in points)
        {
            double numeric = (f.Apply(x + h) - f.Apply(x - h)) / (2 * h);
            Assert.True(Math.Abs(numeric - f.Derivative(x)) <= 1e-6 * Math.Max(1, Math.Abs(numeric)), $"{f} at {x}: derivative {f.Derivative(x)}, central difference {numeric}.");
        }

        var input = new Tensor(points.Select(p => (float)p).ToArray(), 1, points.Length) { RequiresGrad = true };
        using (var tape = Tape.Record())
        {
            var y = Ops.Activation(input, f);
            tape.Backward(Ops.Sum(y));
        }

        for (int i = 0; i < points.Length; i++)
        {
            Assert.Equal(f.Derivative((float)points[i]), input.Grad!.Span[i], 1e-6);
        }
    }

    [Fact]
    public void ClipPassesGradientOnlyInsideTheRange()
    {
        var x = new Tensor([-2f, -0.5f, 0.5f, 2f], 1, 4) { RequiresGrad = true };
        using (var tape = Tape.Record())
        {
            var y = Ops.Clip(x, -1f, 1f);
            Assert.Equal([-1f, -0.5f, 0.5f, 1f], y.ToArray());
            tape.Backward(Ops.Sum(y));
        }

        Assert.Equal([0f, 1f, 1f, 0f], x.Grad!.ToArray());
    }

    /// <summary>The cell's weight gradients (clip and exotic activations on the tape) against central differences of the loss.</summary>
    [Fact]
    public void CellGradientsMatchFiniteDifferences()
    {
        var model = OnnxImport.Load(CaseTable["lstm_hardsigmoid_leakyrelu_softsign_clip"].Build());
        var rnn = Assert.Single(model.Layers.OfType<RNN>());
        var x = OnnxRuntimeCheck.RandomInput(31, Batch, Time, 3);
        float[] Weights(Tensor o) => Enumerable.Range(0, o.Length).Select(i => (float)Math.Sin(i + 1.0)).ToArray();
        double Loss() => rnn.Apply([x], null, training: false, out _).Sum(o => o.ToArray().Zip(Weights(o), (v, w) => (double)v * w).Sum());

        foreach (var p in rnn.Parameters)
        {
            p.Value.RequiresGrad = true;
            p.Value.Grad = null;
        }

        using (var tape = Tape.Record())
        {
            var outs = rnn.Apply([x], null, training: true, out _);
            var total = outs.Select(o => Ops.Sum(Ops.Mul(o, new Tensor(Weights(o), o.ShapeArray)))).Aggregate(Ops.Add);
            tape.Backward(total);
        }

        var rng = new Rng(5);
        foreach (var p in rnn.Parameters)
        {
            var v = p.Value.Span;
            for (int trial = 0; trial < 4; trial++)
            {
                int i = (int)(rng.NextFloat() * v.Length) % v.Length;
                float keep = v[i];
                const float eps = 2e-3f;
                v[i] = keep + eps;
                double up = Loss();
                v[i] = keep - eps;
                double down = Loss();
                v[i] = keep;
                double numeric = (up - down) / (2 * eps);
                double analytic = p.Value.Grad!.Span[i];
                Assert.True(Math.Abs(numeric - analytic) <= 2e-2 * Math.Max(1, Math.Abs(numeric)), $"{p.Path}[{i}]: gradient {analytic}, central difference {numeric}.");
            }
        }
    }

    private static Tensor[] Feeds(RecurrentNodeSpec spec)
    {
        var feeds = new List<Tensor> { Scaled(OnnxRuntimeCheck.RandomInput(spec.Seed + 100, Time, Batch, spec.Features), 2f) };
        if (spec.InitialStates)
        {
            for (int s = 0; s < spec.StateCount; s++)
            {
                feeds.Add(OnnxRuntimeCheck.RandomInput(spec.Seed + 200 + s, spec.Dirs, Batch, spec.Hidden));
            }
        }

        return feeds.ToArray();
    }

    private static Tensor Scaled(Tensor t, float s)
    {
        var span = t.Span;
        for (int i = 0; i < span.Length; i++)
        {
            span[i] *= s;
        }

        return t;
    }
}

/// <summary>Out-of-range recurrent attributes: one OnnxFormatException naming the node, the attribute, the expected and the actual value.</summary>
public class OnnxRecurrentAttributeErrorTests
{
    public static TheoryData<string, string[]> Cases() => new()
    {
        { "clip=0", ["'lstm_node' (LSTM)", "attribute clip is 0", "expected a positive number"] },
        { "clip=-2", ["'lstm_node' (LSTM)", "attribute clip is -2", "expected a positive number"] },
        { "clip=NaN", ["'lstm_node' (LSTM)", "attribute clip is NaN", "expected a positive number"] },
        { "unknown", ["'lstm_node' (LSTM)", "attribute activations[2] is 'Swish'", "expected one of Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus"] },
        { "count", ["'lstm_node' (LSTM)", "attribute activations has 3 entries", "expected 6 (3 per direction for LSTM with direction=bidirectional)"] },
        { "extra alpha", ["'lstm_node' (LSTM)", "activation_alpha / activation_beta have 2 / 0 values", "take 1 / 0"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void BadAttributeIsOneClearError(string which, string[] expected)
    {
        var spec = which switch
        {
            "clip=0" => new RecurrentNodeSpec("LSTM") { Clip = 0f },
            "clip=-2" => new RecurrentNodeSpec("LSTM") { Clip = -2f },
            "clip=NaN" => new RecurrentNodeSpec("LSTM") { Clip = float.NaN },
            "unknown" => new RecurrentNodeSpec("LSTM") { Activations = ["Sigmoid", "Tanh", "Swish"] },
            "count" => new RecurrentNodeSpec("LSTM", "bidirectional") { Activations = ["Sigmoid", "Tanh", "Tanh"] },
            _ => new RecurrentNodeSpec("LSTM") { Activations = ["Sigmoid", "LeakyRelu", "Tanh"], Alphas = [0.1f, 0.2f] },
        };
        var e = Assert.Throws<OnnxFormatException>(() => OnnxImport.Load(spec.Build(), name: "bad.onnx"));
        Assert.Contains("bad.onnx", e.Message);
        foreach (string part in expected)
        {
            Assert.Contains(part, e.Message);
        }
    }

    [Fact]
    public void CellRejectsBadOptionsAtConstruction()
    {
        Assert.Contains("clip must be a positive finite number", Assert.Throws<ArgumentOutOfRangeException>(() => new OnnxRecurrentCell("LSTM", 4, clip: 0f)).Message);
        Assert.Contains("LSTM takes 3 activations, got 2", Assert.Throws<ArgumentException>(() => new OnnxRecurrentCell("LSTM", 4, OnnxRecurrentCell.DefaultActivations("GRU"))).Message);
        Assert.Contains("op must be LSTM, GRU or RNN, got 'Lstm'", Assert.Throws<ArgumentException>(() => new OnnxRecurrentCell("Lstm", 4)).Message);
        Assert.Contains("'Swish' is not one of", Assert.Throws<ArgumentException>(() => ActivationFunction.Create("Swish")).Message);
    }
}
