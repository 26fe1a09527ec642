using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>The parameters an <see cref="LstmKernel"/> reads; shapes from <see cref="LstmLayout"/>. Its outputs and output gradients are the shared <see cref="RnnOutputs"/> and <see cref="RnnOutputGradients"/> (H = <see cref="LstmLayout.OutputSize"/>).</summary>
internal readonly ref struct LstmWeights : IRnnWeights
{
    /// <summary>W [inputSize, G·units] (Keras <c>kernel</c>).</summary>
    public ReadOnlySpan<float> Kernel { get; init; }

    /// <summary>U [H, G·units] (Keras <c>recurrent_kernel</c>); H = <see cref="LstmLayout.OutputSize"/>.</summary>
    public ReadOnlySpan<float> RecurrentKernel { get; init; }

    /// <summary>b [G·units]; empty when the layout has no bias.</summary>
    public ReadOnlySpan<float> Bias { get; init; }

    /// <summary>P [S, units]; empty without peepholes.</summary>
    public ReadOnlySpan<float> Peephole { get; init; }

    /// <summary>R [S·units, S·units]; empty without full gate recurrence.</summary>
    public ReadOnlySpan<float> GateRecurrence { get; init; }

    /// <summary>W_p [units, P]; empty without a projection.</summary>
    public ReadOnlySpan<float> Projection { get; init; }

    /// <summary>W in reduced precision (inference only): the input projection runs on it instead of <see cref="Kernel"/>.</summary>
    public QuantizedMatrix? QuantizedKernel { get; init; }

    /// <summary>U in reduced precision (inference only): the recurrent products run on it instead of <see cref="RecurrentKernel"/>.</summary>
    public QuantizedMatrix? QuantizedRecurrentKernel { get; init; }

    /// <summary>Checks P, R and W_p (W, U and b are the kernel's <see cref="RecurrentKernel"/> checks).</summary>
    internal void ValidateCell(string owner, LstmLayout layout)
    {
        int su = layout.WeightedGateCount * layout.Units;
        SequenceRun.CheckLength(owner, "peephole", Peephole.Length, false, layout.HasPeepholes ? layout.WeightedGateCount : 0, layout.Units);
        SequenceRun.CheckLength(owner, "gate_recurrence", GateRecurrence.Length, false, layout.HasGateRecurrence ? su : 0, su);
        SequenceRun.CheckLength(owner, "projection_kernel", Projection.Length, false, layout.Units, layout.ProjSize);
    }
}

/// <summary>
/// Where the LSTM's backward (<see cref="LstmKernel"/>) writes. Parameter gradients are ACCUMULATED (+=)
/// and must be given (except those the layout does not have); <see cref="Input"/>,
/// <see cref="InitialH"/>, <see cref="InitialC"/> are OVERWRITTEN and optional (empty = not needed).
/// </summary>
internal readonly ref struct LstmGradients : IRnnGradients
{
    /// <summary>dW [inputSize, G·units], accumulated.</summary>
    public Span<float> Kernel { get; init; }

    /// <summary>dU [H, G·units], accumulated.</summary>
    public Span<float> RecurrentKernel { get; init; }

    /// <summary>db [G·units], accumulated; empty when the layout has no bias.</summary>
    public Span<float> Bias { get; init; }

    /// <summary>dP [S, units], accumulated; empty without peepholes.</summary>
    public Span<float> Peephole { get; init; }

    /// <summary>dR [S·units, S·units], accumulated; empty without gate recurrence.</summary>
    public Span<float> GateRecurrence { get; init; }

    /// <summary>dW_p [units, P], accumulated; empty without a projection.</summary>
    public Span<float> Projection { get; init; }

    /// <summary>dx [batch, time, inputSize], overwritten; empty to skip (saves one matrix product).</summary>
    public Span<float> Input { get; init; }

    /// <summary>d(token table) [vocab, inputSize], accumulated; only for a run with tokens; empty to skip.</summary>
    public Span<float> Table { get; init; }

    /// <summary>dh_0 [batch, H], overwritten; empty to skip.</summary>
    public Span<float> InitialH { get; init; }

    /// <summary>dc_0 [batch, units], overwritten; empty to skip.</summary>
    public Span<float> InitialC { get; init; }

    /// <summary>Checks dP, dR, dW_p and the token table's gradient (the rest are the kernel's <see cref="RecurrentKernel"/> checks).</summary>
    internal void ValidateCell(string owner, LstmLayout layout, in SequenceRun run)
    {
        int units = layout.Units, sgates = layout.WeightedGateCount, su = sgates * units;
        SequenceRun.CheckLength(owner, "d(peephole)", Peephole.Length, false, layout.HasPeepholes ? sgates : 0, units);
        SequenceRun.CheckLength(owner, "d(gate_recurrence)", GateRecurrence.Length, false, layout.HasGateRecurrence ? su : 0, su);
        SequenceRun.CheckLength(owner, "d(projection_kernel)", Projection.Length, false, units, layout.ProjSize);
        SequenceRun.CheckLength(owner, "d(token table)", Table.Length, true, run.HasTokens ? run.TokenTable.Length : 0);
    }
}
