using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// One SimpleRNN (Elman) time step for one sequence of the batch (one "row"), and its exact
/// gradient. <see cref="SimpleRnnKernel"/> walks time and batch and does the matrix products.
/// </summary>
/// <remarks>
/// <para>Shapes for one row: x_t [input], h_{t−1}, h_t [units]; W [input, units],
/// U [units, units], b [units] (see <see cref="SimpleRnnLayout"/>); act = activation (default
/// tanh). xd = x_t ⊙ m_x and hd = h_{t−1} ⊙ m_h with the fixed dropout masks (m = 1 without
/// dropout).</para>
/// <para>Forward:</para>
/// <code>
/// a   = xd W + hd U + b
/// h_t = act(a)                                  (saved: h_t; act' is taken from it)
/// masked step (mask[b, t] = 0):  h_t = h_{t−1}
/// </code>
/// <para>Backward, with dh = ∂L/∂h_t = carry + dhd ⊙ m_h + emit ⊙ dy_t (carry = what a masked
/// step after passed through, dhd = the recurrent product of the step after, dy_t the output's
/// gradient); act' written through the output, as <see cref="ActivationKind"/> does:</para>
/// <code>
/// da       = dh ⊙ act'(h_t)
/// dhd      = da Uᵀ                (one product per step; dh_{t−1} = dhd ⊙ m_h, carry = 0)
/// dW += xdᵀ da,   dU += hdᵀ da,   db += Σ da,   dx_t = da Wᵀ ⊙ m_x
/// masked step:  da = 0,  carry = dh  (all of dh flows to h_{t−1})
/// </code>
/// <para>The row kernels are written once, generic over the SIMD width (<see cref="ILanes{TSelf}"/>);
/// the scalar instantiation (<see cref="Lanes1"/>) is the vector kernels' twin and tail.</para>
/// </remarks>
internal static class SimpleRnnCell
{
    /// <summary>h_t = act(a + b) for one kept row (a = xd W + hd U already summed by the products).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Forward(in CellRow row, ref float ar, ref float bx, ref float hr)
    {
        int j = row.Width switch
        {
            LaneWidth.Vector512 => ForwardCols<Lanes256, Vector256<float>>(row, ForwardCols<Lanes512, Vector512<float>>(row, 0, ref ar, ref bx, ref hr), ref ar, ref bx, ref hr),
            LaneWidth.Vector256 => ForwardCols<Lanes256, Vector256<float>>(row, 0, ref ar, ref bx, ref hr),
            _ => 0,
        };
        ForwardCols<Lanes1, float>(row, j, ref ar, ref bx, ref hr);
    }

    /// <summary>
    /// One row's backward: dh = carry + dhd ⊙ m_h + dy; a <paramref name="kept"/> row writes
    /// da = dh ⊙ act'(h_t) and carry = 0, a masked row da = 0 and carry = dh.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward(in CellRow row, bool kept, ref float carry, ref float dhd, ref float mhr, ref float dy, ref float hr, ref float dar)
    {
        int j = row.Width switch
        {
            LaneWidth.Vector512 => BackwardCols<Lanes256, Vector256<float>>(row, BackwardCols<Lanes512, Vector512<float>>(row, 0, kept, ref carry, ref dhd, ref mhr, ref dy, ref hr, ref dar), kept, ref carry, ref dhd, ref mhr, ref dy, ref hr, ref dar),
            LaneWidth.Vector256 => BackwardCols<Lanes256, Vector256<float>>(row, 0, kept, ref carry, ref dhd, ref mhr, ref dy, ref hr, ref dar),
            _ => 0,
        };
        BackwardCols<Lanes1, float>(row, j, kept, ref carry, ref dhd, ref mhr, ref dy, ref hr, ref dar);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ForwardCols<TL, TV>(in CellRow row, int j, ref float ar, ref float bx, ref float hr)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        int u = row.Units;
        var act = row.Activation;
        for (; j <= u - TL.Count; j += TL.Count)
        {
            var h = TL.Activate(act, TL.Add(TL.Load(ref Unsafe.Add(ref ar, j)), TL.Load(ref Unsafe.Add(ref bx, j))));
            TL.Store(h, ref Unsafe.Add(ref hr, j));
        }

        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BackwardCols<TL, TV>(in CellRow row, int j, bool kept, ref float carry, ref float dhd, ref float mhr, ref float dy, ref float hr, ref float dar)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        int u = row.Units;
        var act = row.Activation;
        var zero = TL.Broadcast(0f);
        for (; j <= u - TL.Count; j += TL.Count)
        {
            var dh = RnnRun.TotalDh<TL, TV>(j, ref carry, ref dhd, ref mhr, ref dy);
            if (kept)
            {
                TL.Store(TL.Mul(dh, TL.DerivativeFromOutput(act, TL.Load(ref Unsafe.Add(ref hr, j)))), ref Unsafe.Add(ref dar, j));
                TL.Store(zero, ref Unsafe.Add(ref carry, j));
            }
            else
            {
                TL.Store(zero, ref Unsafe.Add(ref dar, j));
                TL.Store(dh, ref Unsafe.Add(ref carry, j));
            }
        }

        return j;
    }
}
