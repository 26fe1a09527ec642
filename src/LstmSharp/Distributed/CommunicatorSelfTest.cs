namespace LstmSharp.Distributed;

/// <summary>
/// Runs every collective of an <see cref="ICommunicator"/> on data whose correct result each rank
/// can compute by itself, and compares bit for bit (<c>lstmsharp mpi-check</c>: an installation
/// or a hostfile checked before a long job). Every rank must call <see cref="Run"/>.
/// </summary>
public static class CommunicatorSelfTest
{
    /// <summary>Number of checks each rank made and the failures seen on any rank (each as "rank r: what").</summary>
    public sealed record Result(int Checks, int FailedOnAnyRank, IReadOnlyList<string> LocalFailures);

    public static Result Run(ICommunicator comm)
    {
        ArgumentNullException.ThrowIfNull(comm);
        var failures = new List<string>();
        int checks = 0;
        int size = comm.Size, rank = comm.Rank;

        void Expect(bool ok, string what)
        {
            checks++;
            if (!ok)
            {
                failures.Add($"rank {rank}: {what}");
            }
        }

        comm.Barrier();
        foreach (int n in new[] { 0, 1, 7, 1000, 100_003 })
        {
            for (int root = 0; root < size; root++)
            {
                var data = new float[n];
                if (rank == root)
                {
                    for (int i = 0; i < n; i++)
                    {
                        data[i] = Value(root, i);
                    }
                }

                comm.Broadcast<float>(data, root);
                Expect(Enumerable.Range(0, n).All(i => data[i] == Value(root, i)), $"Broadcast<float> of {n} from root {root}");
            }
        }

        var ints = rank == 0 ? new[] { -5, 7, int.MaxValue } : new int[3];
        comm.Broadcast<int>(ints, 0);
        Expect(ints.SequenceEqual([-5, 7, int.MaxValue]), "Broadcast<int>");
        var longs = rank == size - 1 ? new[] { long.MinValue, 1L << 40 } : new long[2];
        comm.Broadcast<long>(longs, size - 1);
        Expect(longs.SequenceEqual([long.MinValue, 1L << 40]), "Broadcast<long>");
        var bytes = rank == 0 ? "dist"u8.ToArray() : new byte[4];
        comm.Broadcast<byte>(bytes, 0);
        Expect(bytes.SequenceEqual("dist"u8.ToArray()), "Broadcast<byte>");

        var mine = new double[] { rank + 1, -rank, 0.5 * rank };
        var sum = new double[3];
        comm.AllreduceSum(mine, sum);
        Expect(sum[0] == size * (size + 1) / 2.0 && sum[1] == -size * (size - 1) / 2.0 && sum[2] == 0.25 * size * (size - 1), "AllreduceSum<double>");
        var max = new double[3];
        comm.AllreduceMax(mine, max);
        Expect(max[0] == size && max[1] == 0 && max[2] == 0.5 * (size - 1), "AllreduceMax<double>");

        foreach (int extra in new[] { 0, 3, 5000 })
        {
            var counts = Enumerable.Range(0, size).Select(q => q + extra).ToArray();
            var send = Enumerable.Range(0, counts[rank]).Select(i => Value(rank, i)).ToArray();
            var all = new float[counts.Sum()];
            comm.Allgatherv<float>(send, all, counts);
            bool ok = true;
            int at = 0;
            for (int q = 0; q < size; q++)
            {
                for (int i = 0; i < counts[q]; i++)
                {
                    ok &= all[at++] == Value(q, i);
                }
            }

            Expect(ok, $"Allgatherv<float> with counts {string.Join(",", counts)}");
        }

        foreach (int scale in new[] { 1, 1000 })
        {
            // Rank q sends rank r Count(q, r) elements, zero counts included.
            int Count(int q, int r) => ((q + 2 * r) % 5) * scale;
            float Item(int q, int r, int k) => Value(q * 64 + r, k);
            var sendCounts = Enumerable.Range(0, size).Select(r => Count(rank, r)).ToArray();
            var receiveCounts = Enumerable.Range(0, size).Select(q => Count(q, rank)).ToArray();
            var send = Enumerable.Range(0, size).SelectMany(r => Enumerable.Range(0, Count(rank, r)).Select(k => Item(rank, r, k))).ToArray();
            var got = new double[receiveCounts.Sum()];
            comm.Alltoallv<double>(send.Select(v => (double)v).ToArray(), sendCounts, got, receiveCounts);
            var expected = Enumerable.Range(0, size).SelectMany(q => Enumerable.Range(0, Count(q, rank)).Select(k => (double)Item(q, rank, k)));
            Expect(got.SequenceEqual(expected), $"Alltoallv<double> (scale {scale})");
        }

        foreach (var (shards, length) in new[] { (size, 1), (12, 1003), (Math.Max(size, 5), 65_537) })
        {
            if (shards < size)
            {
                continue;
            }

            // Values of mixed magnitude, so another order of additions would change the bits.
            int first = ShardedSum.First(rank, size, shards), last = ShardedSum.First(rank + 1, size, shards);
            var local = new float[(last - first) * length];
            for (int s = first; s < last; s++)
            {
                for (int i = 0; i < length; i++)
                {
                    local[(s - first) * length + i] = Mixed(s, i);
                }
            }

            var result = new float[length];
            new ShardedSum(comm, shards).Sum(local, length, result);
            var expected = new float[length];
            for (int i = 0; i < length; i++)
            {
                float acc = Mixed(0, i);
                for (int s = 1; s < shards; s++)
                {
                    acc += Mixed(s, i);
                }

                expected[i] = acc;
            }

            Expect(result.AsSpan().SequenceEqual(expected), $"ShardedSum of {shards} shards × {length} in shard order");
        }

        comm.Barrier();
        var failed = new double[1];
        comm.AllreduceSum([failures.Count], failed);
        return new Result(checks, (int)failed[0], failures);
    }

