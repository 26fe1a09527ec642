using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// Applies one layer to every time step (Keras <c>TimeDistributed</c>), with the same weights at
/// each step: <c>[batch, time, ...] → [batch, time, ...out]</c>. Time is folded into the batch
/// (<c>[batch·time, ...]</c>, a view), the inner layer runs once, and the result is unfolded, so
/// a <c>TimeDistributed(Dense)</c> is one GEMM. The inner layer is a sublayer: its weights are
/// <c>time_distributed/dense/kernel</c>. The input's <c>[batch, time]</c> mask passes through
/// to the output; the inner layer sees none.
/// </summary>
public sealed class TimeDistributed : Layer
{
    public TimeDistributed(Layer layer, string? name = null, int[]? inputShape = null)
        : base(name, inputShape)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer.Stateful)
        {
            throw new ArgumentException($"{Describe()}: cannot wrap the stateful {layer}: folding time into the batch would mix the carried states.", nameof(layer));
        }

        Inner = TrackLayer(layer);
        SupportsMasking = true;
    }

    /// <summary>The layer applied at every step.</summary>
    public Layer Inner { get; }

    public static TimeDistributed FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        var inner = LayerRegistry.FromEntry(c["layer"] ?? throw new ArgumentException("TimeDistributed: config lacks 'layer'."));
        return new TimeDistributed(inner, b.Name, b.InputShape).WithBase(c);
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["layer"] = LayerRegistry.ToEntry(Inner);
        return c;
    }

    public override int[] ComputeOutputShape(int[] inputShape)
    {
        CheckShape(inputShape);
        return [inputShape[0], .. Inner.ComputeOutputShape(inputShape[1..])];
    }

    protected override void OnBuild(int[] inputShape)
    {
        CheckShape(inputShape);
        Inner.Build(inputShape[1..]);
    }

    protected override Tensor Call(Tensor input, Tensor? mask, bool training)
    {
        if (input.Rank < 3)
        {
            throw ShapeError("input [batch, time, ...] (rank >= 3)", input.Shape);
        }

        int batch = input.Dim(0), time = input.Dim(1);
        var folded = Ops.Reshape(input, [batch * time, .. input.ShapeArray[2..]]);
        var y = Inner.Apply(folded, training);
        if (y.Rank == 0 || y.Dim(0) != batch * time)
        {
            throw new InvalidOperationException($"{Describe()}: inner {Inner} returned {Tensor.FormatShape(y.Shape)} for {batch * time} folded steps; expected [{batch * time}, ...].");
        }

        return Ops.Reshape(y, [batch, time, .. y.ShapeArray[1..]]);
    }

    private void CheckShape(int[] inputShape)
    {
        if (inputShape.Length < 2)
        {
            throw ShapeError("input [batch, time, ...] (rank >= 3)", [-1, .. inputShape]);
        }
    }
}
