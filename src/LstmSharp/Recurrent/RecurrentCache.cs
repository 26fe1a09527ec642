namespace LstmSharp.Recurrent;

/// <summary>
/// What every fused kernel's BPTT cache has: a training forward fills it and remembers its run,
/// the backward checks that run and consumes it. Owned by the caller (one per forward whose
/// gradient is still pending) and reused: the arrays only grow, so a warm cache allocates nothing.
/// The backward overwrites saved activations with gradients, so each forward can be
/// differentiated once. The kernel's cache (<see cref="LstmCache"/>, <see cref="SequenceCache"/>)
/// holds its buffers.
/// </summary>
internal abstract class RecurrentCache
{
    /// <summary>x ⊙ input dropout mask, the left operand of dW (row order: the kernel's).</summary>
    internal float[] XDropped = [];

    private RnnRunSignature signature;

    /// <summary>True between a training forward and the backward that consumes it.</summary>
    public bool IsReady { get; internal set; }

    /// <summary>Floats currently held (capacity), for memory accounting.</summary>
    public abstract long CapacityFloats { get; }

    /// <summary>Remembers the forward's <paramref name="layout"/> and <paramref name="run"/>; not ready until the forward ends.</summary>
    internal void Begin(object layout, in SequenceRun run)
    {
        signature = RnnRunSignature.Of(layout, run);
        IsReady = false;
    }

    /// <summary>Refuses a backward before a training forward, after one consumed the cache, or for another run.</summary>
    internal void CheckMatches(string owner, object layout, in SequenceRun run) => signature.CheckMatches(owner, IsReady, layout, run);
}
