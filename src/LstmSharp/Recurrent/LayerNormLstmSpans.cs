namespace LstmSharp.Recurrent;

/// <summary>The parameters a <see cref="LayerNormLstmKernel"/> reads (n = units, F = features).</summary>
internal readonly ref struct LayerNormLstmWeights : IRnnWeights
{
    /// <summary>W [F, 4n].</summary>
    public ReadOnlySpan<float> Kernel { get; init; }

    /// <summary>U [n, 4n].</summary>
    public ReadOnlySpan<float> RecurrentKernel { get; init; }

    /// <summary>b [4n]; empty without a bias.</summary>
    public ReadOnlySpan<float> Bias { get; init; }

    /// <summary>γx [4n]: gains of the normalised input pre-activations.</summary>
    public ReadOnlySpan<float> InputGamma { get; init; }

    /// <summary>γh [4n]: gains of the normalised recurrent pre-activations.</summary>
    public ReadOnlySpan<float> RecurrentGamma { get; init; }

    /// <summary>γc [n]: gain of the normalised cell.</summary>
    public ReadOnlySpan<float> CellGamma { get; init; }

    /// <summary>βc [n]: shift of the normalised cell.</summary>
    public ReadOnlySpan<float> CellBeta { get; init; }

    internal LayerNormLstmCell.Norms NormsWith(float epsilon) => new()
    {
        Epsilon = epsilon,
        InputGamma = InputGamma,
        RecurrentGamma = RecurrentGamma,
        Bias = Bias,
        CellGamma = CellGamma,
        CellBeta = CellBeta,
    };

    /// <summary>Checks the gains and shifts (W, U and b are the driver's).</summary>
    internal void ValidateNorms(string owner, int n)
    {
        SequenceRun.CheckLength(owner, "input_gamma", InputGamma.Length, false, 4 * n);
        SequenceRun.CheckLength(owner, "recurrent_gamma", RecurrentGamma.Length, false, 4 * n);
        SequenceRun.CheckLength(owner, "cell_gamma", CellGamma.Length, false, n);
        SequenceRun.CheckLength(owner, "cell_beta", CellBeta.Length, false, n);
    }
}

/// <summary>Where a <see cref="LayerNormLstmKernel"/> backward writes: parameter gradients accumulated (+=); dx, dh_0, dc_0 overwritten and optional.</summary>
internal readonly ref struct LayerNormLstmGradients : IRnnGradients
{
    public Span<float> Kernel { get; init; }

    public Span<float> RecurrentKernel { get; init; }

    public Span<float> Bias { get; init; }

    public Span<float> InputGamma { get; init; }

    public Span<float> RecurrentGamma { get; init; }

    public Span<float> CellGamma { get; init; }

    public Span<float> CellBeta { get; init; }

    /// <summary>dx [batch, time, F]; empty to skip.</summary>
    public Span<float> Input { get; init; }

    public Span<float> InitialH { get; init; }

    public Span<float> InitialC { get; init; }

    /// <summary>Checks the gains' and shifts' gradients (the rest are the driver's).</summary>
    internal void ValidateNorms(string owner, int n)
    {
        SequenceRun.CheckLength(owner, "d(input_gamma)", InputGamma.Length, false, 4 * n);
        SequenceRun.CheckLength(owner, "d(recurrent_gamma)", RecurrentGamma.Length, false, 4 * n);
        SequenceRun.CheckLength(owner, "d(cell_gamma)", CellGamma.Length, false, n);
        SequenceRun.CheckLength(owner, "d(cell_beta)", CellBeta.Length, false, n);
    }
}

/// <summary>
/// What a training forward of <see cref="LayerNormLstmKernel"/> keeps for its backward beside the
/// driver's buffers (and the layout of the inference scratch), time-major as the driver's: row
/// s·B + b is step s of sequence b (one step of rows for inference, except x̂ of every step).
/// </summary>
internal sealed class LayerNormLstmCache : SequenceCache
{
    /// <summary>[T·B, 4n]: x W (the driver's projection), then x̂ (normalised per gate).</summary>
    internal float[] Ax = [];

    /// <summary>[T·B, 4n]: h U, then ĥ.</summary>
    internal float[] Ah = [];

    /// <summary>[T·B, 4]: 1/σ of each gate block of x W and of h U.</summary>
    internal float[] Rx = [], Rh = [];

    /// <summary>[T·B, 4n]: i, f, g, o; after the backward dz.</summary>
    internal float[] Gates = [];

    /// <summary>[T·B, n]: ĉ; [T·B]: its 1/σ.</summary>
    internal float[] CHat = [], Rc = [];

    /// <inheritdoc/>
    public override long CapacityFloats => base.CapacityFloats + Ax.Length + Ah.Length + Rx.Length + Rh.Length + Gates.Length + CHat.Length + Rc.Length;

    private protected override void PrepareCell(int rows, int units, int gateWidth)
    {
        RnnRun.Ensure(ref Ah, rows * gateWidth);
        RnnRun.Ensure(ref Rx, rows * 4);
        RnnRun.Ensure(ref Rh, rows * 4);
        RnnRun.Ensure(ref Gates, rows * gateWidth);
        RnnRun.Ensure(ref CHat, rows * units);
        RnnRun.Ensure(ref Rc, rows);
    }
}
