using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Tensors;

namespace LstmSharp.Recurrent;

/// <summary>
/// Reverses the time axis of <c>[batch, time, features]</c>: y[:, t] = x[:, T−1−t]. Puts the
/// output sequence of a layer with <c>goBackwards</c> (processing order) back in input order, as
/// ONNX's <c>direction=reverse</c> and <see cref="Bidirectional"/> do. The mask is reversed too.
/// </summary>
public sealed class ReverseTime : Layer
{
    public ReverseTime(string? name = null)
        : base(name)
    {
    }

    public static ReverseTime FromConfig(JsonObject c) => new ReverseTime(c.GetBase().Name).WithBase(c);

    public override int[] ComputeOutputShape(int[] inputShape) => inputShape.Length == 2
        ? (int[])inputShape.Clone()
        : throw ShapeError("input [batch, time, features]", [-1, .. inputShape]);

    public override IReadOnlyList<Tensor?> ComputeMasks(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks)
    {
        if (masks.Count == 0 || masks[0] is not { } m)
        {
            return [null];
        }

        int batch = m.Dim(0), time = m.Dim(1);
        var r = new Tensor(batch, time);
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < time; t++)
            {
                r[b, t] = m[b, time - 1 - t];
            }
        }

        return [r];
    }

    protected override Tensor Call(Tensor input, Tensor? mask, bool training)
    {
        if (input.Rank != 3)
        {
            throw ShapeError("input [batch, time, features]", input.Shape);
        }

        return Bidirectional.ReverseTime(input);
    }
}
