using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// Batch-1 inference of an LSTM, split by units over the pool's threads for the whole time
/// loop (a latency path: one sequence, nothing saved for a backward).
/// </summary>
/// <remarks>
/// <para>At batch 1 a step is a matrix-vector product h_{t−1}·U (U is 256 KB for 128 units:
/// larger than L1, smaller than one core's L2) plus the cell of every unit. A fork-join per
/// step costs more than the step, so instead the units are cut into P parts (one per thread,
/// at least <see cref="MinPartUnits"/> units each) once per call, and part k — its columns of
/// every gate block i, f, c~, o and its units' cell — is one task per step: task (s, k) adds
/// h_{s−1}·U over its columns to b + x_t·W, runs the cell for its units, publishes its slice of
/// h_s and raises its own step counter. A thread keeps to the same part step after step, so
/// each core streams the same share of U from its own L2.</para>
/// <para>Step 0 of each part first computes b + x_t·W for every t (W's part packed, four steps
/// per pass over it), then its h·U product reads U's part straight from U and stores it into a
/// contiguous panel as it goes (row r holds the part's i, f, c~, o columns one after the other):
/// later steps stream one contiguous block instead of G strided ones, ~20% faster from L2. The
/// panels are rebuilt on every call: the weights carry no version to tell when they changed.</para>
/// <para>Deadlock-free for any number of threads, one included (the pool runs jobs inline when
/// it is busy or has one thread): task (s, k) is claimed only once every task of step s − 1 is
/// claimed, a claimed task always runs to the end, and it waits (spinning) only for the tasks of
/// step s − 1, which depend only on step s − 2, and so on down to step 0. A lone thread claims
/// them all in order and never waits. The counters and the slices of h each have their own
/// cache lines.</para>
/// <para>The results do not depend on the thread count or on the part sizes: every gate column
/// is one chain of fused multiply-adds — b, then x_t's rows in order, then h's rows forwards on
/// even steps and backwards on odd ones (the end of a step's stream is still in L1 when the
/// next step starts) — at every vector width and in the scalar twin, and the cell is
/// <see cref="LstmCell"/>'s. They differ from the general path's only in summation order.</para>
/// <para>Used by <see cref="LstmKernel.Forward"/> when the kernel's <c>UseLatencyPath</c> is set (see
/// <see cref="Enabled"/>) and <see cref="Supports"/> holds: inference
/// (no cache), batch 1, no mask, no dropout masks, no peepholes, no full gate recurrence. Every
/// other variant (gates left out, coupled gates, activations) and option (go_backwards, initial
/// states, sequence output) is handled here.</para>
/// </remarks>
internal sealed unsafe class LstmLatencyPath
{
    /// <summary>Fewer units than this per part are not worth a thread.</summary>
    internal const int DefaultMinPartUnits = 32;

    // A test's override, for the thread that sets it only (read on the calling thread).
    [ThreadStatic]
    private static int? t_minPartUnits;

    /// <summary><see cref="DefaultMinPartUnits"/>, or what the calling thread set (tests lower it to split small layers).</summary>
    internal static int MinPartUnits
    {
        get => t_minPartUnits ?? DefaultMinPartUnits;
        set => t_minPartUnits = value;
    }

    /// <summary>
    /// Whether new kernels use this path (<c>LSTMSHARP_LATENCY_PATH=0</c> turns it off, e.g. to
    /// measure the general path). Its threads run in lockstep: a thread that loses its core
    /// (another process, or libtorch's OpenMP worker spinning after a call in the same process)
    /// stalls the other.
    /// </summary>
    internal static readonly bool Enabled = Environment.GetEnvironmentVariable("LSTMSHARP_LATENCY_PATH") != "0";


    private const int LineFloats = 16;
    private const int CounterStride = 32; // ints: 128 bytes, also past the adjacent-line prefetcher

    private readonly LstmLayout layout;
    private int[] counters = [];
    private LstmLayout[] partLayouts = [];
    private int[] partStart = [];
    private float[][] partZ = [];
    private float[][] partU = [];
    private float[][] partW = [];
    private float[] state = [];
    private int stateBase;
    private int hStride;

    // The products' SIMD width, resolved once (tests pin Scalar to hold the vector paths to it).
    private readonly LaneWidth width;

    public LstmLatencyPath(LstmLayout layout, LaneWidth width = LaneWidth.Auto)
    {
        this.layout = layout;
        this.width = LaneWidths.Resolve(width);
    }

    /// <summary>Whether this path computes <paramref name="run"/> (else the general path does).</summary>
    internal static bool Supports(LstmLayout layout, in SequenceRun run, bool training) =>
        !training && run.Batch == 1 && !run.HasMask && run.InputDropoutMask.IsEmpty && run.RecurrentDropoutMask.IsEmpty
        && !layout.HasPeepholes && !layout.HasGateRecurrence;

