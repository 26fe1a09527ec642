namespace LstmSharp.Recurrent;

/// <summary>
/// The buffers a training-mode forward of the shared driver (<see cref="SequenceKernel{TWeights, TGradients}"/>)
/// saves for its backward (see <see cref="RecurrentCache"/>). All buffers are time-major in
/// processing order (row s·B + b is step s of sequence b; <see cref="RecurrentCache.XDropped"/> [T·B, inputSize]).
/// A cell keeps its own saved buffers in a subclass.
/// </summary>
internal abstract class SequenceCache : RecurrentCache
{
    /// <summary>[(T+1)·B, H]: h_0 … h_T (carried over masked steps); H = units unless the cell projects h.</summary>
    internal float[] States = [];

    /// <summary>[(T+1)·B, units]: c_0 … c_T of a two-state cell (carried over masked steps); empty for one state.</summary>
    internal float[] Cells = [];

    /// <summary>[T·B, H]: h_{t−1} ⊙ m_h (only with a recurrent dropout mask; else States is it).</summary>
    internal float[] HDropped = [];

    /// <summary>[T·B]: 1 where the step updates the state / where the output is h_t (see <see cref="RnnRun.BuildStepMasks"/>).</summary>
    internal float[] Keep = [];

    internal float[] Emit = [];

    /// <inheritdoc/>
    public override long CapacityFloats => (long)XDropped.Length + States.Length + Cells.Length + HDropped.Length + Keep.Length + Emit.Length;

    /// <summary>Grows the buffers for a run; <paramref name="training"/> false = inference (one step of scratch).</summary>
    internal void Prepare(object layout, in SequenceRun run, int inputSize, int units, int outputSize, int gateWidth, bool training, bool cellState)
    {
        int bt = run.Batch, tt = run.Time;
        int stateRows = (training ? tt + 1 : 2) * bt;
        RnnRun.Ensure(ref XDropped, tt * bt * inputSize);
        RnnRun.Ensure(ref States, stateRows * outputSize);
        RnnRun.Ensure(ref Cells, cellState ? stateRows * units : 0);
        RnnRun.Ensure(ref HDropped, run.RecurrentDropoutMask.IsEmpty ? 0 : (training ? tt : 1) * bt * outputSize);
        RnnRun.Ensure(ref Keep, tt * bt);
        RnnRun.Ensure(ref Emit, tt * bt);
        PrepareCell(training ? tt * bt : bt, units, gateWidth);
        Begin(layout, run);
    }

    /// <summary>The cell's own saved buffers for <paramref name="rows"/> rows (T·B when training, B for one inference step).</summary>
    private protected virtual void PrepareCell(int rows, int units, int gateWidth)
    {
    }
}
