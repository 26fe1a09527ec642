using LstmSharp.Tensors;

namespace LstmSharp.Recurrent;

/// <summary>
/// What every recurrent sequence kernel (LSTM, GRU, SimpleRNN) reads besides its weights and
/// initial states: the input sequence and the options that change how time is walked.
/// The backward pass must be given the same run as the forward pass it differentiates.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><see cref="X"/> [batch, time, inputSize], batch-major as in Keras.</item>
/// <item><see cref="Mask"/> [batch, time] or empty: a step whose value is 0 is skipped — the
/// states carry through unchanged and the output is the previous step's output (0 before the
/// first valid step), or 0 with <see cref="ZeroOutputForMask"/>. Padding may be on either
/// side, or anywhere.</item>
/// <item><see cref="InputDropoutMask"/> [batch, inputSize] or empty: multiplies x_t at every
/// step before the input projection (already scaled by 1/(1−rate)).</item>
/// <item><see cref="RecurrentDropoutMask"/> [batch, units] or empty: multiplies h_{t−1} at every
/// step before the recurrent product (already scaled).</item>
/// <item><see cref="Tokens"/> [batch, time] and <see cref="TokenTable"/> [vocab, inputSize], or
/// both empty: x is the embedding lookup x[b, t] = TokenTable[Tokens[b, t]]. A kernel that
/// supports it projects the table instead of the sequence (<see cref="TokenProjection"/>) and
/// can return the table's gradient instead of dx; the others read <see cref="X"/>, which must
/// still hold the lookup.</item>
/// <item><see cref="GoBackwards"/>: steps run t = T−1 … 0; outputs are in processing order
/// (output step s holds the state after reading x_{T−1−s}), as Keras returns them.</item>
/// </list>
/// </remarks>
internal readonly ref struct SequenceRun
{
    public SequenceRun(ReadOnlySpan<float> x, int batch, int time, int inputSize)
    {
        X = x;
        Batch = batch;
        Time = time;
        InputSize = inputSize;
    }

    /// <summary>Input sequence [batch, time, inputSize].</summary>
    public ReadOnlySpan<float> X { get; }

    public int Batch { get; }

    public int Time { get; }

    public int InputSize { get; }

    /// <summary>[batch, time], nonzero = valid step; empty = every step is valid.</summary>
    public ReadOnlySpan<float> Mask { get; init; }

    /// <summary>[batch, inputSize] scaled dropout mask on the inputs; empty = none.</summary>
    public ReadOnlySpan<float> InputDropoutMask { get; init; }

    /// <summary>[batch, units] scaled dropout mask on the recurrent state; empty = none.</summary>
    public ReadOnlySpan<float> RecurrentDropoutMask { get; init; }

    /// <summary>[batch, time] rows of <see cref="TokenTable"/> that x was looked up from; empty = x is not a lookup.</summary>
    public ReadOnlySpan<int> Tokens { get; init; }

    /// <summary>[vocab, inputSize] the embedding table of <see cref="Tokens"/>; empty without tokens.</summary>
    public ReadOnlySpan<float> TokenTable { get; init; }

    public bool HasTokens => !Tokens.IsEmpty;

    /// <summary>Process the sequence from the last step to the first (Keras <c>go_backwards</c>).</summary>
    public bool GoBackwards { get; init; }

    /// <summary>At masked steps emit zeros instead of the previous output (Keras <c>zero_output_for_mask</c>).</summary>
    public bool ZeroOutputForMask { get; init; }

    public bool HasMask => !Mask.IsEmpty;

    /// <summary>Index into the time axis of x of processing step <paramref name="step"/>.</summary>
    public int TimeIndex(int step) => GoBackwards ? Time - 1 - step : step;

    /// <summary>Whether step t (an index of x's time axis) of sequence b is valid.</summary>
    public bool IsValid(int b, int t) => Mask.IsEmpty || Mask[(b * Time) + t] != 0f;

    /// <summary>Checks every length against the shapes; <paramref name="owner"/> names the kernel in errors.</summary>
    public void Validate(string owner, int expectedInputSize, int units)
    {
        if (Batch <= 0 || Time <= 0)
        {
            throw new ArgumentException($"{owner}: batch and time must be positive, got batch={Batch}, time={Time}.");
        }

        if (InputSize != expectedInputSize)
        {
            throw new ArgumentException($"{owner}: expected input [*, *, {expectedInputSize}], got [{Batch}, {Time}, {InputSize}].");
        }

        CheckLength(owner, "x", X.Length, false, Batch, Time, InputSize);
        CheckLength(owner, "mask", Mask.Length, true, Batch, Time);
        CheckLength(owner, "input dropout mask", InputDropoutMask.Length, true, Batch, InputSize);
        CheckLength(owner, "recurrent dropout mask", RecurrentDropoutMask.Length, true, Batch, units);
        if (HasTokens || !TokenTable.IsEmpty)
        {
            TokenProjection.Validate(owner, this);
        }
    }

    /// <summary>Throws unless <paramref name="actual"/> equals the product of <paramref name="shape"/> (or is 0 when optional).</summary>
    public static void CheckLength(string owner, string argument, int actual, bool optional, params ReadOnlySpan<int> shape)
    {
        long expected = 1;
        foreach (int d in shape)
        {
            expected *= d;
        }

        if (actual != expected && !(optional && actual == 0))
        {
            throw new ArgumentException($"{owner}: {argument} must be {Tensor.FormatShape(shape)} ({expected} floats){(optional ? " or empty" : string.Empty)}, got {actual} floats.");
        }
    }
}
