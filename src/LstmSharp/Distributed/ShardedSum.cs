using System.Numerics.Tensors;

namespace LstmSharp.Distributed;

/// <summary>
/// The sum of <c>V</c> fixed virtual shards' vectors, added in shard order, whatever the number
/// of ranks that hold them: the same bits on 1, 2 or V ranks. MPI_Allreduce cannot promise that
/// (its order of additions depends on the algorithm, the rank count and the message size).
/// </summary>
/// <remarks>
/// Rank r holds shards <c>[First(r), First(r + 1))</c>, each a vector of <c>length</c> floats.
/// The vector is cut into one contiguous slice per rank; an Alltoallv sends every shard's slice
/// r to rank r, which then holds slice r of all V shards in shard order and adds them left to
/// right, <c>((s0 + s1) + s2) + …</c> (element-wise, so SIMD width does not change the bits);
/// an Allgatherv hands every rank the whole sum. Each rank sends and receives about
/// <c>2 · length · (V/N) · (N − 1)/N</c> floats: a reduce-scatter + all-gather whose cost grows
/// with the shards per rank, not with the rank count.
/// </remarks>
internal sealed class ShardedSum
{
    private readonly ICommunicator comm;
    private float[] send = [];
    private float[] receive = [];

    public ShardedSum(ICommunicator comm, int shards)
    {
        ArgumentNullException.ThrowIfNull(comm);
        if (shards < comm.Size)
        {
            throw new ArgumentOutOfRangeException(nameof(shards), $"ShardedSum: need at least one virtual shard per rank: {comm.Size} ranks, got {shards} shards.");
        }

        this.comm = comm;
        Shards = shards;
    }

    public int Shards { get; }

    /// <summary>First shard of <paramref name="rank"/> (contiguous blocks, sizes differing by at most one).</summary>
    public static int First(int rank, int ranks, int shards) => (int)((long)shards * rank / ranks);

    /// <summary>Start of element slice <paramref name="part"/> of <paramref name="parts"/> over <paramref name="length"/> elements.</summary>
    public static int SliceStart(int part, int parts, int length) => (int)((long)length * part / parts);

    /// <summary>Shards this rank holds.</summary>
    public int LocalShards => First(comm.Rank + 1, comm.Size, Shards) - First(comm.Rank, comm.Size, Shards);

    /// <summary>
    /// <paramref name="local"/> holds this rank's shards' vectors one after another
    /// (<see cref="LocalShards"/> × <paramref name="length"/>); <paramref name="result"/> gets
    /// the sum over all shards, in shard order, on every rank.
    /// </summary>
    public void Sum(ReadOnlySpan<float> local, int length, Span<float> result)
    {
        int ranks = comm.Size, rank = comm.Rank, mine = LocalShards;
        if (local.Length != (long)mine * length || result.Length != length)
        {
            throw new ArgumentException($"ShardedSum: rank {rank} holds {mine} shards of {length} floats ({(long)mine * length}) and a result of {length}; got {local.Length} and {result.Length}.");
        }

        int myStart = SliceStart(rank, ranks, length), myLength = SliceStart(rank + 1, ranks, length) - myStart;
        var sendCounts = new int[ranks];
        var receiveCounts = new int[ranks];
        var sliceLengths = new int[ranks];
        Grow(ref send, local.Length);
        int at = 0;
        for (int r = 0; r < ranks; r++)
        {
            int start = SliceStart(r, ranks, length), count = SliceStart(r + 1, ranks, length) - start;
            sliceLengths[r] = count;
            sendCounts[r] = mine * count;
            receiveCounts[r] = (First(r + 1, ranks, Shards) - First(r, ranks, Shards)) * myLength;
            for (int k = 0; k < mine; k++)
            {
                local.Slice(k * length + start, count).CopyTo(send.AsSpan(at, count));
                at += count;
            }
        }

        int received = Shards * myLength;
        Grow(ref receive, received);
        comm.Alltoallv<float>(send.AsSpan(0, local.Length), sendCounts, receive.AsSpan(0, received), receiveCounts);

        // Slice `rank` of shards 0, 1, ..., V-1, one after another: add them left to right.
        var sum = result.Slice(myStart, myLength);
        receive.AsSpan(0, myLength).CopyTo(sum);
        for (int s = 1; s < Shards; s++)
        {
            TensorPrimitives.Add(sum, receive.AsSpan(s * myLength, myLength), sum);
        }

        if (ranks > 1)
        {
            var mySum = sum.ToArray();
            comm.Allgatherv<float>(mySum, result, sliceLengths);
        }
    }

    private static void Grow(ref float[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new float[length];
        }
    }
}
