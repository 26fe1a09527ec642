namespace LstmSharp.Recurrent;

/// <summary>The parameters a <see cref="LayerNormLstmKernel"/> reads (n = units, F = features).</summary>
internal readonly ref struct LayerNormLstmWeights
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

    internal void Validate(string owner, int features, int n, bool useBias)
    {
        SequenceRun.CheckLength(owner, "kernel", Kernel.Length, false, features, 4 * n);
        SequenceRun.CheckLength(owner, "recurrent_kernel", RecurrentKernel.Length, false, n, 4 * n);
        SequenceRun.CheckLength(owner, "bias", Bias.Length, false, useBias ? 4 * n : 0);
        SequenceRun.CheckLength(owner, "input_gamma", InputGamma.Length, false, 4 * n);
        SequenceRun.CheckLength(owner, "recurrent_gamma", RecurrentGamma.Length, false, 4 * n);
        SequenceRun.CheckLength(owner, "cell_gamma", CellGamma.Length, false, n);
        SequenceRun.CheckLength(owner, "cell_beta", CellBeta.Length, false, n);
    }
}

/// <summary>Where <see cref="LayerNormLstmKernel.Backward"/> writes: parameter gradients accumulated (+=); dx, dh_0, dc_0 overwritten and optional.</summary>
internal readonly ref struct LayerNormLstmGradients
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

    internal void Validate(string owner, in SequenceRun run, int features, int n, bool useBias)
    {
        SequenceRun.CheckLength(owner, "d(kernel)", Kernel.Length, false, features, 4 * n);
        SequenceRun.CheckLength(owner, "d(recurrent_kernel)", RecurrentKernel.Length, false, n, 4 * n);
        SequenceRun.CheckLength(owner, "d(bias)", Bias.Length, false, useBias ? 4 * n : 0);
        SequenceRun.CheckLength(owner, "d(input_gamma)", InputGamma.Length, false, 4 * n);
        SequenceRun.CheckLength(owner, "d(recurrent_gamma)", RecurrentGamma.Length, false, 4 * n);
        SequenceRun.CheckLength(owner, "d(cell_gamma)", CellGamma.Length, false, n);
        SequenceRun.CheckLength(owner, "d(cell_beta)", CellBeta.Length, false, n);
        SequenceRun.CheckLength(owner, "dx", Input.Length, true, run.Batch, run.Time, features);
        SequenceRun.CheckLength(owner, "d(initial h)", InitialH.Length, true, run.Batch, n);
        SequenceRun.CheckLength(owner, "d(initial c)", InitialC.Length, true, run.Batch, n);
    }
}

/// <summary>
/// What a training forward of <see cref="LayerNormLstmKernel"/> keeps for its backward (and the
/// layout of the inference scratch), every buffer by row r = b·T + t of x's time axis.
/// </summary>
internal sealed class LayerNormLstmCache
{
    /// <summary>[BT, 4n]: x W, then x̂ (normalised per gate).</summary>
    internal float[] Ax = [];

    /// <summary>[BT, 4n]: h U, then ĥ.</summary>
    internal float[] Ah = [];

    /// <summary>[BT, 4]: 1/σ of each gate block of x W and of h U.</summary>
    internal float[] Rx = [], Rh = [];

    /// <summary>[BT, 4n]: i, f, g, o; after the backward dz.</summary>
    internal float[] Gates = [];

    /// <summary>[BT, n]: c_t (carried over masked steps); [B, n]: c_0.</summary>
    internal float[] Cell = [], Cell0 = [];

    /// <summary>[BT, n]: ĉ; [BT]: its 1/σ.</summary>
    internal float[] CHat = [], Rc = [];

    /// <summary>[BT, n]: h_{t−1} ⊙ m_h, the left operand of the recurrent product.</summary>
    internal float[] HPrev = [];

    /// <summary>[BT, F]: x ⊙ m_x (input dropout only).</summary>
    internal float[] XDropped = [];

    /// <summary>[BT, 4n], [BT, 4n], [BT, n]: ∂L/∂(x W), ∂L/∂(h U), ∂L/∂ℓ, written by the backward.</summary>
    internal float[] DAx = [], DAh = [], DL = [];

    private int batch, time, features, units;
    private bool goBackwards, hasMask, inputDropout, recurrentDropout, zeroOutput;

    /// <summary>True between a training forward and the backward that consumes it.</summary>
    internal bool IsReady { get; set; }

    internal void Prepare(in SequenceRun run, int f, int n)
    {
        int bt = run.Batch * run.Time;
        LstmCache.Grow(ref Ax, bt * 4 * n);
        LstmCache.Grow(ref Ah, bt * 4 * n);
        LstmCache.Grow(ref Rx, bt * 4);
        LstmCache.Grow(ref Rh, bt * 4);
        LstmCache.Grow(ref Gates, bt * 4 * n);
        LstmCache.Grow(ref Cell, bt * n);
        LstmCache.Grow(ref Cell0, run.Batch * n);
        LstmCache.Grow(ref CHat, bt * n);
        LstmCache.Grow(ref Rc, bt);
        LstmCache.Grow(ref HPrev, bt * n);
        LstmCache.Grow(ref DAx, bt * 4 * n);
        LstmCache.Grow(ref DAh, bt * 4 * n);
        LstmCache.Grow(ref DL, bt * n);
        if (!run.InputDropoutMask.IsEmpty)
        {
            LstmCache.Grow(ref XDropped, bt * f);
        }

        (batch, time, features, units) = (run.Batch, run.Time, f, n);
        (goBackwards, hasMask, inputDropout, recurrentDropout, zeroOutput) = (run.GoBackwards, run.HasMask, !run.InputDropoutMask.IsEmpty, !run.RecurrentDropoutMask.IsEmpty, run.ZeroOutputForMask);
        IsReady = false;
    }

    internal void CheckMatches(string owner, in SequenceRun run, int f, int n)
    {
        if (!IsReady)
        {
            throw new InvalidOperationException($"{owner}: backward needs a training-mode forward first (the cache is empty or was already consumed by a backward).");
        }

        if (batch != run.Batch || time != run.Time || features != f || units != n || goBackwards != run.GoBackwards || hasMask != run.HasMask
            || inputDropout != !run.InputDropoutMask.IsEmpty || recurrentDropout != !run.RecurrentDropoutMask.IsEmpty || zeroOutput != run.ZeroOutputForMask)
        {
            throw new ArgumentException($"{owner}: backward run does not match the cached forward (cached batch={batch}, time={time}, go_backwards={goBackwards}, mask={hasMask}; got batch={run.Batch}, time={run.Time}, go_backwards={run.GoBackwards}, mask={run.HasMask}).");
        }
    }
}
