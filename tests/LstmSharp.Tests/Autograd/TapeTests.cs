using LstmSharp.Autograd;
using LstmSharp.Tensors;
using static LstmSharp.Tests.Infrastructure.GradientChecker;

namespace LstmSharp.Tests.Autograd;

public class TapeTests
{
    [Fact]
    public void FanOutAccumulatesBothUses()
    {
        // y = Σ (x ⊙ x + 3x): x feeds three places; dy/dx = 2x + 3.
        var x = Random(1, -1, 1, 4);
        x.RequiresGrad = true;
        using (var tape = Tape.Record())
        {
            tape.Backward(Ops.Sum(Ops.Add(Ops.Mul(x, x), Ops.Scale(x, 3f))));
        }

        for (int i = 0; i < 4; i++)
        {
            Assert.Equal((2 * x[i]) + 3, x.Grad![i], 1e-5);
        }
    }

    [Fact]
    public void GradientsAccumulateAcrossTapesUntilZeroed()
    {
        var w = Tensor.FromArray([1f, 2f], 2);
        w.RequiresGrad = true;
        for (int step = 0; step < 2; step++)
        {
            using var tape = Tape.Record();
            tape.Backward(Ops.Sum(Ops.Scale(w, 5f)));
        }

        Assert.Equal(new[] { 10f, 10f }, w.Grad!.ToArray());
        Tape.ZeroGrad([w]);
        Assert.Equal(new[] { 0f, 0f }, w.Grad!.ToArray());
    }

    [Fact]
    public void InferenceRecordsNothingAndTensorsDoNotRequireGrad()
    {
        var w = Random(2, -1, 1, 3, 2);
        w.RequiresGrad = true;
        var x = Random(3, -1, 1, 4, 3);
        Assert.Null(Tape.Current);
        var y = Ops.Tanh(Ops.MatMul(x, w));
        Assert.False(y.RequiresGrad);
        Assert.Null(w.Grad);

        using var tape = Tape.Record();
        using (Tape.NoGrad())
        {
            Assert.Null(Tape.Current);
            var z = Ops.Tanh(Ops.MatMul(x, w));
            Assert.False(z.RequiresGrad);
        }

        Assert.Equal(0, tape.Count);

        // Constants only: nothing to record even while the tape runs.
        var c = Ops.Tanh(x);
        Assert.False(c.RequiresGrad);
        Assert.Equal(0, tape.Count);

        var r = Ops.Tanh(Ops.MatMul(x, w));
        Assert.True(r.RequiresGrad);
        Assert.Equal(new[] { "matmul", "tanh" }, tape.OpNames);
    }

    [Fact]
    public void OpsRunInsideALayerScopeCarryItsName()
    {
        var w = Random(2, -1, 1, 3, 2);
        w.RequiresGrad = true;
        using var tape = Tape.Record();
        using (Tape.InLayer("dense_7"))
        {
            Ops.MatMul(Random(3, -1, 1, 4, 3), w);
            var e = Assert.Throws<ArgumentException>(() => Ops.MatMul(Random(3, -1, 1, 4, 5), w));
            Assert.Contains("op 'matmul' in layer 'dense_7'", e.Message);
            Assert.Contains("[*, 3]", e.Message);
            Assert.Contains("[4, 5]", e.Message);
        }

        Assert.Equal(new[] { "dense_7/matmul" }, tape.OpNames);
        Assert.Null(Tape.CurrentLayer);
    }

    [Fact]
    public void AnomalyModeNamesTheForwardOp()
    {
        var x = Tensor.FromArray([1f, -1f, 0f], 3);
        x.RequiresGrad = true;
        using var tape = Tape.Record(detectAnomalies: true);
        var ok = Ops.Tanh(x);
        var e = Assert.Throws<AnomalyException>(() =>
        {
            using (Tape.InLayer("lstm_2"))
            {
                Ops.Scale(ok, float.PositiveInfinity);
            }
        });
        Assert.Equal("scale", e.Op);
        Assert.Equal("lstm_2", e.Layer);
        Assert.True(e.InForward);
        Assert.Contains("forward", e.Message);
        Assert.Contains("op 'scale' in layer 'lstm_2'", e.Message);
    }

    [Fact]
    public void AnomalyModeNamesTheBackwardOp()
    {
        // Forward is finite (0·∞ never happens in it) but the upstream gradient is NaN: the first op
        // whose backward writes it must be named, here the matmul that consumes dy.
        var x = Tensor.FromArray([1f, 2f], 1, 2);
        var w = Tensor.FromArray([1f, 0f], 2, 1);
        w.RequiresGrad = true;
        using var tape = Tape.Record(detectAnomalies: true);
        var y = Ops.MatMul(x, w);
        var e = Assert.Throws<AnomalyException>(() => tape.Backward(y, Tensor.FromArray([float.NaN], 1, 1)));
        Assert.Equal("matmul", e.Op);
        Assert.False(e.InForward);
        Assert.Contains("backward", e.Message);
    }

    [Fact]
    public void WithoutAnomalyModeNaNPassesSilently()
    {
        var x = Tensor.FromArray([1f], 1);
        x.RequiresGrad = true;
        using var tape = Tape.Record();
        var y = Ops.Scale(x, float.NaN);
        Assert.True(float.IsNaN(y[0]));
    }

