using System.Numerics.Tensors;

namespace LstmSharp.Training;

/// <summary>
/// Keras <c>categorical_crossentropy</c>: one-hot (or soft) targets <c>y</c> of shape <c>[..., C]</c>.
/// <para>From probabilities (Keras's torch/numpy backends): each row is renormalised,
/// <c>q = p / Σp</c>, clipped, <c>c = clip(q, ε, 1 − ε)</c>, and <c>ℓ = −Σ_i y_i log c_i</c>.
/// The gradient goes through the clip (zero where clipped) and the renormalisation:
/// <c>∂ℓ/∂p_k = (g_k − Σ_i g_i q_i) / Σp</c> with <c>g_i = −y_i / c_i</c>.</para>
/// <para>From logits <c>x</c>: <c>ℓ = Σ_i y_i (lse(x) − x_i)</c>, <c>lse(x) = m + log Σ e^{x_j − m}</c>,
/// <c>m = max x</c>; <c>∂ℓ/∂x = softmax(x) Σy − y</c>.</para>
/// </summary>
public sealed class CategoricalCrossentropy(bool fromLogits = false) : Loss("categorical_crossentropy", fromLogits)
{
    public override string ClassName => "CategoricalCrossentropy";

    protected override double RowLoss(ReadOnlySpan<float> pred, ReadOnlySpan<float> target, Span<float> grad, float gradScale, Span<float> scratch, int row)
    {
        if (FromLogits)
        {
            double lse = Crossentropy.ExpShifted(pred, scratch, Name, row, out double sumExp);
            double loss = 0;
            double sumY = 0;
            for (int i = 0; i < pred.Length; i++)
            {
                if (target[i] != 0)
                {
                    loss += target[i] * (lse - pred[i]);
                    sumY += target[i];
                }
            }

            if (!grad.IsEmpty)
            {
                TensorPrimitives.Multiply(scratch, (float)(gradScale * sumY / sumExp), grad);
                TensorPrimitives.MultiplyAdd(target, -gradScale, grad, grad);
            }

            return loss;
        }
        else
        {
            float sum = Crossentropy.RowSum(pred, Name, row);
            double loss = 0;
            double dot = 0;
            for (int i = 0; i < pred.Length; i++)
            {
                float q = pred[i] / sum;
                float c = ClipProbability(q);
                double g = 0;
                if (target[i] != 0)
                {
                    loss -= target[i] * Math.Log(c);
                    g = c == q ? -target[i] / (double)c : 0;
                }

                if (!grad.IsEmpty)
                {
                    grad[i] = (float)g;
                    dot += g * q;
                }
            }

            if (!grad.IsEmpty)
            {
                double s = gradScale / (double)sum;
                for (int i = 0; i < grad.Length; i++)
                {
                    grad[i] = (float)((grad[i] - dot) * s);
                }
            }

            return loss;
        }
    }
}

/// <summary>
/// Keras <c>sparse_categorical_crossentropy</c>: targets are class indices (stored as floats),
/// shape <c>[...]</c> or <c>[..., 1]</c>, predictions <c>[..., C]</c>. Same math as
/// <see cref="CategoricalCrossentropy"/> with a one-hot <c>y</c>; a target that is not an integer in
/// <c>[0, C)</c> is an error.
/// </summary>
public sealed class SparseCategoricalCrossentropy(bool fromLogits = false) : Loss("sparse_categorical_crossentropy", fromLogits)
{
    public override string ClassName => "SparseCategoricalCrossentropy";

    protected override bool SparseTargets => true;

    protected override double RowLoss(ReadOnlySpan<float> pred, ReadOnlySpan<float> target, Span<float> grad, float gradScale, Span<float> scratch, int row)
    {
        int k = ClassIndex(target[0], pred.Length, Name, row);
        if (FromLogits)
        {
            double lse = Crossentropy.ExpShifted(pred, scratch, Name, row, out double sumExp);
            if (!grad.IsEmpty)
            {
                TensorPrimitives.Multiply(scratch, (float)(gradScale / sumExp), grad);
                grad[k] -= gradScale;
            }

            return lse - pred[k];
        }
        else
        {
            float sum = Crossentropy.RowSum(pred, Name, row);
            float q = pred[k] / sum;
            float c = ClipProbability(q);
            if (!grad.IsEmpty)
            {
                // ∂ℓ/∂p_j = g (δ_jk − q) / Σp with g = −1/c (0 when clipped).
                double g = c == q ? -1.0 / c : 0;
                double s = gradScale / (double)sum;
                grad.Fill((float)(-g * q * s));
                grad[k] = (float)(g * (1 - q) * s);
            }

            return -Math.Log(c);
        }
    }
}

