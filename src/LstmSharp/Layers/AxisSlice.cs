using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// Positions [<see cref="Start"/>, <see cref="Stop"/>) of one axis (numpy / ONNX <c>Slice</c>
/// semantics: negative positions count from the end, both are clamped to the axis), e.g. the last
/// step of a sequence: <c>AxisSlice(axis: 1, start: -1, stop: int.MaxValue, keepAxis: false)</c>
/// takes <c>[batch, time, units]</c> to <c>[batch, units]</c> whatever the number of steps.
/// </summary>
/// <remarks>The axis counts the batch as axis 0, which cannot be sliced. The gradient scatters back into the slice. Drops any mask.</remarks>
public sealed class AxisSlice : Layer
{
    /// <param name="axis">The sliced axis, batch included (1 = time of <c>[batch, time, features]</c>); at least 1.</param>
    /// <param name="start">First position (negative: from the end).</param>
    /// <param name="stop">One past the last position (negative: from the end; clamped to the axis).</param>
    /// <param name="keepAxis">False removes the axis; the slice must then hold exactly one position.</param>
    /// <param name="name">Layer name; null = automatic.</param>
    public AxisSlice(int axis, int start, int stop, bool keepAxis = true, string? name = null)
        : base(name)
    {
        if (axis < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(axis), $"{Describe()}: axis counts the batch as 0 and must be at least 1, got {axis}.");
        }

        Axis = axis;
        Start = start;
        Stop = stop;
        KeepAxis = keepAxis;
    }

    public int Axis { get; }

    public int Start { get; }

    public int Stop { get; }

    public bool KeepAxis { get; }

    public static AxisSlice FromConfig(JsonObject c) =>
        new AxisSlice(c.GetInt("axis"), c.GetInt("start"), c.GetInt("stop"), c.GetBool("keep_axis", true), c.GetBase().Name).WithBase(c);

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["axis"] = Axis;
        c["start"] = Start;
        c["stop"] = Stop;
        c["keep_axis"] = KeepAxis;
        return c;
    }

    public override int[] ComputeOutputShape(int[] inputShape)
    {
        if (Axis > inputShape.Length)
        {
            throw ShapeError($"input with an axis {Axis}", [-1, .. inputShape]);
        }

        var output = inputShape.ToList();
        int n = inputShape[Axis - 1];
        int size = n < 0 ? -1 : Range(n).Count;
        if (KeepAxis)
        {
            output[Axis - 1] = size;
        }
        else
        {
            if (size >= 0 && size != 1)
            {
                throw ShapeError($"axis {Axis} whose slice [{Start}, {Stop}) holds one position", [-1, .. inputShape]);
            }

            output.RemoveAt(Axis - 1);
        }

        return output.ToArray();
    }

    protected override Tensor Call(Tensor input, Tensor? mask, bool training)
    {
        if (Axis >= input.Rank)
        {
            throw ShapeError($"input with an axis {Axis}", input.Shape);
        }

        int n = input.Dim(Axis);
        var (first, count) = Range(n);
        if (count == 0 || (!KeepAxis && count != 1))
        {
            throw new ArgumentException($"{Describe()}: slice [{Start}, {Stop}) of axis {Axis} holds {count} of its {n} positions in input {Tensor.FormatShape(input.Shape)}; expected {(KeepAxis ? "at least one" : "exactly one")}.");
        }

        if (first == 0 && count == n && KeepAxis)
        {
            return input;
        }

        var part = Ops.Split(input, [first, count, n - first - count], Axis)[1];
        if (KeepAxis)
        {
            return part;
        }

        var shape = part.ShapeArray.ToList();
        shape.RemoveAt(Axis);
        return Ops.Reshape(part, shape.ToArray());
    }

    private (int First, int Count) Range(int n)
    {
        long s = Start < 0 ? (long)Start + n : Start;
        long e = Stop < 0 ? (long)Stop + n : Stop;
        s = Math.Clamp(s, 0, n);
        e = Math.Clamp(e, 0, n);
        return ((int)s, (int)Math.Max(0, e - s));
    }
}
