namespace LstmSharp.Recurrent;

/// <summary>
/// The buffers a training-mode <see cref="GruKernel"/> forward saves for its backward: the
/// driver's (<see cref="SingleStateCache"/>) and the gates. Owned by the caller and reused.
/// </summary>
internal sealed class GruCache : SingleStateCache
{
    /// <summary>[T·B, 3·units]: z, r, h~ (activations).</summary>
    internal float[] Gates = [];

    /// <summary>[T·B, units]: q = hd Uh + bh_rec (reset_after) or r ⊙ hd (not), the other factor of r.</summary>
    internal float[] Aux = [];

    /// <inheritdoc/>
    public override long CapacityFloats => base.CapacityFloats + Gates.Length + Aux.Length;

    private protected override void PrepareCell(int rows, int units, int gateWidth)
    {
        RnnRun.Ensure(ref Gates, rows * gateWidth);
        RnnRun.Ensure(ref Aux, rows * units);
    }
}
