using System.Numerics.Tensors;
using Tensor = LstmSharp.Tensors.Tensor;

namespace LstmSharp.Training;

/// <summary>
/// A stateful metric in Keras's manner: <c>Update</c> per batch, <see cref="Result"/> at any
/// time, <see cref="Reset"/> at the start of each epoch. All built-ins are weighted means:
/// <c>result = Σ wᵢ vᵢ / Σ wᵢ</c> (0 before any update).
/// </summary>
public abstract class Metric
{
    private double total;
    private double count;

    protected Metric(string name) => Name = name;

    /// <summary>The name Keras reports, e.g. <c>accuracy</c>, <c>loss</c>.</summary>
    public string Name { get; }

    public double Result() => count == 0 ? 0 : total / count;

    /// <summary>Σ w·v so far (distributed training adds the slices' sums in a fixed order).</summary>
    internal double Total => total;

    /// <summary>Σ w so far.</summary>
    internal double TotalWeight => count;

    public void Reset()
    {
        total = 0;
        count = 0;
    }

    /// <summary>Adds <paramref name="weightedSum"/> = Σ w·v and <paramref name="weight"/> = Σ w.</summary>
    protected void Accumulate(double weightedSum, double weight)
    {
        total += weightedSum;
        count += weight;
    }

    public override string ToString() => $"{Name}: {Result():G6}";
}

/// <summary>Keras <c>Mean</c>: the running weighted mean of scalars (e.g. the loss, weighted by batch size).</summary>
public sealed class Mean(string name = "mean") : Metric(name)
{
    public void Update(double value, double weight = 1)
    {
        if (!(weight >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(weight), weight, $"Metric '{Name}': weight must be >= 0, got {weight}.");
        }

        Accumulate(value * weight, weight);
    }
}

/// <summary>
/// A metric computed from predictions and targets, one value per row of the prediction's last
/// axis (e.g. per sample, or per time step of a sequence output), averaged with optional sample
/// weights (one per sample or one per row, as for losses).
/// </summary>
public abstract class PredictionMetric(string name) : Metric(name)
{
    public void Update(Tensor yPred, Tensor yTrue, ReadOnlySpan<float> sampleWeights = default)
    {
        ArgumentNullException.ThrowIfNull(yPred);
        ArgumentNullException.ThrowIfNull(yTrue);
        if (yPred.Rank == 0 || yPred.Length == 0)
        {
            throw new ArgumentException($"Metric '{Name}': yPred must have rank >= 1 and elements, got {Tensor.FormatShape(yPred.Shape)}.", nameof(yPred));
        }

        int rows = yPred.Length / yPred.Dim(-1);
        int perWeight = 1;
        if (!sampleWeights.IsEmpty && sampleWeights.Length != rows)
        {
            if (sampleWeights.Length != yPred.Dim(0))
            {
                throw new ArgumentException($"Metric '{Name}': sampleWeights must have {yPred.Dim(0)} (one per sample) or {rows} (one per row) elements for yPred {Tensor.FormatShape(yPred.Shape)}, got {sampleWeights.Length}.", nameof(sampleWeights));
            }

            perWeight = rows / sampleWeights.Length;
        }

        UpdateRows(yPred, yTrue, rows, sampleWeights, perWeight);
    }

    /// <summary>Accumulates the rows' values; <c>w(n) = sampleWeights[n / perWeight]</c> or 1.</summary>
    private protected abstract void UpdateRows(Tensor yPred, Tensor yTrue, int rows, ReadOnlySpan<float> sampleWeights, int perWeight);

    private protected static double Weight(ReadOnlySpan<float> w, int row, int perWeight) => w.IsEmpty ? 1 : w[row / perWeight];

    /// <summary>The hits of one row: <paramref name="p"/> its predictions, <paramref name="y"/> its targets.</summary>
    private protected delegate int RowHits(ReadOnlySpan<float> p, ReadOnlySpan<float> y);

