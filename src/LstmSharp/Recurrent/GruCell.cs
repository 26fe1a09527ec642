using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// One GRU time step for one sequence of the batch (one "row"): the gate activations and the new
/// state from the step's products, and the exact gradient of that step. <see cref="GruKernel"/>
/// walks time and batch and does the matrix products.
/// </summary>
/// <remarks>
/// <para>Shapes for one row: x_t [input], h_{t−1}, h_t [units]; W [input, 3·units],
/// U [units, 3·units] with column blocks z, r, h (see <see cref="GruLayout"/>); σ = recurrent
/// activation (default sigmoid), act = activation (default tanh), ⊙ elementwise. xd = x_t ⊙ m_x
/// and hd = h_{t−1} ⊙ m_h with the fixed dropout masks (m = 1 without dropout).</para>
/// <para>Forward:</para>
/// <code>
/// z   = σ(xd Wz + hd Uz + bz)                       update gate   (saved: z)
/// r   = σ(xd Wr + hd Ur + br)                       reset gate    (saved: r)
/// reset_after = true  (Keras 3, cuDNN, PyTorch):
///     q  = hd Uh + bh_rec                                           (saved: q)
///     h~ = act(xd Wh + bh_in + r ⊙ q)                               (saved: h~)
/// reset_after = false (Keras 2, the paper):
///     rh = r ⊙ hd                                                   (saved: rh)
///     h~ = act(xd Wh + rh Uh + bh)                                  (saved: h~)
/// h_t = z ⊙ h_{t−1} + (1 − z) ⊙ h~  = h~ + z ⊙ (h_{t−1} − h~)       (Keras: z gates the OLD state)
/// masked step (mask[b, t] = 0):  h_t = h_{t−1}
/// </code>
/// <para>Backward, with dh = ∂L/∂h_t = carry + dhd ⊙ m_h + emit ⊙ dy_t (carry = dh_{t+1} ⊙ z_{t+1}
/// from the step after, dhd = that step's recurrent product, dy_t the output's gradient);
/// σ', act' are written through the outputs, as <see cref="ActivationKind"/> does:</para>
/// <code>
/// dz~  = dh ⊙ (h_{t−1} − h~) ⊙ σ'(z)                  gradient of z's pre-activation
/// da_h = dh ⊙ (1 − z) ⊙ act'(h~)                       gradient of h~'s pre-activation
/// reset_after = true:
///     dr~ = da_h ⊙ q ⊙ σ'(r),    dq = da_h ⊙ r
///     dhd = [dz~, dr~, dq] Uᵀ                          (one product per step)
///     dU += hdᵀ [dz~, dr~, dq],   db_rec += Σ [dz~, dr~, dq]
///     dW += xdᵀ [dz~, dr~, da_h], db_in  += Σ [dz~, dr~, da_h]
/// reset_after = false:
///     drh = da_h Uhᵀ                                   d(r ⊙ hd)
///     dr~ = drh ⊙ hd ⊙ σ'(r)
///     dhd = [dz~, dr~] U_zrᵀ + drh ⊙ r
///     dU_zr += hdᵀ [dz~, dr~],  dU_h += rhᵀ da_h,  dW += xdᵀ [dz~, dr~, da_h],  db += Σ [dz~, dr~, da_h]
/// dh_{t−1} = dh ⊙ z + dhd ⊙ m_h,     dx_t = [dz~, dr~, da_h] Wᵀ ⊙ m_x
/// masked step: dh_{t−1} = dh, every gate gradient 0
/// </code>
/// <para>Each row kernel is written once, generic over the SIMD width (<see cref="ILanes{TSelf}"/>):
/// the Vector512, Vector256 and scalar (<see cref="Lanes1"/>) instantiations run the same
/// arithmetic, the scalar one being the vector kernels' twin and their tail. The <c>ref float</c>
/// arguments point at the start of the row in each buffer.</para>
/// </remarks>
internal static class GruCell
{
    /// <summary>reset_after = true: z, r, q = rec_h + bh_rec, h~, h_t from xp = xd W and rec = hd U.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ForwardResetAfter(in CellRow row, ref float xr, ref float rr, ref float bx, ref float bq, ref float hp, ref float gr, ref float qr, ref float hr)
    {
        int j = row.Width switch
        {
            LaneWidth.Vector512 => ResetAfterCols<Lanes256, Vector256<float>>(row, ResetAfterCols<Lanes512, Vector512<float>>(row, 0, ref xr, ref rr, ref bx, ref bq, ref hp, ref gr, ref qr, ref hr), ref xr, ref rr, ref bx, ref bq, ref hp, ref gr, ref qr, ref hr),
            LaneWidth.Vector256 => ResetAfterCols<Lanes256, Vector256<float>>(row, 0, ref xr, ref rr, ref bx, ref bq, ref hp, ref gr, ref qr, ref hr),
            _ => 0,
        };
        ResetAfterCols<Lanes1, float>(row, j, ref xr, ref rr, ref bx, ref bq, ref hp, ref gr, ref qr, ref hr);
    }