    /// <summary>Runs the sequence; the caller validated every length.</summary>
    public void Forward(in SequenceRun run, in LstmWeights weights, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, in LstmOutputs outputs)
    {
        int units = layout.Units;
        int parts = Math.Min(WorkerPool.Shared.ThreadCount, Math.Max(1, units / Math.Max(1, MinPartUnits)));
        Prepare(parts, run.Time);
        parts = partLayouts.Length;

        // h_{−1} lives in the odd buffer (step s reads buffer (s − 1) & 1 and writes s & 1).
        var hInit = H(1);
        var c = C();
        if (h0.IsEmpty) hInit.Clear(); else h0.CopyTo(hInit);
        if (c0.IsEmpty) c.Clear(); else c0.CopyTo(c);
        for (int k = 0; k < parts; k++)
        {
            Volatile.Write(ref Next(k), 0);
            Volatile.Write(ref StepsDone(k), 0);
        }

        var job = new Job(this, run, weights, outputs.Sequence);
        if (parts == 1) job.Execute(0);
        else WorkerPool.Shared.For(parts, job);

        var hLast = H((run.Time - 1) & 1);
        if (!outputs.Last.IsEmpty) hLast.CopyTo(outputs.Last);
        if (!outputs.H.IsEmpty) hLast.CopyTo(outputs.H);
        if (!outputs.C.IsEmpty) c.CopyTo(outputs.C);
    }

