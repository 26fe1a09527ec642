using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// Joins its inputs along <see cref="Axis"/> (Keras <c>Concatenate</c>); every other axis must
/// agree. The axis counts the batch: -1 (default) is the feature axis, 1 the time axis of
/// <c>[batch, time, features]</c>; the batch axis cannot be joined.
/// </summary>
/// <remarks>
/// Masks follow Keras: each input's mask (ones when it has none) is broadcast to the input's
/// shape, the broadcasts are joined along the axis, and a position of the output mask is valid
/// when any entry of its last axis is. Joining features gives the union of the input masks;
/// joining time gives the masks one after the other.
/// </remarks>
public sealed class Concatenate : Layer
{
    public Concatenate(int axis = -1, string? name = null)
        : base(name)
    {
        Axis = axis;
        SupportsMasking = true;
    }

    /// <summary>The joined axis, counting the batch as axis 0 (negative counts from the end).</summary>
    public int Axis { get; }

    public static Concatenate FromConfig(JsonObject c) => new Concatenate(c.GetIntOrNull("axis") ?? -1, c.GetBase().Name).WithBase(c);

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["axis"] = Axis;
        return c;
    }

    public override int[] ComputeOutputShape(int[] inputShape) => ComputeOutputShapes([inputShape])[0];

    public override IReadOnlyList<int[]> ComputeOutputShapes(IReadOnlyList<int[]> inputShapes)
    {
        var first = inputShapes[0];
        int ax = SampleAxis(first.Length + 1) - 1;
        var output = (int[])first.Clone();
        output[ax] = 0;
        foreach (var s in inputShapes)
        {
            bool ok = s.Length == first.Length;
            for (int d = 0; ok && d < s.Length; d++)
            {
                ok = d == ax || s[d] < 0 || first[d] < 0 || s[d] == first[d];
            }

            if (!ok)
            {
                var expected = (int[])first.Clone();
                expected[ax] = -1;
                throw ShapeError($"{WithBatch(expected)} (equal except on axis {Axis})", [-1, .. s], "every input as");
            }

            output[ax] = output[ax] < 0 || s[ax] < 0 ? -1 : output[ax] + s[ax];
        }

        return [output];
    }

    public override IReadOnlyList<Tensor?> ComputeMasks(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks)
    {
        if (masks.All(m => m is null))
        {
            return [null];
        }

        var full = new Tensor[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            full[i] = Broadcast(inputs[i], masks[i]);
        }

        Tensor joined;
        using (Tape.NoGrad())
        {
            joined = Ops.Concatenate(full, SampleAxis(inputs[0].Rank));
        }

        int last = joined.Dim(-1);
        var result = new Tensor(joined.ShapeArray[..^1]);
        var src = joined.Span;
        var dst = result.Span;
        for (int r = 0; r < dst.Length; r++)
        {
            dst[r] = src.Slice(r * last, last).ContainsAnyExcept(0f) ? 1f : 0f;
        }

        return [result];
    }

    protected override void OnBuild(IReadOnlyList<int[]> inputShapes) => ComputeOutputShapes(inputShapes);

    protected override IReadOnlyList<Tensor> Call(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks, bool training)
    {
        var first = inputs[0];
        int ax = SampleAxis(first.Rank);
        foreach (var t in inputs)
        {
            if (t.Rank != first.Rank || t.Dim(0) != first.Dim(0) || !SameExcept(t, first, ax))
            {
                var expected = first.ShapeArray;
                expected[ax] = -1;
                throw ShapeError($"{Tensor.FormatShape(expected)} (equal except on axis {Axis})", t.Shape, "every input as");
            }
        }

        return [Ops.Concatenate(inputs, ax)];
    }

    private static bool SameExcept(Tensor a, Tensor b, int axis)
    {
        for (int d = 0; d < a.Rank; d++)
        {
            if (d != axis && a.Dim(d) != b.Dim(d))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A 0/1 tensor of the input's shape: the mask repeated over the trailing axes it lacks (ones without a mask).</summary>
    private Tensor Broadcast(Tensor input, Tensor? mask)
    {
        var full = new Tensor(input.ShapeArray);
        if (mask is null)
        {
            full.Fill(1f);
            return full;
        }

        if (mask.Rank > input.Rank || !input.Shape[..mask.Rank].SequenceEqual(mask.Shape))
        {
            throw ShapeError($"a mask matching the leading axes of input {Tensor.FormatShape(input.Shape)}", mask.Shape, "mask");
        }

        int repeat = input.Length / Math.Max(1, mask.Length);
        var m = mask.Span;
        var f = full.Span;
        for (int i = 0; i < m.Length; i++)
        {
            f.Slice(i * repeat, repeat).Fill(m[i] != 0f ? 1f : 0f);
        }

        return full;
    }

    /// <summary>The axis as an index of a tensor of rank <paramref name="rank"/> (batch included); the batch axis is refused.</summary>
    private int SampleAxis(int rank)
    {
        int a = Axis < 0 ? Axis + rank : Axis;
        if (a < 1 || a >= rank)
        {
            throw new ArgumentException($"{Describe()}: axis {Axis} is {(a == 0 ? "the batch axis" : "out of range")} for inputs of rank {rank} (batch included); expected 1..{rank - 1} or -{rank - 1}..-1.");
        }

        return a;
    }
}
