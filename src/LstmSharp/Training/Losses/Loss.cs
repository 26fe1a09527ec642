using System.Buffers;
using System.Text.Json.Nodes;
using LstmSharp.Tensors;

namespace LstmSharp.Training;

/// <summary>
/// A loss that returns its scalar value and, in the same pass, its gradient with respect to the
/// predictions. The autograd tape wraps it as the terminal op.
/// </summary>
public interface ILoss
{
    /// <summary>The Keras name, e.g. <c>categorical_crossentropy</c>.</summary>
    string Name { get; }

    /// <summary>
    /// The loss of <paramref name="yPred"/> against <paramref name="yTrue"/>, reduced Keras's
    /// <c>sum_over_batch_size</c> way. When <paramref name="dPred"/> is not null it is
    /// overwritten with d(loss)/d(yPred).
    /// </summary>
    /// <param name="yPred">Predictions <c>[..., C]</c>; the last axis is reduced per sample.</param>
    /// <param name="yTrue">Targets (shape depends on the loss).</param>
    /// <param name="dPred">Gradient output, same shape as <paramref name="yPred"/>, or null.</param>
    /// <param name="sampleWeights">Empty, one weight per sample (<c>yPred.Dim(0)</c>), or one
    /// per loss value (the product of all axes but the last, e.g. <c>[B, T]</c> for sequences).</param>
    double Compute(Tensor yPred, Tensor yTrue, Tensor? dPred = null, ReadOnlySpan<float> sampleWeights = default);

    /// <summary>Keras-style config: <c>{"class_name": ..., "config": {...}}</c>.</summary>
    JsonObject GetConfig();
}

/// <summary>
/// Base of the built-in losses. A loss is a per-row function <c>ℓ(p, y)</c> of one row
/// <c>p = yPred[n, :]</c> (the last axis), reduced as Keras's <c>sum_over_batch_size</c>:
/// <code>L = (1/N) Σ_n w_n ℓ(p_n, y_n),   N = yPred.Length / C</code>
/// i.e. the weighted sum divided by the number of loss values (not by Σw, as Keras does).
/// The row kernels receive <c>gradScale = w_n / N</c> and write <c>gradScale · ∂ℓ/∂p_n</c>.
/// </summary>
public abstract class Loss : ILoss
{
    /// <summary>Keras's <c>backend.epsilon()</c>, used to clip probabilities.</summary>
    public const float Epsilon = 1e-7f;

    protected Loss(string name, bool fromLogits)
    {
        Name = name;
        FromLogits = fromLogits;
    }

    public string Name { get; }

    /// <summary>True when the predictions are logits (pre-activation) rather than probabilities.</summary>
    public bool FromLogits { get; }

    /// <summary>Keras class name, e.g. <c>CategoricalCrossentropy</c>.</summary>
    public abstract string ClassName { get; }

    /// <summary>True when targets are class indices (one per row) instead of a row like the prediction.</summary>
    protected virtual bool SparseTargets => false;

