using LstmSharp.Kernels;
using LstmSharp.Tensors;

namespace LstmSharp.Autograd;

public static partial class Ops
{
    /// <summary>Names <see cref="Activation(Tensor, string?)"/> accepts: the <see cref="ActivationKind"/> names, "softmax" and "log_softmax".</summary>
    public static readonly IReadOnlyList<string> SupportedActivations = ["linear", "sigmoid", "hard_sigmoid", "tanh", "relu", "elu", "softsign", "softplus", "softmax", "log_softmax"];

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

        if (string.Equals(name, "log_softmax", StringComparison.OrdinalIgnoreCase))
        {
            return LogSoftmax(x);
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
        Elementwise.Activate(kind, x.Span, y.Span);
        TrackUnary(op, y, x, (dx, dy) =>
        {
            // dx += dy ⊙ f'(y); dy itself stays intact for anyone inspecting intermediate gradients.
            var local = System.Buffers.ArrayPool<float>.Shared.Rent(y.Length);
            var scratch = local.AsSpan(0, y.Length);
            dy.CopyTo(scratch);
            Elementwise.MultiplyByDerivativeFromOutput(kind, y.Span, scratch);
            AddInto(dx, scratch);
            System.Buffers.ArrayPool<float>.Shared.Return(local);
        });
        return y;
    }

    /// <summary>
    /// y = f(x) elementwise for one of ONNX's recurrent activations with its alpha and beta
    /// (<see cref="ActivationFunction"/>); unfused, in double precision per element. The backward
    /// keeps x: dx = dy ⊙ f'(x).
    /// </summary>
    public static Tensor Activation(Tensor x, ActivationFunction f)
    {
        string op = f.Name ?? "activation";
        NotNull(x, op, nameof(x));
        var y = new Tensor(x.ShapeArray);
        var xs = x.Span;
        var ys = y.Span;
        for (int i = 0; i < xs.Length; i++)
        {
            ys[i] = (float)f.Apply(xs[i]);
        }

        TrackUnary(op, y, x, (dx, dy) =>
        {
            var xv = x.Span;
            for (int i = 0; i < dx.Length; i++)
            {
                dx[i] += (float)(dy[i] * f.Derivative(xv[i]));
            }
        });
        return y;
    }

    /// <summary>
    /// y = min(max(x, <paramref name="min"/>), <paramref name="max"/>) (ONNX's recurrent <c>clip</c>
    /// is Clip(−clip, clip) of the gate pre-activations). Backward: dy passes where
    /// min ≤ x ≤ max, 0 where x was clipped.
    /// </summary>
    public static Tensor Clip(Tensor x, float min, float max)
    {
        const string op = "clip";
        NotNull(x, op, nameof(x));
        if (!(min <= max))
        {
            throw new ArgumentException($"{Where(op)}: min must be <= max, got min={min}, max={max}.", nameof(min));
        }

        var y = new Tensor(x.ShapeArray);
        var xs = x.Span;
        var ys = y.Span;
        for (int i = 0; i < xs.Length; i++)
        {
            float v = xs[i];
            ys[i] = v > max ? max : v < min ? min : v;
        }

        TrackUnary(op, y, x, (dx, dy) =>
        {
            var xv = x.Span;
            for (int i = 0; i < dx.Length; i++)
            {
                if (xv[i] >= min && xv[i] <= max)
                {
                    dx[i] += dy[i];
                }
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
        var (y, rows, n) = LastAxisRows(x, op);
        Rows.Softmax(x.Span, rows, n, y.Span);
        TrackUnary(op, y, x, (dx, dy) =>
        {
            // A pooled temporary: at attention's sizes a new one per call lands on the large-object heap.
            var local = System.Buffers.ArrayPool<float>.Shared.Rent(x.Length);
            var scratch = local.AsSpan(0, x.Length);
            Rows.SoftmaxBackward(y.Span, dy, rows, n, scratch);
            AddInto(dx, scratch);
            System.Buffers.ArrayPool<float>.Shared.Return(local);
        });
        return y;
    }

    /// <summary>
    /// Log-softmax over the last axis (PyTorch's <c>log_softmax</c>, ONNX <c>LogSoftmax</c>):
    /// y_i = x_i − max x − log Σ_j e^(x_j − max x). Backward per row: dx = dy − e^y · Σ dy.
    /// </summary>
    public static Tensor LogSoftmax(Tensor x)
    {
        const string op = "log_softmax";
        var (y, rows, n) = LastAxisRows(x, op);
        Rows.LogSoftmax(x.Span, rows, n, y.Span);
        TrackUnary(op, y, x, (dx, dy) =>
        {
            var local = new float[x.Length];
            Rows.LogSoftmaxBackward(y.Span, dy, rows, n, local);
            AddInto(dx, local);
        });
        return y;
    }

    /// <summary>Checks x for an op over its last axis; returns its output (x's shape) and x as rows × n.</summary>
    private static (Tensor Y, int Rows, int N) LastAxisRows(Tensor x, string op)
    {
        NotNull(x, op, nameof(x));
        if (x.Rank == 0)
        {
            throw ShapeError(op, "a tensor of rank >= 1", x.Shape);
        }

        int n = x.Dim(-1);
        return (new Tensor(x.ShapeArray), n == 0 ? 0 : x.Length / n, n);
    }
}