    /// <summary>reset_after = false, first pass: z, r and rh = r ⊙ hd (the h-block product's input).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ForwardGates(in CellRow row, ref float xr, ref float rr, ref float bx, ref float hdr, ref float gr, ref float rhr)
    {
        int j = row.Width switch
        {
            LaneWidth.Vector512 => GatesCols<Lanes256, Vector256<float>>(row, GatesCols<Lanes512, Vector512<float>>(row, 0, ref xr, ref rr, ref bx, ref hdr, ref gr, ref rhr), ref xr, ref rr, ref bx, ref hdr, ref gr, ref rhr),
            LaneWidth.Vector256 => GatesCols<Lanes256, Vector256<float>>(row, 0, ref xr, ref rr, ref bx, ref hdr, ref gr, ref rhr),
            _ => 0,
        };
        GatesCols<Lanes1, float>(row, j, ref xr, ref rr, ref bx, ref hdr, ref gr, ref rhr);
    }

    /// <summary>reset_after = false, second pass: h~ = act(xp_h + rec_h + bh) and h_t (rec_h = rh Uh).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ForwardCandidate(in CellRow row, ref float xr, ref float rr, ref float bx, ref float hp, ref float gr, ref float hr)
    {
        int j = row.Width switch
        {
            LaneWidth.Vector512 => CandidateCols<Lanes256, Vector256<float>>(row, CandidateCols<Lanes512, Vector512<float>>(row, 0, ref xr, ref rr, ref bx, ref hp, ref gr, ref hr), ref xr, ref rr, ref bx, ref hp, ref gr, ref hr),
            LaneWidth.Vector256 => CandidateCols<Lanes256, Vector256<float>>(row, 0, ref xr, ref rr, ref bx, ref hp, ref gr, ref hr),
            _ => 0,
        };
        CandidateCols<Lanes1, float>(row, j, ref xr, ref rr, ref bx, ref hp, ref gr, ref hr);
    }

    /// <summary>reset_after = true: dRec = [dz~, dr~, dq], dAh = da_h, carry = dh ⊙ z.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BackwardResetAfter(in CellRow row, ref float carry, ref float dhd, ref float mhr, ref float dy, ref float hp, ref float gr, ref float qr, ref float dr, ref float dah)
    {
        int j = row.Width switch
        {
            LaneWidth.Vector512 => BackResetAfterCols<Lanes256, Vector256<float>>(row, BackResetAfterCols<Lanes512, Vector512<float>>(row, 0, ref carry, ref dhd, ref mhr, ref dy, ref hp, ref gr, ref qr, ref dr, ref dah), ref carry, ref dhd, ref mhr, ref dy, ref hp, ref gr, ref qr, ref dr, ref dah),
            LaneWidth.Vector256 => BackResetAfterCols<Lanes256, Vector256<float>>(row, 0, ref carry, ref dhd, ref mhr, ref dy, ref hp, ref gr, ref qr, ref dr, ref dah),
            _ => 0,
        };
        BackResetAfterCols<Lanes1, float>(row, j, ref carry, ref dhd, ref mhr, ref dy, ref hp, ref gr, ref qr, ref dr, ref dah);
    }

    /// <summary>reset_after = false, first pass: dRec's z and h blocks = dz~, da_h; carry = dh ⊙ z.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BackwardCandidate(in CellRow row, ref float carry, ref float dhd, ref float mhr, ref float dy, ref float hp, ref float gr, ref float dr)
    {
        int j = row.Width switch
        {
            LaneWidth.Vector512 => BackCandidateCols<Lanes256, Vector256<float>>(row, BackCandidateCols<Lanes512, Vector512<float>>(row, 0, ref carry, ref dhd, ref mhr, ref dy, ref hp, ref gr, ref dr), ref carry, ref dhd, ref mhr, ref dy, ref hp, ref gr, ref dr),
            LaneWidth.Vector256 => BackCandidateCols<Lanes256, Vector256<float>>(row, 0, ref carry, ref dhd, ref mhr, ref dy, ref hp, ref gr, ref dr),
            _ => 0,
        };
        BackCandidateCols<Lanes1, float>(row, j, ref carry, ref dhd, ref mhr, ref dy, ref hp, ref gr, ref dr);
    }

