using LstmSharp.Kernels;
using LstmSharp.Tensors;

namespace LstmSharp.Training;

/// <summary>
/// A trainable weight of a layer: its value (a tensor that requires gradients), the gradient
/// the tape accumulates into it, and the optional regularizer and constraint Keras attaches
/// to it. <see cref="Name"/> is the layer-local name (<c>kernel</c>, <c>recurrent_kernel</c>,
/// <c>bias</c>); <see cref="Path"/> is the model-wide name used in files (<c>lstm/kernel</c>).
/// </summary>
public sealed class Parameter
{
    public Parameter(string name, Tensor value, bool trainable = true, IRegularizer? regularizer = null, IConstraint? constraint = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        Name = name;
        Value = value;
        Value.Name ??= name;
        Trainable = trainable;
        Value.RequiresGrad = trainable;
        Regularizer = regularizer;
        Constraint = constraint;
        Path = name;
    }

    /// <summary>Layer-local name, e.g. <c>kernel</c>.</summary>
    public string Name { get; }

    /// <summary>Model-wide name, e.g. <c>lstm/kernel</c>; set by the owning layer.</summary>
    public string Path { get; set; }

    public Tensor Value { get; }

    /// <summary>The gradient buffer (created on first use, same shape as <see cref="Value"/>).</summary>
    public Tensor Grad => Value.EnsureGrad();

    public bool Trainable { get; set; }

    public IRegularizer? Regularizer { get; set; }

    public IConstraint? Constraint { get; set; }

    public int Count => Value.Length;

    /// <summary>
    /// The reduced-precision copy the layer's inference runs on, after <c>Model.Quantize</c>
    /// (null while float32); <see cref="Value"/> then holds the values it stands for.
    /// </summary>
    internal QuantizedMatrix? Quantized { get; set; }

    public override string ToString() => $"{Path} {Tensor.FormatShape(Value.Shape)}";
}