    /// <summary>
    /// Median seconds of one fixed-order gradient sum (<c>floats</c> per shard, <c>shards</c>
    /// virtual shards over the ranks) and, for comparison, of one MPI_Allreduce of the same number
    /// of bytes (whose order of additions is unspecified), over <paramref name="repeats"/> runs
    /// after one warm-up. Every rank must call it with the same arguments.
    /// </summary>
    public static (double ShardedSum, double Allreduce) MeasureReduction(ICommunicator comm, int floats, int shards, int repeats)
    {
        ArgumentNullException.ThrowIfNull(comm);
        ArgumentOutOfRangeException.ThrowIfLessThan(floats, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(repeats, 1);
        var sum = new ShardedSum(comm, shards);
        var local = new float[sum.LocalShards * floats];
        for (int i = 0; i < local.Length; i++)
        {
            local[i] = Mixed(comm.Rank, i);
        }

        var result = new float[floats];
        var send = new double[floats / 2];
        var reduced = new double[floats / 2];
        var sharded = new double[repeats];
        var allreduce = new double[repeats];
        for (int r = -1; r < repeats; r++)
        {
            comm.Barrier();
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            sum.Sum(local, floats, result);
            long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
            comm.Barrier();
            long t2 = System.Diagnostics.Stopwatch.GetTimestamp();
            comm.AllreduceSum(send, reduced);
            long t3 = System.Diagnostics.Stopwatch.GetTimestamp();
            if (r >= 0)
            {
                sharded[r] = (t1 - t0) / (double)System.Diagnostics.Stopwatch.Frequency;
                allreduce[r] = (t3 - t2) / (double)System.Diagnostics.Stopwatch.Frequency;
            }
        }

        // The slowest rank's time is the collective's time.
        var slowest = new double[2];
        comm.AllreduceMax([Median(sharded), Median(allreduce)], slowest);
        return (slowest[0], slowest[1]);
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    private static float Value(int who, int i) => who * 100_000f + i;

    private static float Mixed(int shard, int i)
    {
        ulong h = (ulong)(uint)shard << 32 | (uint)i;
        ulong bits = Tensors.Rng.SplitMix64(ref h);
        float unit = (bits >> 40) * (1f / (1 << 24)) - 0.5f;
        return unit * MathF.Pow(10, (int)(bits % 7) - 3);
    }
}
