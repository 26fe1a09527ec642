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
/// later steps stream one contiguous block instead of G strided ones (faster from L2;
/// bench/README.md). The
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
        && !layout.HasPeepholes && !layout.HasGateRecurrence && !layout.HasProjection;

    /// <summary>Runs the sequence; the caller validated every length.</summary>
    public void Forward(in SequenceRun run, in LstmWeights weights, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, in RnnOutputs outputs)
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
            Gemv.MultiplyAddGates(H((s + 1) & 1), ref MemoryMarshal.GetReference(panel), pw, n, z, n, gates, width, reverse: (s & 1) != 0);
        }
        else if (gates == 4 && n % 64 == 0 && width == LaneWidth.Vector512)
        {
            Gemv.MultiplyAddGatesAndPack(H(1), ref Unsafe.Add(ref MemoryMarshal.GetReference(weights.RecurrentKernel), u0), layout.GateWidth, units, z, n, panel);
        }
        else
        {
            Pack(weights.RecurrentKernel, units, u0, n, panel);
            Gemv.MultiplyAddGates(H(1), ref MemoryMarshal.GetReference(panel), pw, n, z, n, gates, width);
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
                    Gemv.MultiplyAdd4x64(ref Unsafe.Add(ref x, blocked * inputSize), inputSize, ref Unsafe.Add(ref w, c), pw, ref Unsafe.Add(ref zr, (blocked * pw) + c), pw);
                }
            }
        }

        for (int t = 0; t < time; t++)
        {
            int c0 = t < blocked ? cols : 0;
            if (c0 < pw)
            {
                Gemv.MultiplyAdd(run.X.Slice(t * inputSize, inputSize), ref Unsafe.Add(ref w, c0), pw, zx.Slice((t * pw) + c0, pw - c0), pw - c0, width);
            }
        }
    }

    private ref struct Job(LstmLatencyPath path, SequenceRun run, LstmWeights weights, Span<float> sequence) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly LstmWeights weights = weights;
        private readonly Span<float> sequence = sequence;

        public readonly void Execute(int index) => path.RunLane(index, run, weights, sequence);
    }
}
