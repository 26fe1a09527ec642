using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LstmSharp.Kernels;

/// <summary>An element-wise computation on elements <c>[i, i + TL.Count)</c>: the operator struct of one kernel.</summary>
internal interface ILaneOp
{
    void Apply<TL, TV>(int i)
        where TL : struct, ILanes<TV>
        where TV : struct;
}

/// <summary>The driver of the element-wise kernels: each width's loop over <c>[0, n)</c>, widest first, then the scalar tail.</summary>
internal static class LaneLoop
{
    /// <summary>
    /// Runs <paramref name="op"/> over <c>[0, n)</c> with Vector512, then Vector256, then one lane
    /// at a time; <paramref name="width"/> pins a narrower start (<see cref="LaneWidth.Scalar"/>:
    /// the scalar twin alone), the same switch the fused kernels take.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TOp>(ref TOp op, int n, LaneWidth width = LaneWidth.Auto)
        where TOp : struct, ILaneOp, allows ref struct
    {
        int i = 0;
        if (width != LaneWidth.Scalar)
        {
            if (width != LaneWidth.Vector256 && Lanes512.IsAccelerated)
            {
                for (; i <= n - Lanes512.Count; i += Lanes512.Count)
                {
                    op.Apply<Lanes512, Vector512<float>>(i);
                }
            }

            if (Lanes256.IsAccelerated)
            {
                for (; i <= n - Lanes256.Count; i += Lanes256.Count)
                {
                    op.Apply<Lanes256, Vector256<float>>(i);
                }
            }
        }

        for (; i < n; i++)
        {
            op.Apply<Lanes1, float>(i);
        }
    }
}
