using System.Globalization;
using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// Marks right padding from per-example lengths given at run time (ONNX's <c>sequence_lens</c>):
/// inputs <c>x [batch, time, ...]</c> and <c>lengths [batch]</c> (whole numbers in
/// <c>0..time</c>); output x unchanged, with the mask <c>[batch, time]</c> = 1 where
/// <c>t &lt; lengths[b]</c> for the layers downstream (a recurrent layer then stops at each row's
/// length). The ONNX importer puts it before a recurrent node whose <c>sequence_lens</c> is a
/// graph input, so the model takes the lengths as a second input.
/// </summary>
public sealed class SequenceLengthMask : Layer
{
    public SequenceLengthMask(string? name = null)
        : base(name) => SupportsMasking = true;

    public static SequenceLengthMask FromConfig(JsonObject c) => new SequenceLengthMask(c.GetBase().Name).WithBase(c);

    public override int[] ComputeOutputShape(int[] inputShape) => inputShape;

    public override IReadOnlyList<int[]> ComputeOutputShapes(IReadOnlyList<int[]> inputShapes)
    {
        if (inputShapes.Count != 2 || inputShapes[0].Length < 1 || inputShapes[1].Length != 0)
        {
            throw new ArgumentException($"{Describe()}: expected inputs [x [batch, time, ...], lengths [batch]], got {string.Join(", ", inputShapes.Select(s => WithBatch(s)))}.");
        }

        return [inputShapes[0]];
    }

    /// <summary>1 where t &lt; lengths[b], else 0: <c>[batch, time]</c>.</summary>
    public override IReadOnlyList<Tensor?> ComputeMasks(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks)
    {
        var (x, lengths) = (inputs[0], inputs[1]);
        int batch = x.Dim(0), time = x.Dim(1);
        if (lengths.Rank != 1 || lengths.Dim(0) != batch)
        {
            throw new ArgumentException($"{Describe()}: lengths must be [batch] = [{batch}], got {Tensor.FormatShape(lengths.Shape)}.");
        }

        var mask = new Tensor(batch, time);
        var m = mask.Span;
        var ls = lengths.Span;
        for (int b = 0; b < batch; b++)
        {
            float len = ls[b];
            if (!(len >= 0 && len <= time && len == MathF.Floor(len)))
            {
                throw new ArgumentException($"{Describe()}: lengths[{b}] must be a whole number in 0..{time} (the time steps of x), got {len.ToString("R", CultureInfo.InvariantCulture)}.");
            }

            m.Slice(b * time, (int)len).Fill(1f);
        }

        return [mask];
    }

    protected override void OnBuild(IReadOnlyList<int[]> inputShapes) => ComputeOutputShapes(inputShapes);

    protected override IReadOnlyList<Tensor> Call(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks, bool training)
    {
        ExpectInputCount(inputs.Count, 2);
        if (inputs[0].Rank < 2)
        {
            throw ShapeError("x [batch, time, ...]", inputs[0].Shape);
        }

        // A copy on the tape, so the output is never the caller's tensor.
        return [Ops.Scale(inputs[0], 1f)];
    }
}