    /// <summary>
    /// The loop of the accuracies: accumulates <c>w(n)·hits(n)/divisor</c> over the rows, each with
    /// <paramref name="targetsPerRow"/> targets, and the weights <c>w(n)</c>.
    /// </summary>
    private protected void AccumulateHits(Tensor yPred, Tensor yTrue, int rows, ReadOnlySpan<float> sw, int perWeight, int targetsPerRow, int divisor, RowHits hits)
    {
        int c = yPred.Dim(-1);
        CheckSameElements(yPred, yTrue, targetsPerRow, rows);
        var p = yPred.Span;
        var y = yTrue.Span;
        double sum = 0, weight = 0;
        for (int n = 0; n < rows; n++)
        {
            double w = Weight(sw, n, perWeight);
            sum += w * hits(p.Slice(n * c, c), y.Slice(n * targetsPerRow, targetsPerRow)) / divisor;
            weight += w;
        }

        Accumulate(sum, weight);
    }

    private protected void CheckSameElements(Tensor yPred, Tensor yTrue, int targetsPerRow, int rows)
    {
        if (yTrue.Length != targetsPerRow * rows)
        {
            string expected = targetsPerRow == 1 ? $"{rows} class indices" : Tensor.FormatShape(yPred.Shape);
            throw new ArgumentException($"Metric '{Name}': yTrue {Tensor.FormatShape(yTrue.Shape)} does not match yPred {Tensor.FormatShape(yPred.Shape)} (expected {expected}).", nameof(yTrue));
        }
    }
}

/// <summary>Keras <c>binary_accuracy</c>: per row, the mean over the last axis of <c>[(p &gt; threshold) == y]</c>.</summary>
public sealed class BinaryAccuracy(double threshold = 0.5, string name = "binary_accuracy") : PredictionMetric(name)
{
    public double Threshold { get; } = threshold;

    private protected override void UpdateRows(Tensor yPred, Tensor yTrue, int rows, ReadOnlySpan<float> sw, int perWeight) =>
        AccumulateHits(yPred, yTrue, rows, sw, perWeight, yPred.Dim(-1), yPred.Dim(-1), (p, y) =>
        {
            int hits = 0;
            for (int i = 0; i < p.Length; i++)
            {
                hits += (p[i] > Threshold ? 1f : 0f) == y[i] ? 1 : 0;
            }

            return hits;
        });
}

/// <summary>Keras <c>categorical_accuracy</c>: <c>argmax p == argmax y</c> per row (first maximum wins ties).</summary>
public sealed class CategoricalAccuracy(string name = "categorical_accuracy") : PredictionMetric(name)
{
    private protected override void UpdateRows(Tensor yPred, Tensor yTrue, int rows, ReadOnlySpan<float> sw, int perWeight) =>
        AccumulateHits(yPred, yTrue, rows, sw, perWeight, yPred.Dim(-1), 1, (p, y) => TensorPrimitives.IndexOfMax(p) == TensorPrimitives.IndexOfMax(y) ? 1 : 0);
}

/// <summary>Keras <c>sparse_categorical_accuracy</c>: <c>argmax p == y</c> per row, <c>y</c> a class index.</summary>
public sealed class SparseCategoricalAccuracy(string name = "sparse_categorical_accuracy") : PredictionMetric(name)
{
    private protected override void UpdateRows(Tensor yPred, Tensor yTrue, int rows, ReadOnlySpan<float> sw, int perWeight) =>
        AccumulateHits(yPred, yTrue, rows, sw, perWeight, 1, 1, (p, y) => TensorPrimitives.IndexOfMax(p) == y[0] ? 1 : 0);
}

/// <summary>
/// Keras <c>accuracy</c> / <c>acc</c>: resolved on the first update to binary, categorical or
/// sparse categorical accuracy. The loss decides when it is a cross-entropy; otherwise the
/// shapes do: one output unit → binary; targets of lower rank than the predictions, or with
/// a last axis of 1 against several units → sparse; else categorical.
/// </summary>
public sealed class Accuracy(string? lossName = null, string name = "accuracy") : PredictionMetric(name)
{
    /// <summary>The resolved metric (null until the first update).</summary>
    public PredictionMetric? Resolved { get; private set; }

