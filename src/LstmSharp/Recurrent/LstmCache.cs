namespace LstmSharp.Recurrent;

/// <summary>
/// The buffers a training-mode <see cref="LstmKernel.Forward"/> saves for
/// <see cref="LstmKernel.Backward"/>. Owned by the caller (one per forward call whose
/// gradient is still pending) and reused: the arrays only grow, so a warm cache allocates
/// nothing. The backward overwrites the saved activations with gradients, so each forward
/// can be differentiated once.
/// </summary>
/// <remarks>
/// All buffers are indexed by row r = b·T + t, where t is the index of x's time axis (not the
/// processing step, which differs under go_backwards); this keeps them aligned with the
/// batch-major x and dx, so dW, dU and dx are each one matrix product over all B·T rows.
/// </remarks>
internal sealed class LstmCache
{
    /// <summary>[B·T, G·units]: gate activations i, f, c~, o; after the backward, the pre-activation gradients dz.</summary>
    internal float[] Gates = [];

    /// <summary>[B·T, H]: h_{t−1} ⊙ recurrent dropout mask, the left operand of row r's recurrent product.</summary>
    internal float[] HPrev = [];

    /// <summary>[B·T, units]: the cell state after step r (carried over masked steps).</summary>
    internal float[] Cell = [];

    /// <summary>[B, units]: c_0.</summary>
    internal float[] Cell0 = [];

    /// <summary>[B·T, inputSize]: x ⊙ input dropout mask (only with an input dropout mask).</summary>
    internal float[] XDropped = [];

    /// <summary>[B·T, S·units]: the previous gate activations row r's FGR product read (FGR only).</summary>
    internal float[] GatesPrev = [];

    /// <summary>[B·T, units]: m_t = o_t ⊙ φ(c_t), the left operand of row r's projection (projection only; zero at masked steps).</summary>
    internal float[] Unprojected = [];

    /// <summary>[B·T, P]: ∂L/∂h_t of row r, written by the backward for dW_p (projection only; zero at masked steps).</summary>
    internal float[] DProjected = [];

    internal LstmLayout? Layout;
    internal int Batch;
    internal int Time;
    internal bool GoBackwards;
    internal bool HasMask;
    internal bool HasInputDropout;
    internal bool HasRecurrentDropout;
    internal bool HasTokens;
    internal bool ZeroOutputForMask;

    /// <summary>True between a training forward and the backward that consumes it.</summary>
    public bool IsReady { get; internal set; }

    /// <summary>Floats currently held (capacity), for memory accounting.</summary>
    public long CapacityFloats => (long)Gates.Length + HPrev.Length + Cell.Length + Cell0.Length + XDropped.Length + GatesPrev.Length + Unprojected.Length + DProjected.Length;

    internal void Prepare(LstmLayout layout, in SequenceRun run)
    {
        int bt = run.Batch * run.Time;
        int units = layout.Units;
        Grow(ref Gates, bt * layout.GateWidth);
        Grow(ref HPrev, bt * layout.OutputSize);
        Grow(ref Cell, bt * units);
        Grow(ref Cell0, run.Batch * units);
        if (!run.InputDropoutMask.IsEmpty)
        {
            Grow(ref XDropped, bt * layout.InputSize);
        }

        if (layout.HasGateRecurrence)
        {
            Grow(ref GatesPrev, bt * layout.WeightedGateCount * units);
        }

        if (layout.HasProjection)
        {
            Grow(ref Unprojected, bt * units);
            Grow(ref DProjected, bt * layout.ProjSize);
        }

        Layout = layout;
        Batch = run.Batch;
        Time = run.Time;
        GoBackwards = run.GoBackwards;
        HasMask = run.HasMask;
        HasInputDropout = !run.InputDropoutMask.IsEmpty;
        HasRecurrentDropout = !run.RecurrentDropoutMask.IsEmpty;
        HasTokens = run.HasTokens;
        ZeroOutputForMask = run.ZeroOutputForMask;
        IsReady = false;
    }

    internal void CheckMatches(string owner, LstmLayout layout, in SequenceRun run)
    {
        if (!IsReady)
        {
            throw new InvalidOperationException($"{owner}: backward needs a training-mode forward first (the cache is empty or was already consumed by a backward).");
        }

        if (!ReferenceEquals(Layout, layout) || Batch != run.Batch || Time != run.Time || GoBackwards != run.GoBackwards || HasMask != run.HasMask
            || HasInputDropout != !run.InputDropoutMask.IsEmpty || HasRecurrentDropout != !run.RecurrentDropoutMask.IsEmpty || ZeroOutputForMask != run.ZeroOutputForMask
            || HasTokens != run.HasTokens)
        {
            throw new ArgumentException($"{owner}: backward run does not match the cached forward (cached batch={Batch}, time={Time}, go_backwards={GoBackwards}, mask={HasMask}, tokens={HasTokens}; got batch={run.Batch}, time={run.Time}, go_backwards={run.GoBackwards}, mask={run.HasMask}, tokens={run.HasTokens}).");
        }
    }

    internal static void Grow(ref float[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = GC.AllocateUninitializedArray<float>(length);
        }
    }
}
