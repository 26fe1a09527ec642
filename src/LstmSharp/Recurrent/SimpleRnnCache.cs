namespace LstmSharp.Recurrent;

/// <summary>
/// The buffers a training-mode <see cref="SimpleRnnKernel.Forward"/> saves for
/// <see cref="SimpleRnnKernel.Backward"/>; caller-owned and reused like <see cref="GruCache"/>
/// (time-major, processing order; consumed by the backward).
/// </summary>
public sealed class SimpleRnnCache
{
    /// <summary>[T·B, inputSize]: x ⊙ m_x.</summary>
    internal float[] XDropped = [];

    /// <summary>[(T+1)·B, units]: h_0 … h_T; act' is computed from h_t itself.</summary>
    internal float[] States = [];

    /// <summary>[T·B, units]: h_{t−1} ⊙ m_h (only with a recurrent dropout mask).</summary>
    internal float[] HDropped = [];

    internal float[] Keep = [];

    internal float[] Emit = [];

    internal RnnRunSignature Signature;

    /// <summary>True between a training forward and the backward that consumes it.</summary>
    public bool IsReady { get; internal set; }

    /// <summary>Floats currently held (capacity), for memory accounting.</summary>
    public long CapacityFloats => (long)XDropped.Length + States.Length + HDropped.Length + Keep.Length + Emit.Length;

    internal void Prepare(SimpleRnnLayout layout, in SequenceRun run, bool training)
    {
        int bt = run.Batch, tt = run.Time, u = layout.Units;
        RnnRun.Ensure(ref XDropped, tt * bt * layout.InputSize);
        RnnRun.Ensure(ref States, (training ? tt + 1 : 2) * bt * u);
        RnnRun.Ensure(ref HDropped, run.RecurrentDropoutMask.IsEmpty ? 0 : (training ? tt : 1) * bt * u);
        RnnRun.Ensure(ref Keep, tt * bt);
        RnnRun.Ensure(ref Emit, tt * bt);
        Signature = RnnRunSignature.Of(layout, run);
        IsReady = false;
    }
}