    [Fact]
    public void BackwardRunsOnceAndNeedsAScalarOrAGradient()
    {
        var x = Random(4, -1, 1, 3);
        x.RequiresGrad = true;
        using var tape = Tape.Record();
        var y = Ops.Tanh(x);
        var e = Assert.Throws<ArgumentException>(() => tape.Backward(y));
        Assert.Contains("[3]", e.Message);
        var s = Ops.Sum(y);
        tape.Backward(s);
        Assert.Throws<InvalidOperationException>(() => tape.Backward(s));
        Assert.Throws<InvalidOperationException>(() => Ops.Tanh(x));
    }

    [Fact]
    public void BackwardFromATensorWithoutGradientsIsAClearError()
    {
        using var tape = Tape.Record();
        var y = Ops.Sum(Random(5, -1, 1, 3));
        var e = Assert.Throws<InvalidOperationException>(() => tape.Backward(y));
        Assert.Contains("does not depend", e.Message);
    }

    [Fact]
    public void NestedTapesRestoreTheOuterOne()
    {
        using var outer = Tape.Record();
        using (var inner = Tape.Record())
        {
            Assert.Same(inner, Tape.Current);
        }

        Assert.Same(outer, Tape.Current);
    }

    [Fact]
    public void EmbeddingGradientTouchesOnlyUsedRows()
    {
        var table = Random(6, -1, 1, 6, 2);
        table.RequiresGrad = true;
        var idx = Tensor.FromArray([1f, 4f, 1f], 1, 3);
        using (var tape = Tape.Record())
        {
            tape.Backward(Ops.Sum(Ops.Embedding(idx, table)));
        }

        var g = table.Grad!;
        Assert.Equal(new[] { 2f, 2f }, new[] { g[1, 0], g[1, 1] });
        Assert.Equal(new[] { 1f, 1f }, new[] { g[4, 0], g[4, 1] });
        foreach (int row in new[] { 0, 2, 3, 5 })
        {
            Assert.Equal(0f, g[row, 0]);
            Assert.Equal(0f, g[row, 1]);
        }
    }

    [Theory]
    [InlineData(5f, "index 5 at position [1, 0] is out of range for input_dim 5")]
    [InlineData(-1f, "index -1 at position [1, 0] is out of range")]
    [InlineData(1.5f, "index 1.5 at position [1, 0] is not an integer index")]
    public void EmbeddingRejectsBadIndices(float bad, string expected)
    {
        var table = Random(6, -1, 1, 5, 2);
        var idx = Tensor.FromArray([1f, 2f, bad, 0f], 2, 2);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Embedding(idx, table));
        Assert.Contains(expected, e.Message);
        Assert.Contains("op 'embedding'", e.Message);
    }

    [Fact]
    public void DropoutIsReproducibleScaledAndIdentityAtInference()
    {
        var x = Tensor.Full(2f, 50, 40);
        var a = Ops.Dropout(x, 0.25f, new Rng(42), training: true);
        var b = Ops.Dropout(x, 0.25f, new Rng(42), training: true);
        var c = Ops.Dropout(x, 0.25f, new Rng(43), training: true);
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.NotEqual(a.ToArray(), c.ToArray());

        // Survivors are scaled by 1/(1-rate); the dropped fraction is near the rate (2000 draws: σ ≈ 0.01).
        int dropped = a.ToArray().Count(v => v == 0f);
        Assert.All(a.ToArray(), v => Assert.True(v == 0f || Math.Abs(v - (2f / 0.75f)) < 1e-6f));
        Assert.InRange(dropped / 2000.0, 0.2, 0.3);

        Assert.Same(x, Ops.Dropout(x, 0.25f, new Rng(42), training: false));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Dropout(x, 1f, new Rng(1), training: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Dropout(x, -0.1f, new Rng(1), training: true));
    }

    [Fact]
    public void ShapeErrorsNameTheOpExpectedAndActual()
    {
        var e = Assert.Throws<ArgumentException>(() => Ops.MatMul(new Tensor(32, 64), new Tensor(128, 10)));
        Assert.Contains("op 'matmul'", e.Message);
        Assert.Contains("[*, 128]", e.Message);
        Assert.Contains("[32, 64]", e.Message);

        e = Assert.Throws<ArgumentException>(() => Ops.Add(new Tensor(2, 3), new Tensor(2)));
        Assert.Contains("op 'add'", e.Message);
        Assert.Contains("[2, 3]", e.Message);

        e = Assert.Throws<ArgumentException>(() => Ops.Concatenate([new Tensor(2, 3), new Tensor(3, 3)], 1));
        Assert.Contains("op 'concatenate'", e.Message);

        e = Assert.Throws<ArgumentException>(() => Ops.Split(new Tensor(2, 5), [2, 2], 1));
        Assert.Contains("sum to 4", e.Message);

        var r = Assert.Throws<ArgumentOutOfRangeException>(() => Ops.TimeStep(new Tensor(2, 3, 4), 3));
        Assert.Contains("index 3", r.Message);

        e = Assert.Throws<ArgumentException>(() => Ops.Reshape(new Tensor(2, 3), 4, 2));
        Assert.Contains("op 'reshape'", e.Message);

        e = Assert.Throws<ArgumentException>(() => Ops.Activation(new Tensor(2), "swishy"));
        Assert.Contains("swishy", e.Message);
    }
}
