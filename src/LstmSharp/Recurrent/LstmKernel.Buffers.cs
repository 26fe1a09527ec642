using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace LstmSharp.Recurrent;

// LstmKernel's memory: the scratch and state buffers of one call (grown, never shrunk, so a warm
// kernel allocates nothing) and the prefetch of the next step's rows.
internal sealed partial class LstmKernel
{
    private float[] zScratch = [];
    private float[] xScratch = [];
    private float[] hState = [];
    private float[] cState = [];
    private float[] yState = [];
    private float[] gState = [];
    private float[] hpScratch = [];
    private float[] gpScratch = [];
    private float[] dhState = [];
    private float[] dcState = [];
    private float[] dgState = [];
    private float[] dhRec = [];
    private float[] dgRec = [];
    private float[] dyCarry = [];
    private float[] dhTotal = [];
    private float[] uTransposed = [];
    private float[] wTransposed = [];
    private float[] tableProjection = [];
    private float[] tableScatter = [];
    private float[] projected = [];
    private float[] unprojected = [];
    private float[] dUnprojected = [];

    /// <summary>
    /// Widest gate row (G·units floats) whose next-step lines the time loops prefetch: short rows
    /// scatter one stream per row that the hardware prefetcher misses; a long row is a run of its
    /// own the hardware follows, and prefetching many of them a step ahead only evicts lines
    /// (measurements in bench/README.md).
    /// </summary>
    internal const int PrefetchMaxGateWidth = 64;

    /// <summary>
    /// Asks for the cache lines of <paramref name="span"/>[start, start + count) ahead of use;
    /// nothing without SSE or outside the span. A prefetch reads nothing and cannot fault.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch(ReadOnlySpan<float> span, int start, int count)
    {
        if (!Sse.IsSupported || count <= 0 || (uint)start >= (uint)span.Length || count > span.Length - start)
        {
            return;
        }

        fixed (float* p = &span[start])
        {
            byte* first = (byte*)p, last = (byte*)(p + count - 1);
            for (byte* line = first; line <= last; line += 64)
            {
                Sse.Prefetch0(line);
            }

            Sse.Prefetch0(last);
        }
    }

    private static Span<float> Scratch(ref float[] buffer, int length)
    {
        LstmCache.Grow(ref buffer, length);
        return buffer.AsSpan(0, length);
    }
}
