using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// The shared part of <see cref="GlobalMaxPooling1D"/> and <see cref="GlobalAveragePooling1D"/>:
/// <c>[batch, steps, channels]</c> → <c>[batch, channels]</c> (or <c>[batch, 1, channels]</c>
/// with <see cref="KeepDims"/>). No mask leaves the layer (the time axis is gone).
/// </summary>
public abstract class GlobalPooling1D : Layer
{
    private protected GlobalPooling1D(bool keepDims, string? name, int[]? inputShape)
        : base(name, inputShape)
    {
        KeepDims = keepDims;
    }

    /// <summary>Keeps the reduced time axis with length 1 (Keras <c>keepdims</c>).</summary>
    public bool KeepDims { get; }

    internal static Layer FromConfig(JsonObject c, bool max)
    {
        var b = c.GetBase();
        c.RequireChannelsLast(max ? "GlobalMaxPooling1D" : "GlobalAveragePooling1D", b.Name);

        bool keep = c.GetBool("keepdims", false);
        Layer layer = max ? new GlobalMaxPooling1D(keep, b.Name, b.InputShape) : new GlobalAveragePooling1D(keep, b.Name, b.InputShape);
        return layer.WithBase(c);
    }

    public override int[] ComputeOutputShape(int[] inputShape)
    {
        ExpectStepsAndChannels(inputShape);
        return KeepDims ? [1, inputShape[1]] : [inputShape[1]];
    }

    public override Tensor? ComputeMask(Tensor input, Tensor? mask) => null;

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["data_format"] = "channels_last";
        c["keepdims"] = KeepDims;
        return c;
    }

    protected override void OnBuild(int[] inputShape) => ExpectStepsAndChannels(inputShape);

    protected override Tensor Call(Tensor input, Tensor? mask, bool training)
    {
        if (input.Rank != 3 || input.Dim(1) == 0)
        {
            throw ShapeError("[*, steps > 0, channels] (rank 3)", input.Shape);
        }

        var y = Pool(input, CheckStepMask(mask, input.Dim(0), input.Dim(1)));
        return KeepDims ? Ops.Reshape(y, input.Dim(0), 1, input.Dim(2)) : y;
    }

    private protected abstract Tensor Pool(Tensor input, Tensor? mask);
}

/// <summary>Keras <c>GlobalMaxPooling1D</c>: the maximum over all steps, per channel. Like Keras, it ignores a mask.</summary>
public sealed class GlobalMaxPooling1D : GlobalPooling1D
{
    /// <param name="keepDims">Keep the time axis with length 1.</param>
    /// <param name="name">Layer name; null = automatic ("global_max_pooling1d", ...).</param>
    /// <param name="inputShape">Per-sample input shape <c>[steps, channels]</c>.</param>
    public GlobalMaxPooling1D(bool keepDims = false, string? name = null, int[]? inputShape = null)
        : base(keepDims, name, inputShape)
    {
    }

    private protected override Tensor Pool(Tensor input, Tensor? mask) => Ops.GlobalMaxPool1D(input);
}

/// <summary>
/// Keras <c>GlobalAveragePooling1D</c>: the mean over the steps, per channel; with a mask
/// (e.g. from <c>Embedding(maskZero: true)</c>) only the steps with mask 1 count, so padding
/// does not dilute the average. A sequence masked entirely gives zeros.
/// </summary>
public sealed class GlobalAveragePooling1D : GlobalPooling1D
{
    /// <param name="keepDims">Keep the time axis with length 1.</param>
    /// <param name="name">Layer name; null = automatic ("global_average_pooling1d", ...).</param>
    /// <param name="inputShape">Per-sample input shape <c>[steps, channels]</c>.</param>
    public GlobalAveragePooling1D(bool keepDims = false, string? name = null, int[]? inputShape = null)
        : base(keepDims, name, inputShape)
    {
        SupportsMasking = true;
    }

    private protected override Tensor Pool(Tensor input, Tensor? mask) => Ops.GlobalAveragePool1D(input, mask);
}
