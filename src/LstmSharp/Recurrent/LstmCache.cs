namespace LstmSharp.Recurrent;

/// <summary>
/// The buffers a training-mode <see cref="LstmKernel.Forward"/> saves for the LSTM's backward
/// beside the driver's (<see cref="SequenceCache"/>: h, c, masks, x ⊙ m_x), all time-major as the
/// driver's: row s·B + b is step s of sequence b. An inference forward's scratch cache has the same
/// buffers (h, c two steps; the gates of every step).
/// </summary>
internal sealed class LstmCache : SequenceCache
{
    /// <summary>[T·B, G·units]: x·W, then b + h·U added and the gate activations i, f, c~, o in place; after the backward, the pre-activation gradients dz.</summary>
    internal float[] Gates = [];

    /// <summary>[T·B, S·units]: g_{s−1}, the previous weighted gates' activations row s·B + b's FGR product reads (FGR only; zero for s = 0).</summary>
    internal float[] GatesPrev = [];

    /// <summary>[T·B, units]: m_t = o_t ⊙ φ(c_t), the left operand of the projection (projection only; zero at masked steps).</summary>
    internal float[] Unprojected = [];

    /// <summary>[T·B, P]: ∂L/∂h_t, written by the backward for dW_p (projection only; zero at masked steps).</summary>
    internal float[] DProjected = [];

    /// <summary>[T·B]: the token of each row (x's row b, t(s)) when the run reads x through a token table.</summary>
    internal int[] TokenRows = [];

    /// <inheritdoc/>
    public override long CapacityFloats => base.CapacityFloats + Gates.Length + GatesPrev.Length + Unprojected.Length + DProjected.Length + TokenRows.Length;

    internal static void Grow(ref float[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = GC.AllocateUninitializedArray<float>(length);
        }
    }
}
