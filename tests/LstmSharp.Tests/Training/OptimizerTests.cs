using System.Text.Json.Nodes;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Tests.Training;

public class OptimizerTests
{
    private static Parameter P(string path, params float[] values)
    {
        var p = new Parameter(path.Split('/')[^1], Tensor.FromArray(values, values.Length)) { Path = path };
        return p;
    }

    private static void SetGrad(Parameter p, params float[] g) => g.CopyTo(p.Grad.Span);

    [Fact]
    public void SgdPlainMomentumAndNesterovMatchHandSteps()
    {
        // w0 = 1, g = 0.5 every step, lr = 0.1.
        var plain = P("w", 1f);
        var sgd = new Sgd(0.1);
        SetGrad(plain, 0.5f);
        sgd.Step([plain]);
        sgd.Step([plain]);
        Assert.Equal(1 - 0.05 - 0.05, plain.Value[0], 1e-6);

        // μ = 0.9: m1 = −0.05, w1 = 0.95; m2 = 0.9·(−0.05) − 0.05 = −0.095, w2 = 0.855.
        var w = P("w", 1f);
        var mom = new Sgd(0.1, momentum: 0.9);
        SetGrad(w, 0.5f);
        mom.Step([w]);
        Assert.Equal(0.95, w.Value[0], 1e-6);
        mom.Step([w]);
        Assert.Equal(0.855, w.Value[0], 1e-6);

        // Nesterov: w1 = 1 + (0.9·(−0.05) − 0.05) = 0.905; w2 = 0.905 + (0.9·(−0.095) − 0.05) = 0.7695.
        var n = P("w", 1f);
        var nest = new Sgd(0.1, momentum: 0.9, nesterov: true);
        SetGrad(n, 0.5f);
        nest.Step([n]);
        Assert.Equal(0.905, n.Value[0], 1e-6);
        nest.Step([n]);
        Assert.Equal(0.7695, n.Value[0], 1e-6);
        Assert.Equal(2, nest.Iterations);
    }

    [Fact]
    public void AdamOneAndTwoStepsMatchTheUpdateRule()
    {
        double[] w0 = [1, -2, 0.5];
        double[] g1 = [0.1, -0.2, 0.3];
        double[] g2 = [-0.1, 0.05, 0.2];
        var p = P("w", w0.Select(x => (float)x).ToArray());
        var adam = new Adam();
        SetGrad(p, g1.Select(x => (float)x).ToArray());
        adam.Step([p]);

        // Step 1: m = 0.1g, v = 0.001g², α = 0.001·√0.001/0.1, so
        // w1 = w0 − α·0.1g/(√0.001·|g| + ε) = w0 − 0.001·g/(|g| + ε/√0.001).
        var w1 = new double[3];
        for (int i = 0; i < 3; i++)
        {
            w1[i] = w0[i] - (0.001 * g1[i] / (Math.Abs(g1[i]) + (1e-7 / Math.Sqrt(0.001))));
            Assert.Equal(w1[i], p.Value[i], 1e-6);
        }

        SetGrad(p, g2.Select(x => (float)x).ToArray());
        adam.Step([p]);

        // Step 2: m = 0.9·0.1g1 + 0.1g2, v = 0.999·0.001g1² + 0.001g2²,
        // α = 0.001·√(1 − 0.999²)/(1 − 0.9²).
        double alpha = 0.001 * Math.Sqrt(1 - (0.999 * 0.999)) / (1 - (0.9 * 0.9));
        for (int i = 0; i < 3; i++)
        {
            double m = (0.9 * 0.1 * g1[i]) + (0.1 * g2[i]);
            double v = (0.999 * 0.001 * g1[i] * g1[i]) + (0.001 * g2[i] * g2[i]);
            Assert.Equal(w1[i] - (alpha * m / (Math.Sqrt(v) + 1e-7)), p.Value[i], 1e-6);
        }
    }

