using System.Numerics.Tensors;

namespace LstmSharp.Kernels;

/// <summary>
/// Elementwise float32 kernels over spans: no allocation, vectorised (Vector512/Vector256 and a
/// scalar tail, through <see cref="TensorPrimitives"/>, which does exactly this job well).
/// </summary>
/// <remarks>
/// All inputs and the destination must have the same length (checked, with the op and argument
/// named in the message). The destination may be the very same span as an input (in place);
/// partial overlaps are not supported.
/// </remarks>
internal static class Elementwise
{
    /// <summary>y = a + b.</summary>
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        CheckLengths(nameof(Add), a.Length, b.Length, y.Length);
        TensorPrimitives.Add(a, b, y);
    }

    /// <summary>y = a - b.</summary>
    public static void Subtract(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        CheckLengths(nameof(Subtract), a.Length, b.Length, y.Length);
        TensorPrimitives.Subtract(a, b, y);
    }

    /// <summary>y = a ⊙ b.</summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        CheckLengths(nameof(Multiply), a.Length, b.Length, y.Length);
        TensorPrimitives.Multiply(a, b, y);
    }

    /// <summary>y = a ⊙ b + c, fused (one rounding per element).</summary>
    public static void MultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, Span<float> y)
    {
        CheckLengths(nameof(MultiplyAdd), a.Length, b.Length, y.Length);
        CheckLength(nameof(MultiplyAdd), "c", a.Length, c.Length);
        TensorPrimitives.FusedMultiplyAdd(a, b, c, y);
    }

    /// <summary>y += a ⊙ b, fused (one rounding per element).</summary>
    public static void MultiplyAccumulate(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        CheckLengths(nameof(MultiplyAccumulate), a.Length, b.Length, y.Length);
        TensorPrimitives.FusedMultiplyAdd(a, b, y, y);
    }

    /// <summary>y += alpha·x, fused (BLAS axpy).</summary>
    public static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        CheckLength(nameof(Axpy), "y", x.Length, y.Length);
        TensorPrimitives.FusedMultiplyAdd(x, alpha, y, y);
    }

    /// <summary>y = alpha·x.</summary>
    public static void Scale(ReadOnlySpan<float> x, float alpha, Span<float> y)
    {
        CheckLength(nameof(Scale), "y", x.Length, y.Length);
        TensorPrimitives.Multiply(x, alpha, y);
    }

    /// <summary>In place: x = alpha·x.</summary>
    public static void Scale(Span<float> x, float alpha) => TensorPrimitives.Multiply(x, alpha, x);

    /// <summary>y = x + s.</summary>
    public static void AddScalar(ReadOnlySpan<float> x, float s, Span<float> y)
    {
        CheckLength(nameof(AddScalar), "y", x.Length, y.Length);
        TensorPrimitives.Add(x, s, y);
    }

    /// <summary>y = σ(x) (see <see cref="VecMath"/> for the method and its accuracy).</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y) => VecMath.Apply(ActivationKind.Sigmoid, x, y);

    /// <summary>y = tanh(x).</summary>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> y) => VecMath.Apply(ActivationKind.Tanh, x, y);

    /// <summary>y = clip(x/6 + 1/2, 0, 1) (Keras 3 hard_sigmoid).</summary>
    public static void HardSigmoid(ReadOnlySpan<float> x, Span<float> y) => VecMath.Apply(ActivationKind.HardSigmoid, x, y);

    /// <summary>y = max(x, 0).</summary>
    public static void Relu(ReadOnlySpan<float> x, Span<float> y) => VecMath.Apply(ActivationKind.Relu, x, y);

    /// <summary>y = f(x) for any <see cref="ActivationKind"/>.</summary>
    public static void Activate(ActivationKind kind, ReadOnlySpan<float> x, Span<float> y) => VecMath.Apply(kind, x, y);

    /// <summary>grad ⊙= f'(x) computed from the saved output y = f(x).</summary>
    public static void MultiplyByDerivativeFromOutput(ActivationKind kind, ReadOnlySpan<float> y, Span<float> grad) =>
        VecMath.MultiplyByDerivativeFromOutput(kind, y, grad);

    internal static void CheckLengths(string op, int a, int b, int y)
    {
        CheckLength(op, "b", a, b);
        CheckLength(op, "y", a, y);
    }

    internal static void CheckLength(string op, string argument, int expected, int actual)
    {
        if (expected != actual)
        {
            throw new ArgumentException($"Elementwise.{op}: {argument} has length {actual}, expected {expected} (the length of the first input).", argument);
        }
    }
}
