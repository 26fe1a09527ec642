namespace LstmSharp.Recurrent;

/// <summary>
/// The buffers a training-mode <see cref="GruKernel.Forward"/> saves for
/// <see cref="GruKernel.Backward"/>. Owned by the caller (one per forward whose gradient is still
/// pending) and reused: the arrays only grow, so a warm cache allocates nothing. Each forward can
/// be differentiated once (the backward consumes the cache), as with <see cref="LstmCache"/>.
/// </summary>
/// <remarks>
/// All buffers are time-major in processing order (row s·B + b is step s of sequence b), so
/// every step's rows are contiguous for its GEMM and dW, dU, dx are each one product over all
/// T·B rows.
/// </remarks>
public sealed class GruCache
{
    /// <summary>[T·B, inputSize]: x ⊙ m_x, the left operand of dW.</summary>
    internal float[] XDropped = [];

    /// <summary>[(T+1)·B, units]: h_0 … h_T (carried over masked steps).</summary>
    internal float[] States = [];

    /// <summary>[T·B, units]: h_{t−1} ⊙ m_h (only with a recurrent dropout mask; else States is it).</summary>
    internal float[] HDropped = [];

    /// <summary>[T·B, 3·units]: z, r, h~ (activations).</summary>
    internal float[] Gates = [];

    /// <summary>[T·B, units]: q = hd Uh + bh_rec (reset_after) or r ⊙ hd (not), the other factor of r.</summary>
    internal float[] Aux = [];

    /// <summary>[T·B]: 1 where the step updates the state / where the output is h_t (see <see cref="RnnRun.BuildStepMasks"/>).</summary>
    internal float[] Keep = [];

    internal float[] Emit = [];

    internal RnnRunSignature Signature;

    /// <summary>True between a training forward and the backward that consumes it.</summary>
    public bool IsReady { get; internal set; }

    /// <summary>Floats currently held (capacity), for memory accounting.</summary>
    public long CapacityFloats => (long)XDropped.Length + States.Length + HDropped.Length + Gates.Length + Aux.Length + Keep.Length + Emit.Length;

    /// <summary>Grows the buffers for a run; <paramref name="training"/> false = inference (one step of scratch).</summary>
    internal void Prepare(GruLayout layout, in SequenceRun run, bool training)
    {
        int bt = run.Batch, tt = run.Time, u = layout.Units;
        int steps = training ? tt : 1;
        RnnRun.Ensure(ref XDropped, tt * bt * layout.InputSize);
        RnnRun.Ensure(ref States, (training ? tt + 1 : 2) * bt * u);
        RnnRun.Ensure(ref HDropped, run.RecurrentDropoutMask.IsEmpty ? 0 : steps * bt * u);
        RnnRun.Ensure(ref Gates, steps * bt * layout.GateWidth);
        RnnRun.Ensure(ref Aux, steps * bt * u);
        RnnRun.Ensure(ref Keep, tt * bt);
        RnnRun.Ensure(ref Emit, tt * bt);
        Signature = RnnRunSignature.Of(layout, run);
        IsReady = false;
    }
}