    /// <summary>
    /// <see cref="MultiplyAdd"/> over the <paramref name="gates"/> column blocks of a part:
    /// block g is columns [g·stride, g·stride + n) of m and [g·n, g·n + n) of acc. Four blocks of
    /// 64 columns at once where it can (16 accumulators, 16 cache lines in flight per row), which
    /// keeps enough loads outstanding to stream m from L2; the same bits as one block at a time.
    /// </summary>
    internal static void MultiplyAddGates(ReadOnlySpan<float> a, ref float m, int ld, int stride, Span<float> acc, int n, int gates, LaneWidth width, bool reverse = false)
    {
        int j = 0;
        if (gates == 4 && width == LaneWidth.Vector512)
        {
            ref float ar = ref MemoryMarshal.GetReference(a);
            ref float cr = ref MemoryMarshal.GetReference(acc);
            int rows = a.Length, r0 = reverse ? rows - 1 : 0, dr = reverse ? -1 : 1;
            nint st = stride;
            for (; j + 64 <= n; j += 64)
            {
                ref float m0 = ref Unsafe.Add(ref m, j);
                ref float a0 = ref Unsafe.Add(ref cr, j);
                ref float a1 = ref Unsafe.Add(ref a0, n);
                ref float a2 = ref Unsafe.Add(ref a1, n);
                ref float a3 = ref Unsafe.Add(ref a2, n);
                var c00 = Vector512.LoadUnsafe(ref a0);
                var c01 = Vector512.LoadUnsafe(ref a0, 16);
                var c02 = Vector512.LoadUnsafe(ref a0, 32);
                var c03 = Vector512.LoadUnsafe(ref a0, 48);
                var c10 = Vector512.LoadUnsafe(ref a1);
                var c11 = Vector512.LoadUnsafe(ref a1, 16);
                var c12 = Vector512.LoadUnsafe(ref a1, 32);
                var c13 = Vector512.LoadUnsafe(ref a1, 48);
                var c20 = Vector512.LoadUnsafe(ref a2);
                var c21 = Vector512.LoadUnsafe(ref a2, 16);
                var c22 = Vector512.LoadUnsafe(ref a2, 32);
                var c23 = Vector512.LoadUnsafe(ref a2, 48);
                var c30 = Vector512.LoadUnsafe(ref a3);
                var c31 = Vector512.LoadUnsafe(ref a3, 16);
                var c32 = Vector512.LoadUnsafe(ref a3, 32);
                var c33 = Vector512.LoadUnsafe(ref a3, 48);
                for (int i = 0, r = r0; i < rows; i++, r += dr)
                {
                    var x = Vector512.Create(Unsafe.Add(ref ar, r));
                    ref float p0 = ref Unsafe.Add(ref m0, (nint)r * ld);
                    ref float p1 = ref Unsafe.Add(ref p0, st);
                    ref float p2 = ref Unsafe.Add(ref p1, st);
                    ref float p3 = ref Unsafe.Add(ref p2, st);
                    c00 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p0), c00);
                    c01 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p0, 16), c01);
                    c02 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p0, 32), c02);
                    c03 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p0, 48), c03);
                    c10 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p1), c10);
                    c11 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p1, 16), c11);
                    c12 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p1, 32), c12);
                    c13 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p1, 48), c13);
                    c20 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p2), c20);
                    c21 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p2, 16), c21);
                    c22 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p2, 32), c22);
                    c23 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p2, 48), c23);
                    c30 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p3), c30);
                    c31 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p3, 16), c31);
                    c32 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p3, 32), c32);
                    c33 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p3, 48), c33);
                }

                c00.StoreUnsafe(ref a0);
                c01.StoreUnsafe(ref a0, 16);
                c02.StoreUnsafe(ref a0, 32);
                c03.StoreUnsafe(ref a0, 48);
                c10.StoreUnsafe(ref a1);
                c11.StoreUnsafe(ref a1, 16);
                c12.StoreUnsafe(ref a1, 32);
                c13.StoreUnsafe(ref a1, 48);
                c20.StoreUnsafe(ref a2);
                c21.StoreUnsafe(ref a2, 16);
                c22.StoreUnsafe(ref a2, 32);
                c23.StoreUnsafe(ref a2, 48);
                c30.StoreUnsafe(ref a3);
                c31.StoreUnsafe(ref a3, 16);
                c32.StoreUnsafe(ref a3, 32);
                c33.StoreUnsafe(ref a3, 48);
            }
        }

        if (j < n)
        {
            for (int g = 0; g < gates; g++)
            {
                MultiplyAdd(a, ref Unsafe.Add(ref m, (g * stride) + j), ld, acc.Slice((g * n) + j, n - j), n - j, width, reverse);
            }
        }
    }

    /// <summary>
    /// Step 0's <see cref="MultiplyAddGates"/> straight from U (4 gate blocks, n a multiple of 64,
    /// rows forwards), storing every vector it loads into the part's panel [rows, 4·n] as well:
    /// the packing costs stores only, not a second pass over U. The same bits.
    /// </summary>
    private static void MultiplyAddGatesAndPack(ReadOnlySpan<float> a, ref float m, int ld, int stride, Span<float> acc, int n, Span<float> panel)
    {
        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float cr = ref MemoryMarshal.GetReference(acc);
        ref float pk = ref MemoryMarshal.GetReference(panel);
        int rows = a.Length, pw = 4 * n;
        nint st = stride;
        for (int j = 0; j + 64 <= n; j += 64)
        {
            ref float m0 = ref Unsafe.Add(ref m, j);
            ref float a0 = ref Unsafe.Add(ref cr, j);
            ref float a1 = ref Unsafe.Add(ref a0, n);
            ref float a2 = ref Unsafe.Add(ref a1, n);
            ref float a3 = ref Unsafe.Add(ref a2, n);
            var c00 = Vector512.LoadUnsafe(ref a0);
            var c01 = Vector512.LoadUnsafe(ref a0, 16);
            var c02 = Vector512.LoadUnsafe(ref a0, 32);
            var c03 = Vector512.LoadUnsafe(ref a0, 48);
            var c10 = Vector512.LoadUnsafe(ref a1);
            var c11 = Vector512.LoadUnsafe(ref a1, 16);
            var c12 = Vector512.LoadUnsafe(ref a1, 32);
            var c13 = Vector512.LoadUnsafe(ref a1, 48);
            var c20 = Vector512.LoadUnsafe(ref a2);
            var c21 = Vector512.LoadUnsafe(ref a2, 16);
            var c22 = Vector512.LoadUnsafe(ref a2, 32);
            var c23 = Vector512.LoadUnsafe(ref a2, 48);
            var c30 = Vector512.LoadUnsafe(ref a3);
            var c31 = Vector512.LoadUnsafe(ref a3, 16);
            var c32 = Vector512.LoadUnsafe(ref a3, 32);
            var c33 = Vector512.LoadUnsafe(ref a3, 48);
            for (int r = 0; r < rows; r++)
            {
                var x = Vector512.Create(Unsafe.Add(ref ar, r));
                ref float p0 = ref Unsafe.Add(ref m0, (nint)r * ld);
                ref float p1 = ref Unsafe.Add(ref p0, st);
                ref float p2 = ref Unsafe.Add(ref p1, st);
                ref float p3 = ref Unsafe.Add(ref p2, st);
                ref float q0 = ref Unsafe.Add(ref pk, ((nint)r * pw) + j);
                ref float q1 = ref Unsafe.Add(ref q0, n);
                ref float q2 = ref Unsafe.Add(ref q1, n);
                ref float q3 = ref Unsafe.Add(ref q2, n);
                var u00 = Vector512.LoadUnsafe(ref p0);
                u00.StoreUnsafe(ref q0);
                c00 = Vector512.FusedMultiplyAdd(x, u00, c00);
                var u01 = Vector512.LoadUnsafe(ref p0, 16);
                u01.StoreUnsafe(ref q0, (nuint)16);
                c01 = Vector512.FusedMultiplyAdd(x, u01, c01);
                var u02 = Vector512.LoadUnsafe(ref p0, 32);
                u02.StoreUnsafe(ref q0, (nuint)32);
                c02 = Vector512.FusedMultiplyAdd(x, u02, c02);
                var u03 = Vector512.LoadUnsafe(ref p0, 48);
                u03.StoreUnsafe(ref q0, (nuint)48);
                c03 = Vector512.FusedMultiplyAdd(x, u03, c03);
                var u10 = Vector512.LoadUnsafe(ref p1);
                u10.StoreUnsafe(ref q1);
                c10 = Vector512.FusedMultiplyAdd(x, u10, c10);
                var u11 = Vector512.LoadUnsafe(ref p1, 16);
                u11.StoreUnsafe(ref q1, (nuint)16);
                c11 = Vector512.FusedMultiplyAdd(x, u11, c11);
                var u12 = Vector512.LoadUnsafe(ref p1, 32);
                u12.StoreUnsafe(ref q1, (nuint)32);
                c12 = Vector512.FusedMultiplyAdd(x, u12, c12);
                var u13 = Vector512.LoadUnsafe(ref p1, 48);
                u13.StoreUnsafe(ref q1, (nuint)48);
                c13 = Vector512.FusedMultiplyAdd(x, u13, c13);
                var u20 = Vector512.LoadUnsafe(ref p2);
                u20.StoreUnsafe(ref q2);
                c20 = Vector512.FusedMultiplyAdd(x, u20, c20);
                var u21 = Vector512.LoadUnsafe(ref p2, 16);
                u21.StoreUnsafe(ref q2, (nuint)16);
                c21 = Vector512.FusedMultiplyAdd(x, u21, c21);
                var u22 = Vector512.LoadUnsafe(ref p2, 32);
                u22.StoreUnsafe(ref q2, (nuint)32);
                c22 = Vector512.FusedMultiplyAdd(x, u22, c22);
                var u23 = Vector512.LoadUnsafe(ref p2, 48);
                u23.StoreUnsafe(ref q2, (nuint)48);
                c23 = Vector512.FusedMultiplyAdd(x, u23, c23);
                var u30 = Vector512.LoadUnsafe(ref p3);
                u30.StoreUnsafe(ref q3);
                c30 = Vector512.FusedMultiplyAdd(x, u30, c30);
                var u31 = Vector512.LoadUnsafe(ref p3, 16);
                u31.StoreUnsafe(ref q3, (nuint)16);
                c31 = Vector512.FusedMultiplyAdd(x, u31, c31);
                var u32 = Vector512.LoadUnsafe(ref p3, 32);
                u32.StoreUnsafe(ref q3, (nuint)32);
                c32 = Vector512.FusedMultiplyAdd(x, u32, c32);
                var u33 = Vector512.LoadUnsafe(ref p3, 48);
                u33.StoreUnsafe(ref q3, (nuint)48);
                c33 = Vector512.FusedMultiplyAdd(x, u33, c33);
            }

            c00.StoreUnsafe(ref a0);
            c01.StoreUnsafe(ref a0, (nuint)16);
            c02.StoreUnsafe(ref a0, (nuint)32);
            c03.StoreUnsafe(ref a0, (nuint)48);
            c10.StoreUnsafe(ref a1);
            c11.StoreUnsafe(ref a1, (nuint)16);
            c12.StoreUnsafe(ref a1, (nuint)32);
            c13.StoreUnsafe(ref a1, (nuint)48);
            c20.StoreUnsafe(ref a2);
            c21.StoreUnsafe(ref a2, (nuint)16);
            c22.StoreUnsafe(ref a2, (nuint)32);
            c23.StoreUnsafe(ref a2, (nuint)48);
            c30.StoreUnsafe(ref a3);
            c31.StoreUnsafe(ref a3, (nuint)16);
            c32.StoreUnsafe(ref a3, (nuint)32);
            c33.StoreUnsafe(ref a3, (nuint)48);
        }
    }

    /// <summary>
    /// acc[j] = fma(a[r], m[r·ld + j], acc[j]) for r = 0, 1, … in order, for j in [0, n): one
    /// chain per column, so every width gives the scalar loop's bits.
    /// </summary>
    internal static void MultiplyAdd(ReadOnlySpan<float> a, ref float m, int ld, Span<float> acc, int n, LaneWidth width, bool reverse = false)
    {
        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float cr = ref MemoryMarshal.GetReference(acc);
        int rows = a.Length, r0 = reverse ? rows - 1 : 0, dr = reverse ? -1 : 1;
        int j = 0;
        if (width == LaneWidth.Vector512)
        {
            for (; j + 64 <= n; j += 64)
            {
                ref float mj = ref Unsafe.Add(ref m, j);
                var c0 = Vector512.LoadUnsafe(ref cr, (nuint)j);
                var c1 = Vector512.LoadUnsafe(ref cr, (nuint)(j + 16));
                var c2 = Vector512.LoadUnsafe(ref cr, (nuint)(j + 32));
                var c3 = Vector512.LoadUnsafe(ref cr, (nuint)(j + 48));
                for (int i = 0, r = r0; i < rows; i++, r += dr)
                {
                    var x = Vector512.Create(Unsafe.Add(ref ar, r));
                    ref float row = ref Unsafe.Add(ref mj, (nint)r * ld);
                    c0 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref row), c0);
                    c1 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref row, 16), c1);
                    c2 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref row, 32), c2);
                    c3 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref row, 48), c3);
                }

                c0.StoreUnsafe(ref cr, (nuint)j);
                c1.StoreUnsafe(ref cr, (nuint)(j + 16));
                c2.StoreUnsafe(ref cr, (nuint)(j + 32));
                c3.StoreUnsafe(ref cr, (nuint)(j + 48));
            }

            for (; j + 16 <= n; j += 16)
            {
                ref float mj = ref Unsafe.Add(ref m, j);
                var c0 = Vector512.LoadUnsafe(ref cr, (nuint)j);
                for (int i = 0, r = r0; i < rows; i++, r += dr)
                {
                    c0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref ar, r)), Vector512.LoadUnsafe(ref Unsafe.Add(ref mj, (nint)r * ld)), c0);
                }

                c0.StoreUnsafe(ref cr, (nuint)j);
            }
        }

        if (width != LaneWidth.Scalar)
        {
            for (; j + 32 <= n; j += 32)
            {
                ref float mj = ref Unsafe.Add(ref m, j);
                var c0 = Vector256.LoadUnsafe(ref cr, (nuint)j);
                var c1 = Vector256.LoadUnsafe(ref cr, (nuint)(j + 8));
                var c2 = Vector256.LoadUnsafe(ref cr, (nuint)(j + 16));
                var c3 = Vector256.LoadUnsafe(ref cr, (nuint)(j + 24));
                for (int i = 0, r = r0; i < rows; i++, r += dr)
                {
                    var x = Vector256.Create(Unsafe.Add(ref ar, r));
                    ref float row = ref Unsafe.Add(ref mj, (nint)r * ld);
                    c0 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref row), c0);
                    c1 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref row, 8), c1);
                    c2 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref row, 16), c2);
                    c3 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref row, 24), c3);
                }

                c0.StoreUnsafe(ref cr, (nuint)j);
                c1.StoreUnsafe(ref cr, (nuint)(j + 8));
                c2.StoreUnsafe(ref cr, (nuint)(j + 16));
                c3.StoreUnsafe(ref cr, (nuint)(j + 24));
            }

            for (; j + 8 <= n; j += 8)
            {
                ref float mj = ref Unsafe.Add(ref m, j);
                var c0 = Vector256.LoadUnsafe(ref cr, (nuint)j);
                for (int i = 0, r = r0; i < rows; i++, r += dr)
                {
                    c0 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref ar, r)), Vector256.LoadUnsafe(ref Unsafe.Add(ref mj, (nint)r * ld)), c0);
                }

                c0.StoreUnsafe(ref cr, (nuint)j);
            }
        }

        for (; j < n; j++)
        {
            ref float mj = ref Unsafe.Add(ref m, j);
            float s = Unsafe.Add(ref cr, j);
            for (int i = 0, r = r0; i < rows; i++, r += dr)
            {
                s = MathF.FusedMultiplyAdd(Unsafe.Add(ref ar, r), Unsafe.Add(ref mj, (nint)r * ld), s);
            }

            Unsafe.Add(ref cr, j) = s;
        }
    }

    /// <summary>Cuts the units into <paramref name="parts"/> slices of whole cache lines (the last takes the rest) and sizes the buffers.</summary>
    private void Prepare(int parts, int time)
    {
        int units = layout.Units;
        int size = (((units + parts - 1) / parts) + LineFloats - 1) / LineFloats * LineFloats;
        parts = (units + size - 1) / size;
        if (partLayouts.Length != parts)
        {
            partLayouts = new LstmLayout[parts];
            partStart = new int[parts + 1];
            partZ = new float[parts][];
            partU = new float[parts][];
            partW = new float[parts][];
            for (int k = 0; k < parts; k++)
            {
                int u0 = k * size, n = Math.Min(size, units - u0);
                partStart[k] = u0;
                partLayouts[k] = new LstmLayout(layout.Variant, layout.InputSize, n, layout.UseBias);
            }

            partStart[parts] = units;
        }

        for (int k = 0; k < parts; k++)
        {
            // Padded both sides: another part's buffer never shares a line with this one.
            int length = (time * layout.GateCount * partLayouts[k].Units) + (2 * LineFloats);
            if (partZ[k] is null || partZ[k].Length < length)
            {
                partZ[k] = new float[length];
            }

            int pw = layout.GateCount * partLayouts[k].Units;
            partU[k] ??= new float[(units * pw) + (2 * LineFloats)];
            partW[k] ??= new float[(layout.InputSize * pw) + (2 * LineFloats)];
        }

        if (counters.Length < CounterStride * 2 * parts)
        {
            counters = new int[CounterStride * 2 * parts];
        }

        if (state.Length == 0)
        {
            // h (two buffers, by step parity) and c, each starting on a cache line; pinned so the
            // alignment holds. Slices of whole lines per part: no line is written by two parts.
            hStride = ((units + LineFloats - 1) / LineFloats * LineFloats) + LineFloats;
            state = GC.AllocateArray<float>((3 * hStride) + LineFloats, pinned: true);
            nint address = (nint)Unsafe.AsPointer(ref state[0]);
            stateBase = (int)((64 - (address & 63)) & 63) / sizeof(float);
        }
    }

    private Span<float> H(int parity) => state.AsSpan(stateBase + (parity * hStride), layout.Units);

    private Span<float> C() => state.AsSpan(stateBase + (2 * hStride), layout.Units);

    private ref int Next(int part) => ref counters[CounterStride * 2 * part];

    /// <summary>How many steps of <paramref name="part"/> are done; written only by the thread running its current step.</summary>
    private ref int StepsDone(int part) => ref counters[CounterStride * ((2 * part) + 1)];

    /// <summary>
    /// One thread's share: claims tasks, preferring part <paramref name="lane"/>, until every
    /// task is claimed. Task (s, k) may be claimed once every part has claimed step s − 1, i.e.
    /// when s is the smallest next step over the parts.
    /// </summary>
    private void RunLane(int lane, in SequenceRun run, in LstmWeights weights, Span<float> sequence)
    {
        int parts = partLayouts.Length, time = run.Time;
        while (true)
        {
            int lowest = int.MaxValue;
            for (int k = 0; k < parts; k++)
            {
                lowest = Math.Min(lowest, Volatile.Read(ref Next(k)));
            }

            if (lowest >= time)
            {
                return;
            }

            // Our own part if it is claimable, else (it is a step ahead) a part that is not.
            int part = lane;
            for (int k = 0; k < parts && Volatile.Read(ref Next(part)) != lowest; k++)
            {
                part = k;
            }

            if (Interlocked.CompareExchange(ref Next(part), lowest + 1, lowest) == lowest)
            {
                RunTask(lowest, part, run, weights, sequence);
            }
        }
    }

    /// <summary>Step <paramref name="s"/> of part <paramref name="k"/>: gates, cell and its slice of h_s.</summary>
    private void RunTask(int s, int k, in SequenceRun run, in LstmWeights weights, Span<float> sequence)
    {
        var part = partLayouts[k];
        int units = layout.Units, gates = layout.GateCount;
        int u0 = partStart[k], n = part.Units, pw = gates * n;
        var zx = partZ[k].AsSpan(LineFloats, run.Time * pw);
        var panel = partU[k].AsSpan(LineFloats, units * pw);
        if (s == 0)
        {
            // Once per call, on the thread that will most likely run this part's later steps:
            // b + x_t·W of every step, which needs no h. (Step 0's product below also packs the
            // part's columns of U row after row: one contiguous stream for the later steps.)
            Project(run, weights, k, zx);
        }

        int t = run.TimeIndex(s);
        var z = zx.Slice(t * pw, pw);
        WaitForRows(s, 0, units);

        if (s > 0)
        {
            // Odd steps walk the rows backwards: the end of the previous step's stream is still in L1.
            MultiplyAddGates(H((s + 1) & 1), ref MemoryMarshal.GetReference(panel), pw, n, z, n, gates, width, reverse: (s & 1) != 0);
        }
        else if (gates == 4 && n % 64 == 0 && width == LaneWidth.Vector512)
        {
            MultiplyAddGatesAndPack(H(1), ref Unsafe.Add(ref MemoryMarshal.GetReference(weights.RecurrentKernel), u0), layout.GateWidth, units, z, n, panel);
        }
        else
        {
            Pack(weights.RecurrentKernel, units, u0, n, panel);
            MultiplyAddGates(H(1), ref MemoryMarshal.GetReference(panel), pw, n, z, n, gates, width);
        }
        var h = H(s & 1).Slice(u0, n);
        LstmCell.ForwardRowUnchecked(part, z, C().Slice(u0, n), h, default, default);
        if (!sequence.IsEmpty)
        {
            h.CopyTo(sequence.Slice((s * units) + u0, n));
        }

        Volatile.Write(ref StepsDone(k), s + 1);
    }

    /// <summary>
    /// Spins until the parts that own rows [r0, r1) of h_{s−1} (units r0 … r1 − 1) have finished
    /// step s − 1; yields the core now and then if that takes long (a preempted thread).
    /// </summary>
    private void WaitForRows(int s, int r0, int r1)
    {
        int parts = partLayouts.Length;
        for (int k = 0; k < parts; k++)
        {
            if (partStart[k + 1] <= r0 || partStart[k] >= r1)
            {
                continue;
            }

            int spins = 0;
            while (Volatile.Read(ref StepsDone(k)) < s)
            {
                if (++spins < 4096)
                {
                    if (X86Base.IsSupported) X86Base.Pause();
                    else Thread.SpinWait(1);
                }
                else
                {
                    Thread.Yield();
                }
            }
        }
    }

    /// <summary>panel [rows, G·n] = columns [g·units + u0, g·units + u0 + n) of m [rows, G·units], gate block after gate block.</summary>
    private void Pack(ReadOnlySpan<float> m, int rows, int u0, int n, Span<float> panel)
    {
        int units = layout.Units, gates = layout.GateCount, gw = layout.GateWidth, pw = gates * n;
        for (int r = 0; r < rows; r++)
        {
            for (int g = 0; g < gates; g++)
            {
                m.Slice((r * gw) + (g * units) + u0, n).CopyTo(panel.Slice((r * pw) + (g * n), n));
            }
        }
    }

    /// <summary>zx[t] = b + x_t·W over part <paramref name="k"/>'s columns, for every time index t (W's columns packed first, so they stay in L1).</summary>
    private void Project(in SequenceRun run, in LstmWeights weights, int k, Span<float> zx)
    {
        int units = layout.Units, inputSize = layout.InputSize, gates = layout.GateCount, time = run.Time;
        int u0 = partStart[k], n = partLayouts[k].Units, pw = gates * n;
        var panel = partW[k].AsSpan(LineFloats, inputSize * pw);
        Pack(weights.Kernel, inputSize, u0, n, panel);
        for (int t = 0; t < time; t++)
        {
            for (int g = 0; g < gates; g++)
            {
                var zg = zx.Slice((t * pw) + (g * n), n);
                if (layout.UseBias) weights.Bias.Slice((g * units) + u0, n).CopyTo(zg);
                else zg.Clear();
            }
        }

        // Four steps per pass over W (each load of W feeds four steps): W is read 7 times for 28
        // steps, not 28 times (it does not stay in L1 beside zx).
        ref float w = ref MemoryMarshal.GetReference(panel);
        ref float x = ref MemoryMarshal.GetReference(run.X);
        ref float zr = ref MemoryMarshal.GetReference(zx);
        int blocked = 0, cols = 0;
        if (width == LaneWidth.Vector512)
        {
            cols = pw / 64 * 64;
            for (; blocked + 4 <= time; blocked += 4)
            {
                for (int c = 0; c < cols; c += 64)
                {
                    MultiplyAdd4x64(ref Unsafe.Add(ref x, blocked * inputSize), inputSize, ref Unsafe.Add(ref w, c), pw, ref Unsafe.Add(ref zr, (blocked * pw) + c), pw);
                }
            }
        }

        for (int t = 0; t < time; t++)
        {
            int c0 = t < blocked ? cols : 0;
            if (c0 < pw)
            {
                MultiplyAdd(run.X.Slice(t * inputSize, inputSize), ref Unsafe.Add(ref w, c0), pw, zx.Slice((t * pw) + c0, pw - c0), pw - c0, width);
            }
        }
    }

    /// <summary>
    /// <see cref="MultiplyAdd"/> for four left operands at once: acc_i[j] = fma(a_i[r], m[r·ld + j], acc_i[j])
    /// for r = 0 … rows − 1 in order, i &lt; 4 (a_i at a + i·rows, acc_i at acc + i·accStride), j &lt; 64.
    /// </summary>
    private static void MultiplyAdd4x64(ref float a, int rows, ref float m, int ld, ref float acc, int accStride)
    {
        ref float acc1 = ref Unsafe.Add(ref acc, accStride);
        ref float acc2 = ref Unsafe.Add(ref acc1, accStride);
        ref float acc3 = ref Unsafe.Add(ref acc2, accStride);
        var c00 = Vector512.LoadUnsafe(ref acc);
        var c01 = Vector512.LoadUnsafe(ref acc, 16);
        var c02 = Vector512.LoadUnsafe(ref acc, 32);
        var c03 = Vector512.LoadUnsafe(ref acc, 48);
        var c10 = Vector512.LoadUnsafe(ref acc1);
        var c11 = Vector512.LoadUnsafe(ref acc1, 16);
        var c12 = Vector512.LoadUnsafe(ref acc1, 32);
        var c13 = Vector512.LoadUnsafe(ref acc1, 48);
        var c20 = Vector512.LoadUnsafe(ref acc2);
        var c21 = Vector512.LoadUnsafe(ref acc2, 16);
        var c22 = Vector512.LoadUnsafe(ref acc2, 32);
        var c23 = Vector512.LoadUnsafe(ref acc2, 48);
        var c30 = Vector512.LoadUnsafe(ref acc3);
        var c31 = Vector512.LoadUnsafe(ref acc3, 16);
        var c32 = Vector512.LoadUnsafe(ref acc3, 32);
        var c33 = Vector512.LoadUnsafe(ref acc3, 48);
        for (int r = 0; r < rows; r++)
        {
            ref float row = ref Unsafe.Add(ref m, (nint)r * ld);
            var m0 = Vector512.LoadUnsafe(ref row);
            var m1 = Vector512.LoadUnsafe(ref row, 16);
            var m2 = Vector512.LoadUnsafe(ref row, 32);
            var m3 = Vector512.LoadUnsafe(ref row, 48);
            var x0 = Vector512.Create(Unsafe.Add(ref a, r));
            var x1 = Vector512.Create(Unsafe.Add(ref a, rows + r));
            var x2 = Vector512.Create(Unsafe.Add(ref a, (2 * rows) + r));
            var x3 = Vector512.Create(Unsafe.Add(ref a, (3 * rows) + r));
            c00 = Vector512.FusedMultiplyAdd(x0, m0, c00);
            c01 = Vector512.FusedMultiplyAdd(x0, m1, c01);
            c02 = Vector512.FusedMultiplyAdd(x0, m2, c02);
            c03 = Vector512.FusedMultiplyAdd(x0, m3, c03);
            c10 = Vector512.FusedMultiplyAdd(x1, m0, c10);
            c11 = Vector512.FusedMultiplyAdd(x1, m1, c11);
            c12 = Vector512.FusedMultiplyAdd(x1, m2, c12);
            c13 = Vector512.FusedMultiplyAdd(x1, m3, c13);
            c20 = Vector512.FusedMultiplyAdd(x2, m0, c20);
            c21 = Vector512.FusedMultiplyAdd(x2, m1, c21);
            c22 = Vector512.FusedMultiplyAdd(x2, m2, c22);
            c23 = Vector512.FusedMultiplyAdd(x2, m3, c23);
            c30 = Vector512.FusedMultiplyAdd(x3, m0, c30);
            c31 = Vector512.FusedMultiplyAdd(x3, m1, c31);
            c32 = Vector512.FusedMultiplyAdd(x3, m2, c32);
            c33 = Vector512.FusedMultiplyAdd(x3, m3, c33);
        }

        c00.StoreUnsafe(ref acc);
        c01.StoreUnsafe(ref acc, 16);
        c02.StoreUnsafe(ref acc, 32);
        c03.StoreUnsafe(ref acc, 48);
        c10.StoreUnsafe(ref acc1);
        c11.StoreUnsafe(ref acc1, 16);
        c12.StoreUnsafe(ref acc1, 32);
        c13.StoreUnsafe(ref acc1, 48);
        c20.StoreUnsafe(ref acc2);
        c21.StoreUnsafe(ref acc2, 16);
        c22.StoreUnsafe(ref acc2, 32);
        c23.StoreUnsafe(ref acc2, 48);
        c30.StoreUnsafe(ref acc3);
        c31.StoreUnsafe(ref acc3, 16);
        c32.StoreUnsafe(ref acc3, 32);
        c33.StoreUnsafe(ref acc3, 48);
    }


    private ref struct Job(LstmLatencyPath path, SequenceRun run, LstmWeights weights, Span<float> sequence) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly LstmWeights weights = weights;
        private readonly Span<float> sequence = sequence;

        public readonly void Execute(int index) => path.RunLane(index, run, weights, sequence);
    }
}
