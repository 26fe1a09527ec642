namespace LstmSharp.Recurrent;

/// <summary>
/// The buffers a training-mode <see cref="LstmKernel.Forward"/> saves for
/// <see cref="LstmKernel.Backward"/> (see <see cref="RecurrentCache"/>).
/// </summary>
/// <remarks>
/// A run on the shared driver (<see cref="LstmSequenceKernel"/>) keeps the driver's time-major
/// buffers (<see cref="SequenceCache"/>: row s·B + b is step s of sequence b) and its gates in
/// <see cref="Gates"/>, in the same order. A run on <see cref="LstmKernel"/>'s own loop indexes
/// all buffers by row r = b·T + t, where t is the index of x's time axis (not the processing
/// step, which differs under go_backwards); this keeps them aligned with the batch-major x and
/// dx, so dW, dU and dx are each one matrix product over all B·T rows.
/// </remarks>
internal sealed class LstmCache : SequenceCache
{
    /// <summary>[B·T, G·units]: gate activations i, f, c~, o; after the backward, the pre-activation gradients dz.</summary>
    internal float[] Gates = [];

    /// <summary>[B·T, H]: h_{t−1} ⊙ recurrent dropout mask, the left operand of row r's recurrent product.</summary>
    internal float[] HPrev = [];

    /// <summary>[B·T, units]: the cell state after step r (carried over masked steps).</summary>
    internal float[] Cell = [];

    /// <summary>[B, units]: c_0.</summary>
    internal float[] Cell0 = [];

    /// <summary>[B·T, S·units]: the previous gate activations row r's FGR product read (FGR only).</summary>
    internal float[] GatesPrev = [];

    /// <summary>[B·T, units]: m_t = o_t ⊙ φ(c_t), the left operand of row r's projection (projection only; zero at masked steps).</summary>
    internal float[] Unprojected = [];

    /// <summary>[B·T, P]: ∂L/∂h_t of row r, written by the backward for dW_p (projection only; zero at masked steps).</summary>
    internal float[] DProjected = [];

    /// <inheritdoc/>
    public override long CapacityFloats => base.CapacityFloats + Gates.Length + HPrev.Length + Cell.Length + Cell0.Length + GatesPrev.Length + Unprojected.Length + DProjected.Length;

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

        Begin(layout, run);
    }

    internal static void Grow(ref float[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = GC.AllocateUninitializedArray<float>(length);
        }
    }
}