    public double Compute(Tensor yPred, Tensor yTrue, Tensor? dPred = null, ReadOnlySpan<float> sampleWeights = default)
    {
        ArgumentNullException.ThrowIfNull(yPred);
        ArgumentNullException.ThrowIfNull(yTrue);
        if (yPred.Rank == 0 || yPred.Dim(-1) == 0 || yPred.Length == 0)
        {
            throw new ArgumentException($"Loss '{Name}': yPred must have rank >= 1 and no empty axis, got {Tensor.FormatShape(yPred.Shape)}.", nameof(yPred));
        }

        int classes = yPred.Dim(-1);
        int rows = yPred.Length / classes;
        CheckTargets(yPred, yTrue);
        if (dPred is not null && !dPred.SameShape(yPred))
        {
            throw new ArgumentException($"Loss '{Name}': dPred must have the shape of yPred {Tensor.FormatShape(yPred.Shape)}, got {Tensor.FormatShape(dPred.Shape)}.", nameof(dPred));
        }

        int rowsPerWeight = SampleWeightStride(sampleWeights.Length, yPred, rows);
        int targetWidth = SparseTargets ? 1 : classes;
        var pred = yPred.Span;
        var target = yTrue.Span;
        var grad = dPred is null ? Span<float>.Empty : dPred.Span;
        float[] scratch = ArrayPool<float>.Shared.Rent(classes);
        try
        {
            double total = 0;
            for (int n = 0; n < rows; n++)
            {
                double w = sampleWeights.IsEmpty ? 1.0 : sampleWeights[n / rowsPerWeight];
                var gradRow = grad.IsEmpty ? Span<float>.Empty : grad.Slice(n * classes, classes);
                double l = RowLoss(pred.Slice(n * classes, classes), target.Slice(n * targetWidth, targetWidth), gradRow, (float)(w / rows), scratch.AsSpan(0, classes), n);
                total += w * l;
            }

            return total / rows;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// The loss of one row; when <paramref name="grad"/> is not empty, writes
    /// <c>gradScale · ∂ℓ/∂pred</c> into it. <paramref name="scratch"/> has the row's length.
    /// </summary>
    protected abstract double RowLoss(ReadOnlySpan<float> pred, ReadOnlySpan<float> target, Span<float> grad, float gradScale, Span<float> scratch, int row);

    public virtual JsonObject GetConfig() => new()
    {
        ["class_name"] = ClassName,
        ["config"] = new JsonObject { ["name"] = Name, ["from_logits"] = FromLogits, ["reduction"] = "sum_over_batch_size" },
    };

    public override string ToString() => FromLogits ? $"{Name}(from_logits=True)" : Name;

    private void CheckTargets(Tensor yPred, Tensor yTrue)
    {
        var p = yPred.Shape;
        var t = yTrue.Shape;
        bool ok;
        string expected;
        if (SparseTargets)
        {
            // Class indices: one per row, optionally with a trailing axis of 1 (Keras accepts both).
            var lead = p[..^1];
            ok = t.SequenceEqual(lead) || (t.Length == p.Length && t[..^1].SequenceEqual(lead) && t[^1] == 1);
            expected = $"{Tensor.FormatShape(lead)} or {Tensor.FormatShape([.. lead.ToArray(), 1])} (class indices)";
        }
        else
        {
            // A [B, 1] prediction against [B] targets is the usual binary case; allow it.
            ok = t.SequenceEqual(p) || (p[^1] == 1 && t.SequenceEqual(p[..^1]));
            expected = Tensor.FormatShape(p);
        }

        if (!ok)
        {
            throw new ArgumentException($"Loss '{Name}': yTrue must have shape {expected} for yPred {Tensor.FormatShape(p)}, got {Tensor.FormatShape(t)}.", nameof(yTrue));
        }
    }

    private int SampleWeightStride(int count, Tensor yPred, int rows)
    {
        if (count == 0 || count == rows)
        {
            return 1;
        }

        if (count == yPred.Dim(0))
        {
            return rows / count;
        }

        throw new ArgumentException($"Loss '{Name}': sampleWeights must have {yPred.Dim(0)} (one per sample) or {rows} (one per loss value) elements for yPred {Tensor.FormatShape(yPred.Shape)}, got {count}.", "sampleWeights");
    }

    /// <summary>Clip to [ε, 1 − ε] in float32, as Keras does.</summary>
    internal static float ClipProbability(float p) => Math.Clamp(p, Epsilon, 1f - Epsilon);

    /// <summary>The class index stored as a float; throws when it is not an integer in [0, classes).</summary>
    internal static int ClassIndex(float label, int classes, string lossName, int row)
    {
        int k = (int)label;
        if (k != label || k < 0 || k >= classes)
        {
            throw new ArgumentException($"Loss '{lossName}': target of row {row} must be a class index in [0, {classes}), got {label}.", "yTrue");
        }

        return k;
    }
}
