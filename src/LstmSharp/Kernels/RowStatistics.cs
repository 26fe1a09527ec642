using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LstmSharp.Kernels;

/// <summary>
/// Sums over a row that give the same bits at every SIMD width (the normalisations'
/// statistics): the row is read as blocks of 16 values; lane l adds v[l], v[16 + l], v[32 + l], …
/// in order (one Vector512, two Vector256 or sixteen scalar accumulators hold the 16 lane sums);
/// then the lane sums are folded in halves (p[l] + p[l + 8], then + 4, + 2, + 1: a fixed tree), then
/// the tail v[16⌊n/16⌋..n) is added one by one.
/// The scalar width (<see cref="LaneWidth.Scalar"/>) is the twin the vector widths are held to.
/// </summary>
internal static class RowStatistics
{
    private const int Block = 16;

    /// <summary>Σ v.</summary>
    public static float Sum(ReadOnlySpan<float> v, LaneWidth width = LaneWidth.Auto) =>
        Reduce<Plain>(v, v, 0f, width);

    /// <summary>Σ (v − mean)², each term rounded as (v − mean)·(v − mean).</summary>
    public static float SquaredDeviations(ReadOnlySpan<float> v, float mean, LaneWidth width = LaneWidth.Auto) =>
        Reduce<SquaredDeviation>(v, v, mean, width);

    /// <summary>Σ a ⊙ b (same length).</summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b, LaneWidth width = LaneWidth.Auto) =>
        Reduce<Product>(a, b[..a.Length], 0f, width);

    private static float Reduce<T>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float parameter, LaneWidth width)
        where T : struct, ITerm
    {
        int n = a.Length, blocks = n / Block * Block;
        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float br = ref MemoryMarshal.GetReference(b);
        float sum;
        if (width is LaneWidth.Auto or LaneWidth.Vector512 && Lanes512.IsAccelerated)
        {
            var acc = Vector512<float>.Zero;
            for (int j = 0; j < blocks; j += Block)
            {
                acc += T.Of<Lanes512, Vector512<float>>(ref ar, ref br, j, parameter);
            }

            sum = Fold(acc.GetLower() + acc.GetUpper());
        }
        else if (width != LaneWidth.Scalar && Lanes256.IsAccelerated)
        {
            Vector256<float> lo = Vector256<float>.Zero, hi = Vector256<float>.Zero;
            for (int j = 0; j < blocks; j += Block)
            {
                lo += T.Of<Lanes256, Vector256<float>>(ref ar, ref br, j, parameter);
                hi += T.Of<Lanes256, Vector256<float>>(ref ar, ref br, j + 8, parameter);
            }

            sum = Fold(lo + hi);
        }
        else
        {
            Span<float> lanes = stackalloc float[Block];
            lanes.Clear();
            for (int j = 0; j < blocks; j += Block)
            {
                for (int l = 0; l < Block; l++)
                {
                    lanes[l] += T.Of<Lanes1, float>(ref ar, ref br, j + l, parameter);
                }
            }

            Span<float> half = stackalloc float[8];
            for (int l = 0; l < 8; l++)
            {
                half[l] = lanes[l] + lanes[l + 8];
            }

            float b0 = half[0] + half[4], b1 = half[1] + half[5], b2 = half[2] + half[6], b3 = half[3] + half[7];
            sum = (b0 + b2) + (b1 + b3);
        }

        for (int j = blocks; j < n; j++)
        {
            sum += T.Of<Lanes1, float>(ref ar, ref br, j, parameter);
        }

        return sum;
    }

    /// <summary>
    /// The lane sums folded in halves (the order the scalar twin spells out): a[l] = p[l] + p[l + 8]
    /// is the argument, then b[l] = a[l] + a[l + 4], then (b0 + b2) + (b1 + b3).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Fold(Vector256<float> a)
    {
        var q = a.GetLower() + a.GetUpper();
        return (q.GetElement(0) + q.GetElement(2)) + (q.GetElement(1) + q.GetElement(3));
    }

    /// <summary>The term summed at elements [j, j + TL.Count).</summary>
    private interface ITerm
    {
        static abstract TV Of<TL, TV>(ref float a, ref float b, int j, float parameter)
            where TL : struct, ILanes<TV>
            where TV : struct;
    }

    private readonly struct Plain : ITerm
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Of<TL, TV>(ref float a, ref float b, int j, float parameter)
            where TL : struct, ILanes<TV>
            where TV : struct => TL.Load(ref a, j);
    }

    private readonly struct SquaredDeviation : ITerm
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Of<TL, TV>(ref float a, ref float b, int j, float parameter)
            where TL : struct, ILanes<TV>
            where TV : struct
        {
            var d = TL.Sub(TL.Load(ref a, j), TL.Broadcast(parameter));
            return TL.Mul(d, d);
        }
    }

    private readonly struct Product : ITerm
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Of<TL, TV>(ref float a, ref float b, int j, float parameter)
            where TL : struct, ILanes<TV>
            where TV : struct => TL.Mul(TL.Load(ref a, j), TL.Load(ref b, j));
    }
}
