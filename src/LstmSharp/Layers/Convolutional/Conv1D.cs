using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Kernels;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Layers;

/// <summary>
/// 1-D convolution over time, as Keras's <c>Conv1D</c> (<c>channels_last</c>):
/// <code>y[b, t, f] = activation(bias[f] + Σ_k Σ_c x[b, t·strides + k·dilation_rate − padLeft, c] · kernel[k, c, f])</code>
/// Input <c>[batch, steps, channels]</c> → output <c>[batch, outSteps, filters]</c>, where
/// outSteps is ⌊(steps − span)/strides⌋ + 1 for "valid" (span = dilation_rate·(kernel_size − 1) + 1),
/// ⌈steps/strides⌉ for "same" (zeros split around the sequence, the smaller half first) and
/// "causal" (span − 1 zeros before it, so output t never sees a later input).
/// Weights: <c>kernel [kernel_size, channels, filters]</c>, <c>bias [filters]</c> (Keras names and layout).
/// Computed as im2col + SGEMM (<see cref="Ops.Conv1D"/>). Masks do not pass (the steps change), as in Keras.
/// </summary>
public sealed class Conv1D : KernelBiasLayer
{
    /// <param name="filters">Output channels; a positive integer.</param>
    /// <param name="kernelSize">Taps of the filter; a positive integer.</param>
    /// <param name="strides">Steps between consecutive outputs; a positive integer.</param>
    /// <param name="padding">"valid", "same" or "causal".</param>
    /// <param name="dilationRate">Steps between consecutive taps; a positive integer (strides must be 1 when it is above 1, as in Keras).</param>
    /// <param name="activation">Keras activation name; null = linear.</param>
    /// <param name="useBias">Adds the bias vector.</param>
    /// <param name="kernelInitializer">Keras initializer for the kernel (default "glorot_uniform", fans from kernel_size·channels and kernel_size·filters).</param>
    /// <param name="biasInitializer">Keras initializer for the bias (default "zeros").</param>
    /// <param name="kernelRegularizer">Penalty on the kernel.</param>
    /// <param name="biasRegularizer">Penalty on the bias.</param>
    /// <param name="activityRegularizer">Penalty on the output, divided by the batch size.</param>
    /// <param name="kernelConstraint">Projection of the kernel after each optimizer step.</param>
    /// <param name="biasConstraint">Projection of the bias after each optimizer step.</param>
    /// <param name="name">Layer name; null = automatic ("conv1d", "conv1d_1", ...).</param>
    /// <param name="inputShape">Per-sample input shape <c>[steps, channels]</c> (steps may be -1).</param>
    public Conv1D(
        int filters,
        int kernelSize,
        int strides = 1,
        string padding = "valid",
        int dilationRate = 1,
        string? activation = null,
        bool useBias = true,
        string kernelInitializer = "glorot_uniform",
        string biasInitializer = "zeros",
        IRegularizer? kernelRegularizer = null,
        IRegularizer? biasRegularizer = null,
        IRegularizer? activityRegularizer = null,
        IConstraint? kernelConstraint = null,
        IConstraint? biasConstraint = null,
        string? name = null,
        int[]? inputShape = null)
        : this(filters, kernelSize, strides, padding, dilationRate, new KernelBiasOptions(activation, useBias, new(kernelInitializer, kernelRegularizer, kernelConstraint), new(biasInitializer, biasRegularizer, biasConstraint), activityRegularizer), name, inputShape)
    {
    }

    private Conv1D(int filters, int kernelSize, int strides, string padding, int dilationRate, KernelBiasOptions options, string? name, int[]? inputShape)
        : base(name, inputShape)
    {
        Filters = LayerChecks.Positive(filters, Describe(), nameof(filters));
        KernelSize = LayerChecks.Positive(kernelSize, Describe(), nameof(kernelSize));
        Strides = LayerChecks.Positive(strides, Describe(), nameof(strides));
        DilationRate = LayerChecks.Positive(dilationRate, Describe(), nameof(dilationRate));
        if (strides > 1 && dilationRate > 1)
        {
            throw new ArgumentException($"{Describe()}: strides > 1 and dilationRate > 1 cannot be combined (as in Keras), got strides {strides}, dilationRate {dilationRate}.", nameof(dilationRate));
        }

        if (padding is not ("valid" or "same" or "causal"))
        {
            throw new ArgumentException($"{Describe()}: padding must be 'valid', 'same' or 'causal', got '{padding}'.", nameof(padding));
        }

        Padding = padding;
        SetKernelBiasOptions(options);
    }

    public int Filters { get; }

    public int KernelSize { get; }

    public int Strides { get; }

    public string Padding { get; }

    public int DilationRate { get; }

    public static Conv1D FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        c.RequireChannelsLast("Conv1D", b.Name);

        if (c["groups"] is { } groups && groups.GetValue<int>() != 1)
        {
            throw new ArgumentException($"Conv1D '{b.Name}': groups must be 1, got {groups.GetValue<int>()}.");
        }

        return new Conv1D(
            c.GetIntOrTuple("filters"),
            c.GetIntOrTuple("kernel_size"),
            c["strides"] is null ? 1 : c.GetIntOrTuple("strides"),
            c.GetStringOrNull("padding") ?? "valid",
            c["dilation_rate"] is null ? 1 : c.GetIntOrTuple("dilation_rate"),
            KernelBiasOptions.Read(c),
            b.Name,
            b.InputShape).WithBase(c);
    }

    public override int[] ComputeOutputShape(int[] inputShape)
    {
        ExpectStepsAndChannels(inputShape);
        return [OutSteps(inputShape[0]), Filters];
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["filters"] = Filters;
        c["kernel_size"] = new JsonArray(KernelSize);
        c["strides"] = new JsonArray(Strides);
        c["padding"] = Padding;
        c["data_format"] = "channels_last";
        c["dilation_rate"] = new JsonArray(DilationRate);
        c["groups"] = 1;
        WriteKernelBiasConfig(c);
        return c;
    }

    protected override void OnBuild(int[] inputShape)
    {
        ExpectStepsAndChannels(inputShape);
        if (inputShape[1] <= 0)
        {
            throw ShapeError("[*, steps, channels] with a known channel count", [-1, .. inputShape]);
        }

        OutSteps(inputShape[0]);
        AddKernelAndBias([KernelSize, inputShape[1], Filters], Filters);
    }

    protected override Tensor Call(Tensor input, Tensor? mask, bool training)
    {
        int channels = Kernel!.Value.Dim(1);
        if (input.Rank != 3 || input.Dim(2) != channels)
        {
            throw ShapeError($"[*, steps, {channels}] (rank 3)", input.Shape);
        }

        OutSteps(input.Dim(1));
        var y = Ops.Conv1D(input, Kernel.Value, Bias?.Value, Strides, Padding, DilationRate);
        return Ops.Activation(y, Activation);
    }

    /// <summary>Output steps for <paramref name="steps"/> input steps (-1 stays unknown), or a layer-named error when "valid" leaves none.</summary>
    private int OutSteps(int steps)
    {
        if (steps < 0)
        {
            return -1;
        }

        int span = (DilationRate * (KernelSize - 1)) + 1;
        return Conv1DGeometry.For(Padding, steps, KernelSize, Strides, DilationRate)?.OutSteps
            ?? throw new ArgumentException($"{Describe()}: kernel_size {KernelSize}{(DilationRate > 1 ? $" with dilation_rate {DilationRate} (span {span})" : string.Empty)} is longer than the input's steps with padding 'valid'; expected at least {span} steps, got {steps}.");
    }
}
