using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The LSTM sequence kernel: forward over a whole batch of sequences and its exact backward
/// (BPTT), for every <see cref="LstmVariant"/>, a projection, a token lookup and int8/bf16
/// weights. Equations: <see cref="LstmCell"/>. Batch-1 inference goes to
/// <see cref="LstmLatencyPath"/> (it splits the units over threads); every other run to the
/// shared time-loop driver through <see cref="LstmSequenceKernel"/>, the LSTM's steps on it.
/// </summary>
/// <remarks>
/// An instance holds scratch for one call at a time (not thread-safe): a layer owns one per
/// direction. The buffers a backward needs live in an <see cref="LstmCache"/> the caller passes to
/// a training forward; an inference forward (cache = null) keeps no activations.
/// </remarks>
internal sealed partial class LstmKernel : RecurrentKernel
{
    private LstmLatencyPath? latencyPath;
    private LstmSequenceKernel? driver;

    /// <summary>Batch-1 inference through <see cref="LstmLatencyPath"/> (on unless LSTMSHARP_LATENCY_PATH=0; tests set it).</summary>
    internal bool UseLatencyPath { get; set; } = LstmLatencyPath.Enabled;

    /// <summary>The SIMD width of the batch-1 path's and the int8/bf16 products (tests pin <see cref="LaneWidth.Scalar"/>); the batch-1 path reads it when first used.</summary>
    internal LaneWidth Width { get; set; } = LaneWidth.Auto;

    public LstmKernel(LstmLayout layout, string name = "lstm")
        : base("LSTM", name, NotNull(layout).InputSize, layout.Units, layout.OutputSize, layout.GateWidth, cellState: true)
    {
        Layout = layout;
    }

    public LstmLayout Layout { get; }

    private protected override object LayoutKey => Layout;

    private protected override int BiasLength => Layout.BiasLength;

    /// <summary>
    /// Runs the LSTM over <paramref name="run"/>. <paramref name="h0"/> [batch, H],
    /// <paramref name="c0"/> [batch, units] are the initial states (empty = zeros). With a
    /// <paramref name="cache"/> (training) it saves what <see cref="Backward"/> needs; with null
    /// (inference) it keeps nothing.
    /// </summary>
    public void Forward(in SequenceRun run, in LstmWeights weights, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, in RnnOutputs outputs, LstmCache? cache)
    {
        var layout = Layout;
        if (UseLatencyPath && weights.QuantizedRecurrentKernel is null && LstmLatencyPath.Supports(layout, run, cache is not null))
        {
            string owner = OwnerForward;
            CheckRun(owner, run, h0, c0, outputs);
            CheckKernels(owner, weights);
            weights.ValidateCell(owner, layout);
            (latencyPath ??= new LstmLatencyPath(layout, Width)).Forward(run, weights, h0, c0, outputs);
            return;
        }

        Driver.Forward(run, weights, h0, c0, outputs, cache);
    }

    /// <summary>
    /// Backpropagates <paramref name="dOut"/> through the forward saved in <paramref name="cache"/>
    /// (called with the same <paramref name="run"/> and <paramref name="weights"/>), accumulating
    /// the parameter gradients and writing dx (or the token table's gradient), dh_0, dc_0. Consumes the cache.
    /// </summary>
    public void Backward(in SequenceRun run, in LstmWeights weights, LstmCache cache, in RnnOutputGradients dOut, in LstmGradients grads) =>
        Driver.Backward(run, weights, cache, dOut, grads);

    /// <summary>The driver kernel, made on first use, with this kernel's <see cref="Width"/>.</summary>
    private LstmSequenceKernel Driver
    {
        get
        {
            driver ??= new LstmSequenceKernel(Layout, Name);
            driver.Width = Width;
            return driver;
        }
    }

    private static LstmLayout NotNull(LstmLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        return layout;
    }
}
