using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Tests.Training;

public class MetricTests
{
    private static Tensor T(float[] data, params int[] shape) => Tensor.FromArray(data, shape);

    [Fact]
    public void BinaryAccuracyThresholdsAtHalfAndAveragesTheLastAxis()
    {
        var m = new BinaryAccuracy();
        // Row 0: [0.7 > .5 = 1 vs 1 ✓, 0.2 → 0 vs 1 ✗] → 0.5; row 1: [0.5 → 0 vs 0 ✓, 0.9 → 1 vs 1 ✓] → 1.
        m.Update(T([0.7f, 0.2f, 0.5f, 0.9f], 2, 2), T([1, 1, 0, 1], 2, 2));
        Assert.Equal(0.75, m.Result(), 12);
        // A second batch of one correct row: (0.5 + 1 + 1) / 3.
        m.Update(T([0.1f, 0.1f], 1, 2), T([0, 0], 1, 2));
        Assert.Equal(2.5 / 3, m.Result(), 12);
        m.Reset();
        Assert.Equal(0, m.Result());
    }

    [Fact]
    public void CategoricalAndSparseAccuracyCompareArgmaxes()
    {
        var p = T([0.1f, 0.8f, 0.1f, 0.6f, 0.3f, 0.1f, 0.2f, 0.2f, 0.6f], 3, 3);
        var cat = new CategoricalAccuracy();
        cat.Update(p, T([0, 1, 0, 0, 0, 1, 0, 0, 1], 3, 3));
        Assert.Equal(2.0 / 3, cat.Result(), 12);
        var sparse = new SparseCategoricalAccuracy();
        sparse.Update(p, T([1f, 2f, 2f], 3));
        Assert.Equal(2.0 / 3, sparse.Result(), 12);
        // Sample weights: (1·1 + 0·0 + 3·1) / (1 + 0 + 3).
        sparse.Reset();
        sparse.Update(p, T([1f, 2f, 2f], 3, 1), [1f, 0f, 3f]);
        Assert.Equal(1.0, sparse.Result(), 12);
    }

    [Fact]
    public void AccuracyResolvesLikeKeras()
    {
        var probs = T([0.1f, 0.9f, 0.8f, 0.2f], 2, 2);

        var a = Metrics.Get("accuracy");
        a.Update(T([0.7f, 0.3f], 2, 1), T([1f, 1f], 2, 1));
        Assert.IsType<BinaryAccuracy>(((Accuracy)a).Resolved);
        Assert.Equal(0.5, a.Result(), 12);

        a = Metrics.Get("accuracy");
        a.Update(probs, T([1f, 1f], 2));
        Assert.IsType<SparseCategoricalAccuracy>(((Accuracy)a).Resolved);
        Assert.Equal(0.5, a.Result(), 12);

        a = Metrics.Get("acc");
        a.Update(probs, T([0, 1, 1, 0], 2, 2));
        Assert.IsType<CategoricalAccuracy>(((Accuracy)a).Resolved);
        Assert.Equal(1.0, a.Result(), 12);
        Assert.Equal("acc", a.Name);

        // Multi-label with binary_crossentropy: element-wise binary accuracy, not argmax.
        a = Metrics.Get("accuracy", "binary_crossentropy");
        a.Update(probs, T([0, 1, 0, 0], 2, 2));
        Assert.IsType<BinaryAccuracy>(((Accuracy)a).Resolved);
        Assert.Equal(0.75, a.Result(), 12);

        // The running mean spans batches of different sizes: (1·0.75·2 + 1·1) / 3 rows.
        a.Update(T([0.9f, 0.9f], 1, 2), T([1, 1], 1, 2));
        Assert.Equal(2.5 / 3, a.Result(), 12);

        var e = Assert.Throws<ArgumentException>(() => Metrics.Get("f1"));
        Assert.Contains("sparse_categorical_accuracy", e.Message);
    }

    [Fact]
    public void MeanAndLossMetricsAreWeightedRunningMeans()
    {
        var mean = new Mean("loss");
        mean.Update(2.0, 32);
        mean.Update(1.0, 16);
        Assert.Equal(((2.0 * 32) + 16) / 48, mean.Result(), 12);

        var mse = Metrics.Get("mse");
        // Batch 1: per-row mse 1 and 4; batch 2: 9 → (1 + 4 + 9) / 3.
        mse.Update(T([1f, 2f], 2, 1), T([0f, 0f], 2, 1));
        mse.Update(T([3f], 1, 1), T([0f], 1, 1));
        Assert.Equal(14.0 / 3, mse.Result(), 1e-6);
    }
}