    /// <summary>
    /// reset_after = false, second pass, from drh = d(r ⊙ hd): dr~ = drh ⊙ hd ⊙ σ'(r) into dRec's
    /// r block, and carry += drh ⊙ r ⊙ m_h (the path of h_{t−1} through r ⊙ hd).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BackwardReset(in CellRow row, ref float carry, ref float drh, ref float mhr, ref float hdr, ref float gr, ref float dr)
    {
        int j = row.Width switch
        {
            LaneWidth.Vector512 => BackResetCols<Lanes256, Vector256<float>>(row, BackResetCols<Lanes512, Vector512<float>>(row, 0, ref carry, ref drh, ref mhr, ref hdr, ref gr, ref dr), ref carry, ref drh, ref mhr, ref hdr, ref gr, ref dr),
            LaneWidth.Vector256 => BackResetCols<Lanes256, Vector256<float>>(row, 0, ref carry, ref drh, ref mhr, ref hdr, ref gr, ref dr),
            _ => 0,
        };
        BackResetCols<Lanes1, float>(row, j, ref carry, ref drh, ref mhr, ref hdr, ref gr, ref dr);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ResetAfterCols<TL, TV>(in CellRow row, int j, ref float xr, ref float rr, ref float bx, ref float bq, ref float hp, ref float gr, ref float qr, ref float hr)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        int u = row.Units;
        var rec = row.RecurrentActivation;
        var act = row.Activation;
        for (; j <= u - TL.Count; j += TL.Count)
        {
            int jr = u + j, jh = (2 * u) + j;
            var z = TL.Activate(rec, TL.Add(TL.Add(TL.Load(ref Unsafe.Add(ref xr, j)), TL.Load(ref Unsafe.Add(ref rr, j))), TL.Load(ref Unsafe.Add(ref bx, j))));
            var r = TL.Activate(rec, TL.Add(TL.Add(TL.Load(ref Unsafe.Add(ref xr, jr)), TL.Load(ref Unsafe.Add(ref rr, jr))), TL.Load(ref Unsafe.Add(ref bx, jr))));
            var q = TL.Add(TL.Load(ref Unsafe.Add(ref rr, jh)), TL.Load(ref Unsafe.Add(ref bq, j)));
            var c = TL.Activate(act, TL.Fma(r, q, TL.Add(TL.Load(ref Unsafe.Add(ref xr, jh)), TL.Load(ref Unsafe.Add(ref bx, jh)))));
            var hPrev = TL.Load(ref Unsafe.Add(ref hp, j));
            var h = TL.Fma(z, TL.Sub(hPrev, c), c);
            TL.Store(z, ref Unsafe.Add(ref gr, j));
            TL.Store(r, ref Unsafe.Add(ref gr, jr));
            TL.Store(c, ref Unsafe.Add(ref gr, jh));
            TL.Store(q, ref Unsafe.Add(ref qr, j));
            TL.Store(h, ref Unsafe.Add(ref hr, j));
        }

        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int GatesCols<TL, TV>(in CellRow row, int j, ref float xr, ref float rr, ref float bx, ref float hdr, ref float gr, ref float rhr)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        int u = row.Units;
        var rec = row.RecurrentActivation;
        for (; j <= u - TL.Count; j += TL.Count)
        {
            int jr = u + j;
            var z = TL.Activate(rec, TL.Add(TL.Add(TL.Load(ref Unsafe.Add(ref xr, j)), TL.Load(ref Unsafe.Add(ref rr, j))), TL.Load(ref Unsafe.Add(ref bx, j))));
            var r = TL.Activate(rec, TL.Add(TL.Add(TL.Load(ref Unsafe.Add(ref xr, jr)), TL.Load(ref Unsafe.Add(ref rr, jr))), TL.Load(ref Unsafe.Add(ref bx, jr))));
            TL.Store(z, ref Unsafe.Add(ref gr, j));
            TL.Store(r, ref Unsafe.Add(ref gr, jr));
            TL.Store(TL.Mul(r, TL.Load(ref Unsafe.Add(ref hdr, j))), ref Unsafe.Add(ref rhr, j));
        }

        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CandidateCols<TL, TV>(in CellRow row, int j, ref float xr, ref float rr, ref float bx, ref float hp, ref float gr, ref float hr)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        int u = row.Units;
        var act = row.Activation;
        for (; j <= u - TL.Count; j += TL.Count)
        {
            int jh = (2 * u) + j;
            var z = TL.Load(ref Unsafe.Add(ref gr, j));
            var c = TL.Activate(act, TL.Add(TL.Add(TL.Load(ref Unsafe.Add(ref xr, jh)), TL.Load(ref Unsafe.Add(ref rr, jh))), TL.Load(ref Unsafe.Add(ref bx, jh))));
            var h = TL.Fma(z, TL.Sub(TL.Load(ref Unsafe.Add(ref hp, j)), c), c);
            TL.Store(c, ref Unsafe.Add(ref gr, jh));
            TL.Store(h, ref Unsafe.Add(ref hr, j));
        }

        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BackResetAfterCols<TL, TV>(in CellRow row, int j, ref float carry, ref float dhd, ref float mhr, ref float dy, ref float hp, ref float gr, ref float qr, ref float dr, ref float dah)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        int u = row.Units;
        var rec = row.RecurrentActivation;
        var act = row.Activation;
        var one = TL.Broadcast(1f);
        for (; j <= u - TL.Count; j += TL.Count)
        {
            int jr = u + j, jh = (2 * u) + j;
            var dh = RnnRun.TotalDh<TL, TV>(j, ref carry, ref dhd, ref mhr, ref dy);
            var z = TL.Load(ref Unsafe.Add(ref gr, j));
            var r = TL.Load(ref Unsafe.Add(ref gr, jr));
            var c = TL.Load(ref Unsafe.Add(ref gr, jh));
            var q = TL.Load(ref Unsafe.Add(ref qr, j));
            var dz = TL.Mul(TL.Mul(dh, TL.Sub(TL.Load(ref Unsafe.Add(ref hp, j)), c)), TL.DerivativeFromOutput(rec, z));
            var dc = TL.Mul(TL.Mul(dh, TL.Sub(one, z)), TL.DerivativeFromOutput(act, c));
            var drr = TL.Mul(TL.Mul(dc, q), TL.DerivativeFromOutput(rec, r));
            TL.Store(dz, ref Unsafe.Add(ref dr, j));
            TL.Store(drr, ref Unsafe.Add(ref dr, jr));
            TL.Store(TL.Mul(dc, r), ref Unsafe.Add(ref dr, jh));
            TL.Store(dc, ref Unsafe.Add(ref dah, j));
            TL.Store(TL.Mul(dh, z), ref Unsafe.Add(ref carry, j));
        }

        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BackCandidateCols<TL, TV>(in CellRow row, int j, ref float carry, ref float dhd, ref float mhr, ref float dy, ref float hp, ref float gr, ref float dr)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        int u = row.Units;
        var rec = row.RecurrentActivation;
        var act = row.Activation;
        var one = TL.Broadcast(1f);
        for (; j <= u - TL.Count; j += TL.Count)
        {
            int jh = (2 * u) + j;
            var dh = RnnRun.TotalDh<TL, TV>(j, ref carry, ref dhd, ref mhr, ref dy);
            var z = TL.Load(ref Unsafe.Add(ref gr, j));
            var c = TL.Load(ref Unsafe.Add(ref gr, jh));
            var dz = TL.Mul(TL.Mul(dh, TL.Sub(TL.Load(ref Unsafe.Add(ref hp, j)), c)), TL.DerivativeFromOutput(rec, z));
            var dc = TL.Mul(TL.Mul(dh, TL.Sub(one, z)), TL.DerivativeFromOutput(act, c));
            TL.Store(dz, ref Unsafe.Add(ref dr, j));
            TL.Store(dc, ref Unsafe.Add(ref dr, jh));
            TL.Store(TL.Mul(dh, z), ref Unsafe.Add(ref carry, j));
        }

        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BackResetCols<TL, TV>(in CellRow row, int j, ref float carry, ref float drh, ref float mhr, ref float hdr, ref float gr, ref float dr)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        int u = row.Units;
        var rec = row.RecurrentActivation;
        for (; j <= u - TL.Count; j += TL.Count)
        {
            int jr = u + j;
            var d = TL.Load(ref Unsafe.Add(ref drh, j));
            var r = TL.Load(ref Unsafe.Add(ref gr, jr));
            var dRr = TL.Mul(TL.Mul(d, TL.Load(ref Unsafe.Add(ref hdr, j))), TL.DerivativeFromOutput(rec, r));
            TL.Store(dRr, ref Unsafe.Add(ref dr, jr));
            TL.Store(TL.Fma(TL.Mul(d, r), TL.Load(ref Unsafe.Add(ref mhr, j)), TL.Load(ref Unsafe.Add(ref carry, j))), ref Unsafe.Add(ref carry, j));
        }

        return j;
    }
}