    [Fact]
    public void AdamAmsgradUsesTheLargestVelocity()
    {
        // g = 1 then 0: v1 = 0.001, v2 = 0.000999 < v̂ = 0.001; m2 = 0.09.
        var p = P("w", 0f);
        var adam = new Adam(learningRate: 0.1, amsgrad: true);
        SetGrad(p, 1f);
        adam.Step([p]);
        double w1 = p.Value[0];
        SetGrad(p, 0f);
        adam.Step([p]);
        double alpha2 = 0.1 * Math.Sqrt(1 - (0.999 * 0.999)) / (1 - 0.81);
        Assert.Equal(w1 - (alpha2 * 0.09 / (Math.Sqrt(0.001) + 1e-7)), p.Value[0], 1e-6);
    }

    [Fact]
    public void RmsPropPlainCenteredAndMomentumMatchHandSteps()
    {
        // w0 = 1, g = 0.5, lr = 0.01, ρ = 0.9: v1 = 0.1·0.25 = 0.025, w1 = 1 − 0.01·0.5/√(0.025 + 1e−7).
        var p = P("w", 1f);
        var rms = new RmsProp(0.01);
        SetGrad(p, 0.5f);
        rms.Step([p]);
        Assert.Equal(1 - (0.005 / Math.Sqrt(0.025 + 1e-7)), p.Value[0], 1e-6);

        // Centered: a1 = 0.05, d = 0.025 − 0.0025 + 1e−7.
        var c = P("w", 1f);
        var centered = new RmsProp(0.01, centered: true);
        SetGrad(c, 0.5f);
        centered.Step([c]);
        Assert.Equal(1 - (0.005 / Math.Sqrt(0.0225 + 1e-7)), c.Value[0], 1e-6);

        // Momentum 0.5: mom1 = Δ1; v2 = 0.9·0.025 + 0.025 = 0.0475, Δ2 = 0.005/√(v2 + ε), mom2 = 0.5·Δ1 + Δ2.
        var m = P("w", 1f);
        var withMomentum = new RmsProp(0.01, momentum: 0.5);
        SetGrad(m, 0.5f);
        withMomentum.Step([m]);
        withMomentum.Step([m]);
        double d1 = 0.005 / Math.Sqrt(0.025 + 1e-7);
        double d2 = 0.005 / Math.Sqrt(0.0475 + 1e-7);
        Assert.Equal(1 - d1 - ((0.5 * d1) + d2), m.Value[0], 1e-6);
    }

    [Fact]
    public void AdagradMatchesHandSteps()
    {
        // acc0 = 0.1; acc1 = 0.35, w1 = 1 − 0.001·0.5/√(0.35 + 1e−7); acc2 = 0.6.
        var p = P("w", 1f);
        var ada = new Adagrad();
        SetGrad(p, 0.5f);
        ada.Step([p]);
        double w1 = 1 - (0.0005 / Math.Sqrt(0.35 + 1e-7));
        Assert.Equal(w1, p.Value[0], 1e-6);
        ada.Step([p]);
        Assert.Equal(w1 - (0.0005 / Math.Sqrt(0.6 + 1e-7)), p.Value[0], 1e-6);
    }

    public static TheoryData<string> AllVariants() =>
    [
        "sgd", "sgd_momentum", "sgd_nesterov", "adam", "adam_amsgrad", "rmsprop", "rmsprop_centered_momentum", "adagrad",
    ];

    private static Optimizer Make(string variant) => variant switch
    {
        "sgd" => new Sgd(0.05),
        "sgd_momentum" => new Sgd(0.05, momentum: 0.9),
        "sgd_nesterov" => new Sgd(0.05, momentum: 0.9, nesterov: true),
        "adam" => new Adam(0.01),
        "adam_amsgrad" => new Adam(0.01, amsgrad: true),
        "rmsprop" => new RmsProp(0.01),
        "rmsprop_centered_momentum" => new RmsProp(0.01, momentum: 0.5, centered: true),
        "adagrad" => new Adagrad(0.1),
        _ => throw new ArgumentException(variant),
    };

    /// <summary>Parameters of awkward lengths so every vector width and the scalar tail run (24 = 16 + 8 reaches the Vector256 loop after Vector512).</summary>
    private static Parameter[] RandomParameters(int seed)
    {
        var rng = new Random(seed);
        return new[] { 1, 7, 16, 24, 37, 515 }.Select((n, k) => P($"layer/w{k}", Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray())).ToArray();
    }

