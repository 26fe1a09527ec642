namespace LstmSharp.Recurrent;

/// <summary>
/// What the shared time-loop driver (<see cref="SequenceKernel{TWeights, TGradients}"/>) reads
/// of a cell's parameters: W, U and b. A cell with more parameters (the gains of
/// <see cref="LayerNormLstmKernel"/>) has its own span bundle that implements this.
/// </summary>
internal interface IRnnWeights
{
    /// <summary>W [inputSize, G·units].</summary>
    ReadOnlySpan<float> Kernel { get; }

    /// <summary>U [units, G·units].</summary>
    ReadOnlySpan<float> RecurrentKernel { get; }

    /// <summary>b, shaped as the cell says; empty without bias.</summary>
    ReadOnlySpan<float> Bias { get; }
}

/// <summary>
/// What the shared driver writes or checks of a cell's gradients: dW, dU, db (accumulated) and
/// dx, dh_0, dc_0 (overwritten, optional). A cell with more parameters extends it.
/// </summary>
internal interface IRnnGradients
{
    Span<float> Kernel { get; }

    Span<float> RecurrentKernel { get; }

    Span<float> Bias { get; }

    /// <summary>dx [batch, time, inputSize]; empty to skip.</summary>
    Span<float> Input { get; }

    /// <summary>dh_0 [batch, units]; empty to skip.</summary>
    Span<float> InitialH { get; }

    /// <summary>dc_0 [batch, units] of a two-state cell; empty to skip (always empty for one state).</summary>
    Span<float> InitialC { get; }
}

/// <summary>
/// The parameters a <see cref="GruKernel"/> or <see cref="SimpleRnnKernel"/> reads (the
/// single-state cells; the LSTM's are <see cref="LstmWeights"/>). Shapes from
/// <see cref="GruLayout"/> / <see cref="SimpleRnnLayout"/>.
/// </summary>
internal readonly ref struct RnnWeights : IRnnWeights
{
    /// <summary>W [inputSize, G·units] (Keras <c>kernel</c>).</summary>
    public ReadOnlySpan<float> Kernel { get; init; }

    /// <summary>U [units, G·units] (Keras <c>recurrent_kernel</c>).</summary>
    public ReadOnlySpan<float> RecurrentKernel { get; init; }

    /// <summary>b: [G·units], or [2, 3·units] for a GRU with reset_after; empty without bias.</summary>
    public ReadOnlySpan<float> Bias { get; init; }
}

/// <summary>What a recurrent forward writes (the shared driver's and <see cref="LstmKernel"/>'s); every span is optional (empty = not wanted). H = the output size: units, or P with an LSTM projection.</summary>
internal readonly ref struct RnnOutputs
{
    /// <summary>[batch, time, H]: the output at every step, in processing order (Keras <c>return_sequences=True</c>).</summary>
    public Span<float> Sequence { get; init; }

    /// <summary>[batch, H]: the output of the last processed step (Keras <c>last_output</c>; differs from h_T only under a mask).</summary>
    public Span<float> Last { get; init; }

    /// <summary>[batch, H]: the final state h_T.</summary>
    public Span<float> H { get; init; }

    /// <summary>[batch, units]: the final cell state c_T of a two-state cell (empty for one state).</summary>
    public Span<float> C { get; init; }

    private static readonly string[] Names = ["output sequence", "last output", "final h", "final c"];

    /// <summary>Checks each given span: H = <paramref name="outputSize"/>, c of <paramref name="cellUnits"/> (0 = no c).</summary>
    internal void Validate(string owner, int batch, int time, int outputSize, int cellUnits) =>
        CheckLengths(owner, Names, Sequence.Length, Last.Length, H.Length, C.Length, batch, time, outputSize, cellUnits);

    /// <summary>The checks of <see cref="Validate"/> for the lengths of a sequence, last, h and c span, named by <paramref name="names"/>.</summary>
    internal static void CheckLengths(string owner, string[] names, int sequence, int last, int h, int c, int batch, int time, int outputSize, int cellUnits)
    {
        SequenceRun.CheckLength(owner, names[0], sequence, true, batch, time, outputSize);
        SequenceRun.CheckLength(owner, names[1], last, true, batch, outputSize);
        SequenceRun.CheckLength(owner, names[2], h, true, batch, outputSize);
        SequenceRun.CheckLength(owner, names[3], c, true, batch, cellUnits);
    }
}

/// <summary>Gradients of the loss with respect to a forward's outputs; every span is optional (empty = zero).</summary>
internal readonly ref struct RnnOutputGradients
{
    /// <summary>[batch, time, H]: ∂L/∂(output sequence).</summary>
    public ReadOnlySpan<float> Sequence { get; init; }

    /// <summary>[batch, H]: ∂L/∂(last output).</summary>
    public ReadOnlySpan<float> Last { get; init; }

    /// <summary>[batch, H]: ∂L/∂h_T (returned state).</summary>
    public ReadOnlySpan<float> H { get; init; }

    /// <summary>[batch, units]: ∂L/∂c_T of a two-state cell (returned state).</summary>
    public ReadOnlySpan<float> C { get; init; }

    private static readonly string[] Names = ["d(output sequence)", "d(last output)", "d(final h)", "d(final c)"];

    /// <summary>Checks each given span as <see cref="RnnOutputs.Validate"/>.</summary>
    internal void Validate(string owner, int batch, int time, int outputSize, int cellUnits) =>
        RnnOutputs.CheckLengths(owner, Names, Sequence.Length, Last.Length, H.Length, C.Length, batch, time, outputSize, cellUnits);
}

/// <summary>
/// Where a GRU / SimpleRNN backward writes. Parameter gradients are ACCUMULATED (+=) and must be
/// given (bias only when the layout has one); <see cref="Input"/> and <see cref="InitialH"/> are
/// OVERWRITTEN and optional (empty = not needed).
/// </summary>
internal readonly ref struct RnnGradients : IRnnGradients
{
    /// <summary>dW, shaped as the kernel, accumulated.</summary>
    public Span<float> Kernel { get; init; }

    /// <summary>dU, shaped as the recurrent kernel, accumulated.</summary>
    public Span<float> RecurrentKernel { get; init; }

    /// <summary>db, shaped as the bias, accumulated; empty without bias.</summary>
    public Span<float> Bias { get; init; }

    /// <summary>dx [batch, time, inputSize], overwritten; empty to skip (saves one matrix product).</summary>
    public Span<float> Input { get; init; }

    /// <summary>dh_0 [batch, units], overwritten; empty to skip.</summary>
    public Span<float> InitialH { get; init; }

    /// <summary>Always empty: a single-state cell has no c.</summary>
    public Span<float> InitialC => default;
}
