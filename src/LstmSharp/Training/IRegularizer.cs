namespace LstmSharp.Training;

/// <summary>A weight penalty added to the loss (Keras <c>kernel_regularizer</c> and friends).</summary>
public interface IRegularizer
{
    /// <summary>The penalty for weights <paramref name="w"/>.</summary>
    double Penalty(ReadOnlySpan<float> w);

    /// <summary>Adds d(penalty)/dw to <paramref name="grad"/>.</summary>
    void AddGradient(ReadOnlySpan<float> w, Span<float> grad);
}

/// <summary>A projection applied to a weight after each optimizer step (Keras <c>kernel_constraint</c>).</summary>
public interface IConstraint
{
    /// <summary>Projects the weights in place. <paramref name="shape"/> is the weight's shape.</summary>
    void Apply(Span<float> w, ReadOnlySpan<int> shape);
}