/// <summary>
/// Keras <c>binary_crossentropy</c>: targets <c>z</c> of the prediction's shape (or without a
/// trailing 1), mean over the last axis then the batch.
/// <para>From probabilities: <c>c = clip(p, ε, 1 − ε)</c>, <c>ℓ = −(z log c + (1 − z) log(1 − c))</c>;
/// <c>∂ℓ/∂p = −z/c + (1 − z)/(1 − c)</c> (zero where clipped).</para>
/// <para>From logits, in the overflow-free form <c>ℓ = max(x, 0) − x z + log(1 + e^{−|x|})</c>;
/// <c>∂ℓ/∂x = σ(x) − z</c>.</para>
/// </summary>
public sealed class BinaryCrossentropy(bool fromLogits = false) : Loss("binary_crossentropy", fromLogits)
{
    public override string ClassName => "BinaryCrossentropy";

    protected override double RowLoss(ReadOnlySpan<float> pred, ReadOnlySpan<float> target, Span<float> grad, float gradScale, Span<float> scratch, int row)
    {
        int n = pred.Length;
        double loss = 0;
        if (FromLogits)
        {
            for (int i = 0; i < n; i++)
            {
                double x = pred[i];
                loss += Math.Max(x, 0) - (x * target[i]) + Math.Log(1 + Math.Exp(-Math.Abs(x)));
            }

            if (!grad.IsEmpty)
            {
                TensorPrimitives.Sigmoid(pred, grad);
                TensorPrimitives.Subtract(grad, target, grad);
                TensorPrimitives.Multiply(grad, gradScale / n, grad);
            }
        }
        else
        {
            double s = gradScale / (double)n;
            for (int i = 0; i < n; i++)
            {
                float p = pred[i];
                float c = ClipProbability(p);
                float oneMinusC = 1f - c;
                double z = target[i];
                loss -= (z * Math.Log(c)) + ((1 - z) * Math.Log(oneMinusC));
                if (!grad.IsEmpty)
                {
                    grad[i] = c == p ? (float)(s * ((-z / c) + ((1 - z) / oneMinusC))) : 0f;
                }
            }
        }

        return loss / n;
    }
}

/// <summary>Row helpers shared by the cross-entropies.</summary>
internal static class Crossentropy
{
    /// <summary>
    /// Writes <c>e^{x − max x}</c> into <paramref name="exp"/> and returns <c>lse(x)</c>;
    /// <paramref name="sumExp"/> is <c>Σ e^{x − max x}</c> (≥ 1, so the division is safe).
    /// </summary>
    internal static double ExpShifted(ReadOnlySpan<float> x, Span<float> exp, string lossName, int row, out double sumExp)
    {
        float m = TensorPrimitives.Max(x);
        if (!float.IsFinite(m))
        {
            throw new ArgumentException($"Loss '{lossName}': logits of row {row} are not finite (max = {m}).", "yPred");
        }

        TensorPrimitives.Subtract(x, m, exp);
        TensorPrimitives.Exp(exp, exp);
        sumExp = TensorPrimitives.Sum<float>(exp);
        return m + Math.Log(sumExp);
    }

    /// <summary>Σp of a probability row, which must be positive and finite to renormalise by it.</summary>
    internal static float RowSum(ReadOnlySpan<float> p, string lossName, int row)
    {
        float sum = TensorPrimitives.Sum<float>(p);
        if (!(sum > 0) || float.IsPositiveInfinity(sum))
        {
            throw new ArgumentException($"Loss '{lossName}': probabilities of row {row} sum to {sum}; expected a positive finite sum (pass fromLogits: true for logits).", "yPred");
        }

        return sum;
    }
}
