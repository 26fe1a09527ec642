using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using LstmSharp.Kernels;
using LstmSharp.Tensors;

namespace LstmSharp.Autograd;

public static partial class Ops
{
    /// <summary>Names <see cref="Activation(Tensor, string?)"/> accepts: the <see cref="ActivationKind"/> names and "softmax".</summary>
    public static readonly IReadOnlyList<string> SupportedActivations = ["linear", "sigmoid", "hard_sigmoid", "tanh", "relu", "softmax"];

    /// <summary>
    /// A Keras activation by name: "linear" (or null) returns <paramref name="x"/> itself,
    /// "softmax" normalises over the last axis, the rest are elementwise (<see cref="ActivationKind"/>).
    /// </summary>
    public static Tensor Activation(Tensor x, string? name)
    {
        if (string.Equals(name, "softmax", StringComparison.OrdinalIgnoreCase))
        {
            return Softmax(x);
        }

        ActivationKind kind;
        try
        {
            kind = Kernels.ActivationNames.Parse(name, Where("activation"));
        }
        catch (ArgumentException)
        {
            throw new ArgumentException($"{Where("activation")}: unknown activation '{name}'; expected one of {string.Join(", ", SupportedActivations)}.", nameof(name));
        }

        return Activation(x, kind);
    }

    /// <summary>
    /// y = f(x) elementwise. The backward uses the derivative written through the output,
    /// dx = dy ⊙ f'(y) (see <see cref="ActivationKind"/>), so only y is kept.
    /// </summary>
    public static Tensor Activation(Tensor x, ActivationKind kind)
    {
        string op = kind.ToName();
        NotNull(x, op, nameof(x));
        if (kind == ActivationKind.Linear)
        {
            return x;
        }

        var y = new Tensor(x.ShapeArray);
        var xs = x.Span;
        var ys = y.Span;
        switch (kind)
        {
            case ActivationKind.Sigmoid:
                TensorPrimitives.Sigmoid(xs, ys);
                break;
            case ActivationKind.Tanh:
                TensorPrimitives.Tanh(xs, ys);
                break;
            case ActivationKind.Relu:
                TensorPrimitives.Max(xs, 0f, ys);
                break;
            case ActivationKind.HardSigmoid:
                TensorPrimitives.Multiply(xs, 1f / 6f, ys);
                TensorPrimitives.Add(ys, 0.5f, ys);
                TensorPrimitives.Max(ys, 0f, ys);
                TensorPrimitives.Min(ys, 1f, ys);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }

        Tape.Track(op, y, x, () =>
        {
            if (!x.RequiresGrad)
            {
                return;
            }

            var dx = x.EnsureGrad().Span;
            var dy = y.Grad!.Span;
            var yv = y.Span;
            switch (kind)
            {
                case ActivationKind.Sigmoid:
                    for (int i = 0; i < dx.Length; i++)
                    {
                        dx[i] += dy[i] * yv[i] * (1f - yv[i]);
                    }

                    break;
                case ActivationKind.Tanh:
                    for (int i = 0; i < dx.Length; i++)
                    {
                        dx[i] += dy[i] * (1f - (yv[i] * yv[i]));
                    }

                    break;
                case ActivationKind.Relu:
                    for (int i = 0; i < dx.Length; i++)
                    {
                        dx[i] += yv[i] > 0f ? dy[i] : 0f;
                    }

                    break;
                default:
                    for (int i = 0; i < dx.Length; i++)
                    {
                        dx[i] += yv[i] > 0f && yv[i] < 1f ? dy[i] * (1f / 6f) : 0f;
                    }

                    break;
            }
        });
        return y;
    }

    public static Tensor Sigmoid(Tensor x) => Activation(x, ActivationKind.Sigmoid);

    public static Tensor Tanh(Tensor x) => Activation(x, ActivationKind.Tanh);

    public static Tensor Relu(Tensor x) => Activation(x, ActivationKind.Relu);

    public static Tensor HardSigmoid(Tensor x) => Activation(x, ActivationKind.HardSigmoid);

    /// <summary>
    /// Softmax over the last axis: y_i = e^(x_i − max x) / Σ_j e^(x_j − max x).
    /// Backward per row: dx = y ⊙ (dy − ⟨dy, y⟩).
    /// </summary>
    public static Tensor Softmax(Tensor x)
    {
        const string op = "softmax";
        NotNull(x, op, nameof(x));
        if (x.Rank == 0)
        {
            throw ShapeError(op, "a tensor of rank >= 1", x.Shape);
        }

        var y = new Tensor(x.ShapeArray);
        int n = x.Dim(-1);
        int rows = n == 0 ? 0 : x.Length / n;
        for (int r = 0; r < rows; r++)
        {
            TensorPrimitives.SoftMax(x.Span.Slice(r * n, n), y.Span.Slice(r * n, n));
        }

        Tape.Track(op, y, x, () =>
        {
            if (!x.RequiresGrad)
            {
                return;
            }

            var dx = x.EnsureGrad().Span;
            var dy = y.Grad!.Span;
            var yv = y.Span;
            for (int r = 0; r < rows; r++)
            {
                var yr = yv.Slice(r * n, n);
                var dyr = dy.Slice(r * n, n);
                var dxr = dx.Slice(r * n, n);
                float dot = TensorPrimitives.Dot(dyr, yr);
                for (int i = 0; i < n; i++)
                {
                    dxr[i] += yr[i] * (dyr[i] - dot);
                }
            }
        });
        return y;
    }
}
