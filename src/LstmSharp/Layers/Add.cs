using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// Sums inputs of one shape elementwise (Keras <c>Add</c>), e.g. a residual connection.
/// The output mask is the AND of the inputs' masks (those that have one), as Keras merges them.
/// </summary>
public sealed class Add : Layer
{
    public Add(string? name = null)
        : base(name) => SupportsMasking = true;

    public static Add FromConfig(JsonObject c) => new Add(c.GetBase().Name).WithBase(c);

    public override int[] ComputeOutputShape(int[] inputShape) => ComputeOutputShapes([inputShape])[0];

    public override IReadOnlyList<int[]> ComputeOutputShapes(IReadOnlyList<int[]> inputShapes)
    {
        var output = (int[])inputShapes[0].Clone();
        foreach (var s in inputShapes)
        {
            bool ok = s.Length == output.Length;
            for (int d = 0; ok && d < s.Length; d++)
            {
                ok = s[d] < 0 || output[d] < 0 || s[d] == output[d];
                if (ok && output[d] < 0)
                {
                    output[d] = s[d];
                }
            }

            if (!ok)
            {
                throw ShapeError(WithBatch(inputShapes[0]), [-1, .. s], "every input as");
            }
        }

        return [output];
    }

    public override IReadOnlyList<Tensor?> ComputeMasks(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks)
    {
        var present = masks.Where(m => m is not null).Select(m => m!).ToArray();
        if (present.Length == 0)
        {
            return [null];
        }

        var result = present[0].Clone();
        foreach (var m in present.Skip(1))
        {
            if (!m.SameShape(result))
            {
                throw ShapeError(Tensor.FormatShape(result.Shape), m.Shape, "every mask as");
            }

            System.Numerics.Tensors.TensorPrimitives.Multiply(result.Span, m.Span, result.Span);
        }

        return [result];
    }

    protected override void OnBuild(IReadOnlyList<int[]> inputShapes) => ComputeOutputShapes(inputShapes);

    protected override IReadOnlyList<Tensor> Call(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks, bool training)
    {
        var sum = inputs[0];
        for (int i = 1; i < inputs.Count; i++)
        {
            if (!inputs[i].SameShape(inputs[0]))
            {
                throw ShapeError(Tensor.FormatShape(inputs[0].Shape), inputs[i].Shape, $"input {i} as");
            }

            sum = Ops.Add(sum, inputs[i]);
        }

        // One input: a copy, so the output is never the caller's tensor.
        return [inputs.Count == 1 ? Ops.Scale(sum, 1f) : sum];
    }
}