    private protected override void UpdateRows(Tensor yPred, Tensor yTrue, int rows, ReadOnlySpan<float> sw, int perWeight)
    {
        Resolved ??= Resolve(yPred, yTrue);
        Resolved.Reset();
        Resolved.Update(yPred, yTrue, sw);
        double batch = Resolved.Result();

        // The wrapped metric only computes this batch; the running weighted mean lives here.
        double weight = sw.IsEmpty ? rows : SumWeights(sw, rows, perWeight);
        Accumulate(batch * weight, weight);
    }

    private PredictionMetric Resolve(Tensor yPred, Tensor yTrue)
    {
        switch (lossName?.ToLowerInvariant())
        {
            case "binary_crossentropy":
                return new BinaryAccuracy(name: Name);
            case "categorical_crossentropy":
                return new CategoricalAccuracy(Name);
            case "sparse_categorical_crossentropy":
                return new SparseCategoricalAccuracy(Name);
        }

        int units = yPred.Dim(-1);
        if (units == 1)
        {
            return new BinaryAccuracy(name: Name);
        }

        bool sparse = yTrue.Rank < yPred.Rank || (yTrue.Rank > 0 && yTrue.Dim(-1) == 1);
        return sparse ? new SparseCategoricalAccuracy(Name) : new CategoricalAccuracy(Name);
    }

    private static double SumWeights(ReadOnlySpan<float> sw, int rows, int perWeight)
    {
        double s = 0;
        for (int n = 0; n < rows; n++)
        {
            s += sw[n / perWeight];
        }

        return s;
    }
}

/// <summary>A loss used as a metric (Keras <c>metrics=["mse"]</c>): the weighted mean of its per-row values.</summary>
public sealed class LossMetric(Loss loss, string? name = null) : PredictionMetric(name ?? loss.Name)
{
    public Loss Loss { get; } = loss;

    private protected override void UpdateRows(Tensor yPred, Tensor yTrue, int rows, ReadOnlySpan<float> sw, int perWeight)
    {
        // Compute returns Σ w·ℓ / rows; scale back to the weighted sum.
        double weightedSum = Loss.Compute(yPred, yTrue, null, sw) * rows;
        double weight = 0;
        for (int n = 0; n < rows; n++)
        {
            weight += Weight(sw, n, perWeight);
        }

        Accumulate(weightedSum, weight);
    }
}

/// <summary>Metrics by Keras name.</summary>
public static class Metrics
{
    /// <summary>
    /// The metric for a string in Keras's <c>compile(metrics=[...])</c>. <c>accuracy</c>/<c>acc</c>
    /// resolves with <paramref name="lossName"/> and the shapes (see <see cref="Accuracy"/>).
    /// </summary>
    public static PredictionMetric Get(string name, string? lossName = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        switch (name.ToLowerInvariant())
        {
            case "accuracy":
            case "acc":
                return new Accuracy(lossName, name);
            case "binary_accuracy":
                return new BinaryAccuracy();
            case "categorical_accuracy":
                return new CategoricalAccuracy();
            case "sparse_categorical_accuracy":
                return new SparseCategoricalAccuracy();
            case "mse":
            case "mae":
            case "mean_squared_error":
            case "mean_absolute_error":
            case "binary_crossentropy":
            case "categorical_crossentropy":
            case "sparse_categorical_crossentropy":
                return new LossMetric(Losses.Get(name), name);
            default:
                throw new ArgumentException($"Metrics.Get: unknown metric '{name}'; valid names: accuracy (acc), binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, mse, mae, mean_squared_error, mean_absolute_error, binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy.", nameof(name));
        }
    }
}