    private static void RandomGrads(Parameter[] ps, Random rng)
    {
        foreach (var p in ps)
        {
            var g = p.Grad.Span;
            for (int i = 0; i < g.Length; i++)
            {
                g[i] = (float)(rng.NextDouble() - 0.5);
            }
        }
    }

    [Theory]
    [MemberData(nameof(AllVariants))]
    public void SimdUpdateIsBitIdenticalToTheScalarTwin(string variant)
    {
        var fast = RandomParameters(1);
        var slow = RandomParameters(1);
        var a = Make(variant);
        var b = Make(variant);
        b.Width = LaneWidth.Scalar;
        var ra = new Random(2);
        var rb = new Random(2);
        for (int step = 0; step < 4; step++)
        {
            RandomGrads(fast, ra);
            RandomGrads(slow, rb);
            a.Step(fast);
            b.Step(slow);
        }

        for (int k = 0; k < fast.Length; k++)
        {
            Assert.Equal(slow[k].Value.ToArray(), fast[k].Value.ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(AllVariants))]
    public void StateRoundTripContinuesBitIdentically(string variant)
    {
        // Run 3 steps, snapshot, run 3 more; a fresh optimizer restored from the snapshot on a
        // copy of the weights must then produce exactly the same 3 steps.
        var ps = RandomParameters(3);
        var opt = Make(variant);
        var rng = new Random(4);
        for (int s = 0; s < 3; s++)
        {
            RandomGrads(ps, rng);
            opt.Step(ps);
        }

        var state = opt.GetState();
        var copies = ps.Select(p => P(p.Path, p.Value.ToArray())).ToArray();
        var rngCopy = new Random(5);
        rng = new Random(5);
        for (int s = 0; s < 3; s++)
        {
            RandomGrads(ps, rng);
            opt.Step(ps);
        }

        var restored = Make(variant);
        restored.SetState(state, copies);
        Assert.Equal(3, restored.Iterations);
        for (int s = 0; s < 3; s++)
        {
            RandomGrads(copies, rngCopy);
            restored.Step(copies);
        }

        for (int k = 0; k < ps.Length; k++)
        {
            Assert.Equal(ps[k].Value.ToArray(), copies[k].Value.ToArray());
        }
    }

    [Fact]
    public void SetStateValidatesNamesAndShapes()
    {
        var p = P("dense/kernel", 1f, 2f);
        var adam = new Adam();
        SetGrad(p, 0.1f, 0.2f);
        adam.Step([p]);
        var state = adam.GetState();
        Assert.Equal(["dense/kernel/momentum", "dense/kernel/velocity"], state.Slots.Keys.Order());

        var wrongShape = P("dense/kernel", 1f, 2f, 3f);
        var e = Assert.Throws<ArgumentException>(() => new Adam().SetState(state, [wrongShape]));
        Assert.Contains("dense/kernel/momentum", e.Message);
        Assert.Contains("[3]", e.Message);
        Assert.Contains("[2]", e.Message);

        e = Assert.Throws<ArgumentException>(() => new Adam().SetState(state, [P("other/kernel", 1f, 2f)]));
        Assert.Contains("other/kernel/momentum", e.Message);

        e = Assert.Throws<ArgumentException>(() => new Adam().SetState(state, []));
        Assert.Contains("dense/kernel/velocity", e.Message);

        e = Assert.Throws<ArgumentException>(() => new Sgd(momentum: 0.9).SetState(state, [P("dense/kernel", 1f, 2f)]));
        Assert.Contains("momentum", e.Message);

        // The snapshot is a copy: later steps do not change it.
        float before = state.Slots["dense/kernel/momentum"].Values[0];
        adam.Step([p]);
        Assert.Equal(before, state.Slots["dense/kernel/momentum"].Values[0]);
    }

    [Fact]
    public void ClippingFollowsKerasSemanticsAndLeavesGradientsAlone()
    {
        // clipnorm 1 on g = [3, 4] (norm 5) → [0.6, 0.8]; SGD with lr 1 shows the clipped gradient.
        var p = P("w", 0f, 0f);
        SetGrad(p, 3f, 4f);
        new Sgd(1) { ClipNorm = 1 }.Step([p]);
        Assert.Equal(-0.6f, p.Value[0], 1e-6);
        Assert.Equal(-0.8f, p.Value[1], 1e-6);
        Assert.Equal([3f, 4f], p.Grad.ToArray());

        // Below the threshold nothing changes.
        p = P("w", 0f, 0f);
        SetGrad(p, 0.3f, 0.4f);
        new Sgd(1) { ClipNorm = 1 }.Step([p]);
        Assert.Equal([-0.3f, -0.4f], p.Value.ToArray());

        // clipvalue 0.5 clips each element.
        p = P("w", 0f, 0f, 0f);
        SetGrad(p, 3f, -4f, 0.25f);
        new Sgd(1) { ClipValue = 0.5 }.Step([p]);
        Assert.Equal([-0.5f, 0.5f, -0.25f], p.Value.ToArray());

        // global_clipnorm 1 over g1 = [3], g2 = [4] (joint norm 5) scales both by 1/5; per-parameter clipnorm would not.
        var a = P("a", 0f);
        var b = P("b", 0f);
        SetGrad(a, 3f);
        SetGrad(b, 4f);
        new Sgd(1) { GlobalClipNorm = 1 }.Step([a, b]);
        Assert.Equal(-0.6f, a.Value[0], 1e-6);
        Assert.Equal(-0.8f, b.Value[0], 1e-6);

        var e = Assert.Throws<ArgumentException>(() => new Sgd { ClipNorm = 1, GlobalClipNorm = 1 });
        Assert.Contains("only one", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd { ClipValue = -1 });
    }

    [Fact]
    public void NonTrainableParametersAreSkippedAndConstraintsApplyAfterTheStep()
    {
        var frozen = P("frozen", 1f);
        frozen.Trainable = false;
        SetGrad(frozen, 10f);
        var constrained = P("c", 1f, 0f);
        constrained.Constraint = new NonNeg();
        SetGrad(constrained, 3f, -1f);
        var sgd = new Sgd(1);
        sgd.Step([frozen, constrained]);
        Assert.Equal(1f, frozen.Value[0]);
        // 1 − 3 = −2 → clamped to 0; 0 + 1 = 1.
        Assert.Equal([0f, 1f], constrained.Value.ToArray());
        Assert.DoesNotContain(sgd.GetState().Slots.Keys, k => k.StartsWith("frozen", StringComparison.Ordinal));
    }

    [Fact]
    public void WeightDecayIsDecoupled()
    {
        // w ← w − w·wd·lr, then w ← w − lr·g: 2 − 2·0.1·0.5 − 0.5·1 = 1.4.
        var p = P("w", 2f);
        SetGrad(p, 1f);
        new Sgd(0.5) { WeightDecay = 0.1 }.Step([p]);
        Assert.Equal(1.4f, p.Value[0], 1e-6);
    }

    [Fact]
    public void SchedulesFollowTheirFormulas()
    {
        var exp = new ExponentialDecay(0.1, 10, 0.5);
        Assert.Equal(0.1, exp.Get(0), 12);
        Assert.Equal(0.1 * Math.Pow(0.5, 0.5), exp.Get(5), 12);
        Assert.Equal(0.1 * 0.25, exp.Get(20), 12);
        var stair = new ExponentialDecay(0.1, 10, 0.5, staircase: true);
        Assert.Equal(0.1, stair.Get(9), 12);
        Assert.Equal(0.05, stair.Get(10), 12);

        var pw = new PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1]);
        Assert.Equal([1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.1], Enumerable.Range(0, 7).Select(s => pw.Get(s)));

