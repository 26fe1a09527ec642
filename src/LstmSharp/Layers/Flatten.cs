using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>Flattens all axes but the batch: <c>[batch, d1, d2, ...] → [batch, d1·d2·...]</c> (a view). Drops any mask, as Keras.</summary>
public sealed class Flatten : Layer
{
    public Flatten(string? name = null, int[]? inputShape = null)
        : base(name, inputShape)
    {
    }

    public static Flatten FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        return new Flatten(b.Name, b.InputShape).WithBase(c);
    }

    public override int[] ComputeOutputShape(int[] inputShape) =>
        [inputShape.Any(d => d < 0) ? -1 : inputShape.Aggregate(1, (a, d) => a * d)];

    protected override Tensor Call(Tensor input, Tensor? mask, bool training) => Ops.Reshape(input, input.Dim(0), -1);
}
