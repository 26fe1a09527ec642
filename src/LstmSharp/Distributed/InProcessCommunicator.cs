using System.Runtime.InteropServices;

namespace LstmSharp.Distributed;

/// <summary>
/// <see cref="ICommunicator"/> for ranks that are threads of one process: the algorithm of
/// distributed training tested without MPI, and the single-rank group of a plain process.
/// Every collective posts this rank's data, waits for all ranks, copies what it needs, and waits
/// again (so the posted buffers may be reused). Reductions add in rank order.
/// </summary>
/// <remarks>
/// A rank that fails must call <see cref="Fail"/> (as <see cref="Run"/> does), so the others
/// leave their collective with an exception instead of waiting forever; a collective that waits
/// longer than the group's timeout throws <see cref="TimeoutException"/>.
/// </remarks>
public sealed class InProcessCommunicator : ICommunicator
{
    private readonly Group group;

    private InProcessCommunicator(Group group, int rank)
    {
        this.group = group;
        Rank = rank;
    }

    public int Rank { get; }

    public int Size => group.Size;

    public string Description => $"in-process, rank {Rank} of {Size}";

    /// <summary>A group of <paramref name="size"/> communicators, one per thread that will use it.</summary>
    public static InProcessCommunicator[] CreateGroup(int size, TimeSpan? timeout = null)
    {
        if (size < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"InProcessCommunicator: size must be >= 1, got {size}.");
        }