        var cos = new CosineDecay(1.0, 100, alpha: 0.1);
        Assert.Equal(1.0, cos.Get(0), 12);
        // Halfway: cosine factor ½, so 0.9·½ + 0.1 = 0.55; past the end it stays at α.
        Assert.Equal(0.55, cos.Get(50), 12);
        Assert.Equal(0.1, cos.Get(100), 12);
        Assert.Equal(0.1, cos.Get(1000), 12);
        var warm = new CosineDecay(0.0, 10, warmupTarget: 1.0, warmupSteps: 4);
        Assert.Equal(0.5, warm.Get(2), 12);
        Assert.Equal(1.0, warm.Get(4), 12);
        Assert.Equal(0.5, warm.Get(9), 12);

        // The optimizer evaluates the schedule at the number of steps already taken.
        var p = P("w", 0f);
        SetGrad(p, 1f);
        var sgd = new Sgd { Schedule = new PiecewiseConstantDecay([0], [1.0, 0.25]) };
        Assert.Equal(1.0, sgd.LearningRate);
        sgd.Step([p]);
        sgd.Step([p]);
        Assert.Equal(-1.25f, p.Value[0]);
        Assert.Throws<InvalidOperationException>(() => sgd.LearningRate = 0.1);
    }

    [Fact]
    public void SharedSettingsComeBackFromConfigs()
    {
        var adagrad = new Adagrad(0.01) { ClipValue = 0.5, WeightDecay = 0.004, AllowNonFiniteGradients = true };
        var back = Optimizers.FromConfig(adagrad.GetConfig());
        Assert.Equal(0.5, back.ClipValue);
        Assert.Equal(0.004, back.WeightDecay);
        Assert.True(back.AllowNonFiniteGradients);
        Assert.Null(back.ClipNorm);
        Assert.Equal(adagrad.GetConfig().ToJsonString(), back.GetConfig().ToJsonString());

        // A config naming two clips is refused as the init accessors refuse it.
        var twoClips = new Sgd { ClipNorm = 1 }.GetConfig();
        twoClips["config"]!["clipvalue"] = 2.0;
        var e = Assert.Throws<ArgumentException>(() => Optimizers.FromConfig(twoClips));
        Assert.Contains("only one of ClipNorm, ClipValue and GlobalClipNorm", e.Message);

        var badDecay = new Sgd().GetConfig();
        badDecay["config"]!["weight_decay"] = -1.0;
        Assert.Contains("WeightDecay must be a finite number >= 0", Assert.Throws<ArgumentOutOfRangeException>(() => Optimizers.FromConfig(badDecay)).Message);
    }

    [Fact]
    public void ConfigsRoundTrip()
    {
        var adam = new Adam(0.002, beta1: 0.8, amsgrad: true) { ClipNorm = 1.5, Schedule = new CosineDecay(0.002, 1000, 0.1) };
        var json = adam.GetConfig().ToJsonString();
        var back = Assert.IsType<Adam>(Optimizers.FromConfig(JsonNode.Parse(json)!.AsObject()));
        Assert.Equal(0.8, back.Beta1);
        Assert.True(back.Amsgrad);
        Assert.Equal(1.5, back.ClipNorm);
        Assert.Equal(adam.LearningRate, back.LearningRate);
        Assert.Equal(json, back.GetConfig().ToJsonString());

        foreach (var name in new[] { "sgd", "adam", "rmsprop", "adagrad" })
        {
            var o = Optimizers.Get(name);
            Assert.Equal(o.GetConfig().ToJsonString(), Optimizers.FromConfig(o.GetConfig()).GetConfig().ToJsonString());
        }

        var rms = new RmsProp(0.01, momentum: 0.5, centered: true) { GlobalClipNorm = 2 };
        Assert.Equal(rms.GetConfig().ToJsonString(), Optimizers.FromConfig(rms.GetConfig()).GetConfig().ToJsonString());
        var sgd = new Sgd(0.1, 0.9, true) { Schedule = new ExponentialDecay(0.1, 100, 0.96, true) };
        Assert.Equal(sgd.GetConfig().ToJsonString(), Optimizers.FromConfig(sgd.GetConfig()).GetConfig().ToJsonString());
        Assert.Equal(0.01, Optimizers.Get("sgd").LearningRate);

        var e = Assert.Throws<ArgumentException>(() => Optimizers.Get("adamw"));
        Assert.Contains("adam, rmsprop", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta1: 1.0));
    }
}
