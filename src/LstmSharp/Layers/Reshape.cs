using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>Reshapes each sample to <see cref="TargetShape"/> (batch excluded; one entry may be -1, inferred), as a view.</summary>
public sealed class Reshape : Layer
{
    private readonly int[] targetShape;

    public Reshape(int[] targetShape, string? name = null, int[]? inputShape = null)
        : base(name, inputShape)
    {
        ArgumentNullException.ThrowIfNull(targetShape);
        if (targetShape.Any(d => d == 0 || d < -1) || targetShape.Count(d => d == -1) > 1)
        {
            throw new ArgumentException($"{Describe()}: targetShape must hold positive sizes and at most one -1, got {Tensor.FormatShape(targetShape)}.", nameof(targetShape));
        }

        this.targetShape = (int[])targetShape.Clone();
    }

    public int[] TargetShape => (int[])targetShape.Clone();

    public static Reshape FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        return new Reshape(c.GetShapeOrNull("target_shape") ?? throw new ArgumentException("Reshape: config lacks 'target_shape'."), b.Name, b.InputShape).WithBase(c);
    }

    public override int[] ComputeOutputShape(int[] inputShape)
    {
        var output = (int[])targetShape.Clone();
        int infer = Array.IndexOf(output, -1);
        if (infer >= 0 && inputShape.All(d => d > 0))
        {
            int total = inputShape.Aggregate(1, (a, d) => a * d);
            int known = output.Where(d => d > 0).Aggregate(1, (a, d) => a * d);
            if (total % known != 0)
            {
                throw ShapeError($"input whose size is a multiple of {known} (target {WithBatch(targetShape)})", [-1, .. inputShape]);
            }

            output[infer] = total / known;
        }

        return output;
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["target_shape"] = LayerConfig.ShapeToJson(targetShape);
        return c;
    }

    protected override Tensor Call(Tensor input, Tensor? mask, bool training)
    {
        int perSample = input.Dim(0) == 0 ? 0 : input.Length / input.Dim(0);
        int known = targetShape.Where(d => d > 0).Aggregate(1, (a, d) => a * d);
        bool fits = targetShape.Contains(-1) ? perSample % known == 0 : perSample == known;
        if (!fits)
        {
            throw new ArgumentException($"{Describe()}: cannot reshape input {Tensor.FormatShape(input.Shape)} ({perSample} values per sample) to {WithBatch(targetShape)}.");
        }

        return Ops.Reshape(input, [input.Dim(0), .. targetShape]);
    }
}
