using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Kernels;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// The shared part of <see cref="MaxPooling1D"/> and <see cref="AveragePooling1D"/>: windows of
/// <see cref="PoolSize"/> steps every <see cref="Strides"/> steps over <c>[batch, steps, channels]</c>,
/// padding "valid" (⌊(steps − pool_size)/strides⌋ + 1 outputs) or "same" (⌈steps/strides⌉
/// outputs; padded positions are ignored, never counted). Masks do not pass, as in Keras.
/// </summary>
public abstract class Pooling1D : Layer
{
    private protected Pooling1D(int poolSize, int? strides, string padding, string? name, int[]? inputShape)
        : base(name, inputShape)
    {
        PoolSize = LayerChecks.Positive(poolSize, Describe(), nameof(poolSize));
        if (strides is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(strides), $"{Describe()}: strides must be a positive integer (or null = poolSize), got {strides}.");
        }

        if (padding is not ("valid" or "same"))
        {
            throw new ArgumentException($"{Describe()}: padding must be 'valid' or 'same', got '{padding}'.", nameof(padding));
        }

        Strides = strides ?? poolSize;
        Padding = padding;
    }

    public int PoolSize { get; }

    /// <summary>Steps between windows (Keras's default: the pool size).</summary>
    public int Strides { get; }

    public string Padding { get; }

    internal static Layer FromConfig(JsonObject c, bool max)
    {
        var b = c.GetBase();
        c.RequireChannelsLast(max ? "MaxPooling1D" : "AveragePooling1D", b.Name);

        int pool = c["pool_size"] is null ? 2 : c.GetIntOrTuple("pool_size");
        int? strides = c["strides"] is null ? null : c.GetIntOrTuple("strides");
        string padding = c.GetStringOrNull("padding") ?? "valid";
        Layer layer = max ? new MaxPooling1D(pool, strides, padding, b.Name, b.InputShape) : new AveragePooling1D(pool, strides, padding, b.Name, b.InputShape);
        return layer.WithBase(c);
    }

    public override int[] ComputeOutputShape(int[] inputShape)
    {
        ExpectStepsAndChannels(inputShape);
        return [OutSteps(inputShape[0]), inputShape[1]];
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["pool_size"] = new JsonArray(PoolSize);
        c["strides"] = new JsonArray(Strides);
        c["padding"] = Padding;
        c["data_format"] = "channels_last";
        return c;
    }

    protected override void OnBuild(int[] inputShape)
    {
        ExpectStepsAndChannels(inputShape);
        OutSteps(inputShape[0]);
    }

    protected override Tensor Call(Tensor input, Tensor? mask, bool training)
    {
        if (input.Rank != 3)
        {
            throw ShapeError("[*, steps, channels] (rank 3)", input.Shape);
        }

        OutSteps(input.Dim(1));
        return Pool(input);
    }

    private protected abstract Tensor Pool(Tensor input);

    private int OutSteps(int steps)
    {
        if (steps < 0)
        {
            return -1;
        }

        return Conv1DGeometry.For(Padding, steps, PoolSize, Strides, 1)?.OutSteps
            ?? throw new ArgumentException($"{Describe()}: pool_size {PoolSize} is longer than the input's steps with padding 'valid'; expected at least {PoolSize} steps, got {steps}.");
    }
}

/// <summary>Keras <c>MaxPooling1D</c>: the maximum of each window, per channel (<see cref="Ops.MaxPool1D"/>).</summary>
public sealed class MaxPooling1D : Pooling1D
{
    /// <param name="poolSize">Steps per window (Keras default 2).</param>
    /// <param name="strides">Steps between windows; null = <paramref name="poolSize"/>.</param>
    /// <param name="padding">"valid" or "same".</param>
    /// <param name="name">Layer name; null = automatic ("max_pooling1d", ...).</param>
    /// <param name="inputShape">Per-sample input shape <c>[steps, channels]</c>.</param>
    public MaxPooling1D(int poolSize = 2, int? strides = null, string padding = "valid", string? name = null, int[]? inputShape = null)
        : base(poolSize, strides, padding, name, inputShape)
    {
    }

    private protected override Tensor Pool(Tensor input) => Ops.MaxPool1D(input, PoolSize, Strides, Padding);
}

/// <summary>Keras <c>AveragePooling1D</c>: the mean of each window's positions inside the sequence (<see cref="Ops.AveragePool1D"/>).</summary>
public sealed class AveragePooling1D : Pooling1D
{
    /// <param name="poolSize">Steps per window (Keras default 2).</param>
    /// <param name="strides">Steps between windows; null = <paramref name="poolSize"/>.</param>
    /// <param name="padding">"valid" or "same".</param>
    /// <param name="name">Layer name; null = automatic ("average_pooling1d", ...).</param>
    /// <param name="inputShape">Per-sample input shape <c>[steps, channels]</c>.</param>
    public AveragePooling1D(int poolSize = 2, int? strides = null, string padding = "valid", string? name = null, int[]? inputShape = null)
        : base(poolSize, strides, padding, name, inputShape)
    {
    }

    private protected override Tensor Pool(Tensor input) => Ops.AveragePool1D(input, PoolSize, Strides, Padding);
}
