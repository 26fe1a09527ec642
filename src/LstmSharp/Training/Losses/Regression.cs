using System.Numerics.Tensors;

namespace LstmSharp.Training;

/// <summary>Keras <c>mean_squared_error</c>: <c>ℓ = (1/C) Σ_i (p_i − y_i)²</c>, <c>∂ℓ/∂p = 2 (p − y) / C</c>.</summary>
public sealed class MeanSquaredError() : Loss("mean_squared_error", false)
{
    public override string ClassName => "MeanSquaredError";

    protected override double RowLoss(ReadOnlySpan<float> pred, ReadOnlySpan<float> target, Span<float> grad, float gradScale, Span<float> scratch, int row)
    {
        TensorPrimitives.Subtract(pred, target, scratch);
        double loss = TensorPrimitives.SumOfSquares<float>(scratch) / (double)pred.Length;
        if (!grad.IsEmpty)
        {
            TensorPrimitives.Multiply(scratch, 2f * gradScale / pred.Length, grad);
        }

        return loss;
    }
}

/// <summary>Keras <c>mean_absolute_error</c>: <c>ℓ = (1/C) Σ_i |p_i − y_i|</c>, <c>∂ℓ/∂p = sign(p − y) / C</c> (0 at a tie).</summary>
public sealed class MeanAbsoluteError() : Loss("mean_absolute_error", false)
{
    public override string ClassName => "MeanAbsoluteError";

    protected override double RowLoss(ReadOnlySpan<float> pred, ReadOnlySpan<float> target, Span<float> grad, float gradScale, Span<float> scratch, int row)
    {
        TensorPrimitives.Subtract(pred, target, scratch);
        double loss = TensorPrimitives.SumOfMagnitudes<float>(scratch) / (double)pred.Length;
        if (!grad.IsEmpty)
        {
            float s = gradScale / pred.Length;
            for (int i = 0; i < grad.Length; i++)
            {
                float d = scratch[i];
                grad[i] = d > 0 ? s : d < 0 ? -s : 0f;
            }
        }

        return loss;
    }
}