        var g = new Group(size, timeout ?? TimeSpan.FromMinutes(10));
        return Enumerable.Range(0, size).Select(r => new InProcessCommunicator(g, r)).ToArray();
    }

    /// <summary>A group of one: every collective is a copy (a plain, non-distributed process).</summary>
    public static InProcessCommunicator Single() => CreateGroup(1)[0];

    /// <summary>
    /// Runs <paramref name="body"/> on <paramref name="size"/> threads, one per rank, and returns
    /// their results in rank order. If a rank throws, the others are released from their
    /// collectives and the first failure is rethrown.
    /// </summary>
    public static T[] Run<T>(int size, Func<ICommunicator, T> body, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var comms = CreateGroup(size, timeout);
        var results = new T[size];
        var errors = new Exception?[size];
        var threads = new Thread[size];
        for (int r = 0; r < size; r++)
        {
            int rank = r;
            threads[r] = new Thread(
                () =>
                {
                    try
                    {
                        results[rank] = body(comms[rank]);
                    }
                    catch (Exception e)
                    {
                        errors[rank] = e;
                        comms[rank].Fail();
                    }
                },
                maxStackSize: 16 << 20)
            {
                Name = $"rank {rank}",
                IsBackground = true,
            };
            threads[r].Start();
        }

        foreach (var t in threads)
        {
            t.Join();
        }

        // The first real failure, not the cancellations it caused in the other ranks.
        var first = errors.FirstOrDefault(e => e is not null and not OperationCanceledException) ?? errors.FirstOrDefault(e => e is not null);
        if (first is not null)
        {
            throw new AggregateException($"InProcessCommunicator.Run: rank {Array.IndexOf(errors, first)} failed: {first.Message}", first);
        }

        return results;
    }

    /// <summary>Releases every rank waiting in a collective of this group with an exception.</summary>
    public void Fail() => group.Cancel.Cancel();

    public void Broadcast<T>(Span<T> data, int root)
        where T : unmanaged
    {
        if ((uint)root >= (uint)Size)
        {
            throw new ArgumentOutOfRangeException(nameof(root), $"Broadcast: root must be a rank in [0, {Size}), got {root}.");
        }

        if (Rank == root)
        {
            group.Slots[Rank] = MemoryMarshal.AsBytes((ReadOnlySpan<T>)data).ToArray();
        }

        Sync();
        if (Rank != root)
        {
            var posted = group.Slots[root]!;
            if (posted.Length != data.Length * Marshal.SizeOf<T>())
            {
                Fail();
                throw new ArgumentException($"Broadcast: rank {Rank} expects {data.Length} elements, root {root} sent {posted.Length / Marshal.SizeOf<T>()}.", nameof(data));
            }

            posted.CopyTo(MemoryMarshal.AsBytes(data));
        }

        Sync();
    }

    public void AllreduceSum(ReadOnlySpan<double> send, Span<double> result) => Allreduce(send, result, (a, b) => a + b);

    public void AllreduceMax(ReadOnlySpan<double> send, Span<double> result) => Allreduce(send, result, Math.Max);

    public void Allgatherv<T>(ReadOnlySpan<T> send, Span<T> receive, ReadOnlySpan<int> counts)
        where T : unmanaged
    {
        var displs = Collectives.AllgathervDisplacements(counts, Rank, Size, send.Length, receive.Length);

        group.Slots[Rank] = MemoryMarshal.AsBytes(send).ToArray();
        Sync();
        for (int q = 0; q < Size; q++)
        {
            var block = MemoryMarshal.Cast<byte, T>(group.Slots[q]);
            if (block.Length != counts[q])
            {
                Fail();
                throw new ArgumentException($"Allgatherv: rank {Rank} expects {counts[q]} elements from rank {q}, which sent {block.Length}.", nameof(counts));
            }

            block.CopyTo(receive.Slice(displs[q], counts[q]));
        }

        Sync();
    }

    public void Alltoallv<T>(ReadOnlySpan<T> send, ReadOnlySpan<int> sendCounts, Span<T> receive, ReadOnlySpan<int> receiveCounts)
        where T : unmanaged
    {
        var sd = Collectives.Displacements(sendCounts, Size, send.Length, "Alltoallv send");
        var rd = Collectives.Displacements(receiveCounts, Size, receive.Length, "Alltoallv receive");
        group.Slots[Rank] = MemoryMarshal.AsBytes(send).ToArray();
        group.Layouts[Rank] = (sendCounts.ToArray(), sd);
        Sync();
        for (int q = 0; q < Size; q++)
        {
            var (counts, displs) = group.Layouts[q]!.Value;
            if (counts[Rank] != receiveCounts[q])
            {
                Fail();
                throw new ArgumentException($"Alltoallv: rank {Rank} expects {receiveCounts[q]} elements from rank {q}, which sends it {counts[Rank]}.", nameof(receiveCounts));
            }

            MemoryMarshal.Cast<byte, T>(group.Slots[q]).Slice(displs[Rank], counts[Rank]).CopyTo(receive.Slice(rd[q], receiveCounts[q]));
        }

        Sync();
    }

    public void Barrier() => Sync();

    /// <summary>Releases the other ranks with an exception and throws here (threads cannot end a process's peers).</summary>
    public void Abort(int exitCode)
    {
        Fail();
        throw new OperationCanceledException($"InProcessCommunicator: rank {Rank} aborted the group with code {exitCode}.");
    }

    public void Dispose()
    {
    }

    private void Allreduce(ReadOnlySpan<double> send, Span<double> result, Func<double, double, double> op)
    {
        if (result.Length != send.Length)
        {
            throw new ArgumentException($"Allreduce: result holds {result.Length} elements, send {send.Length}.", nameof(result));
        }

        group.Slots[Rank] = MemoryMarshal.AsBytes(send).ToArray();
        Sync();
        var acc = new double[send.Length];
        for (int q = 0; q < Size; q++)
        {
            var block = MemoryMarshal.Cast<byte, double>(group.Slots[q]);
            if (block.Length != acc.Length)
            {
                Fail();
                throw new ArgumentException($"Allreduce: rank {Rank} has {acc.Length} elements, rank {q} {block.Length}.", nameof(send));
            }

            for (int i = 0; i < acc.Length; i++)
            {
                acc[i] = q == 0 ? block[i] : op(acc[i], block[i]);
            }
        }

        Sync();
        acc.CopyTo(result);
    }

    private void Sync()
    {
        if (Size == 1)
        {
            return;
        }

        try
        {
            if (!group.Barrier.SignalAndWait(group.Timeout, group.Cancel.Token))
            {
                Fail();
                throw new TimeoutException($"InProcessCommunicator: rank {Rank} waited {group.Timeout.TotalSeconds:0} s in a collective for the other ranks.");
            }
        }
        catch (OperationCanceledException)
        {
            throw new OperationCanceledException($"InProcessCommunicator: rank {Rank} left a collective because another rank failed.");
        }
    }

    private sealed class Group(int size, TimeSpan timeout)
    {
        public int Size { get; } = size;

        public TimeSpan Timeout { get; } = timeout;

        public System.Threading.Barrier Barrier { get; } = new(size);

        public CancellationTokenSource Cancel { get; } = new();

        public byte[][] Slots { get; } = new byte[size][];

        public (int[] Counts, int[] Displs)?[] Layouts { get; } = new (int[], int[])?[size];
    }
}
