using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// Repeats a vector <see cref="N"/> times along a new time axis (Keras <c>RepeatVector</c>):
/// <c>[batch, features] → [batch, n, features]</c>, e.g. to feed an encoder's summary to every
/// decoder step. The gradient sums over the copies.
/// </summary>
public sealed class RepeatVector : Layer
{
    public RepeatVector(int n, string? name = null, int[]? inputShape = null)
        : base(name, inputShape) => N = LayerChecks.Positive(n, Describe(), nameof(n));

    public int N { get; }

    public static RepeatVector FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        return new RepeatVector(c.GetInt("n"), b.Name, b.InputShape).WithBase(c);
    }

    public override int[] ComputeOutputShape(int[] inputShape)
    {
        if (inputShape.Length != 1)
        {
            throw ShapeError("input [batch, features]", [-1, .. inputShape]);
        }

        return [N, inputShape[0]];
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["n"] = N;
        return c;
    }

    protected override void OnBuild(int[] inputShape) => ComputeOutputShape(inputShape);

    protected override Tensor Call(Tensor input, Tensor? mask, bool training)
    {
        if (input.Rank != 2)
        {
            throw ShapeError("input [batch, features]", input.Shape);
        }

        int batch = input.Dim(0), features = input.Dim(1), n = N;
        var y = new Tensor(batch, n, features);
        for (int b = 0; b < batch; b++)
        {
            var row = input.Span.Slice(b * features, features);
            for (int t = 0; t < n; t++)
            {
                row.CopyTo(y.Span.Slice(((b * n) + t) * features, features));
            }
        }

        Tape.Track("repeat_vector", y, input, () =>
        {
            if (!input.RequiresGrad)
            {
                return;
            }

            var dx = input.EnsureGrad().Span;
            var dy = y.Grad!.Span;
            for (int b = 0; b < batch; b++)
            {
                var row = dx.Slice(b * features, features);
                for (int t = 0; t < n; t++)
                {
                    System.Numerics.Tensors.TensorPrimitives.Add(row, dy.Slice(((b * n) + t) * features, features), row);
                }
            }
        });
        return y;
    }
}
