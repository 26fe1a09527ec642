using LstmSharp.Distributed;

namespace LstmSharp.Tests.Distributed;

/// <summary>The collectives, on threads (in-process) and under Open MPI at 1–4 ranks (shared memory and TCP loopback).</summary>
public sealed class CommunicatorTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void InProcessCollectivesGiveTheExpectedBits(int ranks)
    {
        var results = InProcessCommunicator.Run(ranks, CommunicatorSelfTest.Run, TimeSpan.FromSeconds(60));
        foreach (var r in results)
        {
            Assert.True(r.FailedOnAnyRank == 0, string.Join(Environment.NewLine, results.SelectMany(x => x.LocalFailures)));
            Assert.True(r.Checks >= 15, $"only {r.Checks} checks ran");
        }
    }

    [Fact]
    public void AFailingRankReleasesTheOthersInsteadOfHangingThem()
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<AggregateException>(() => InProcessCommunicator.Run(3, comm =>
        {
            if (comm.Rank == 1)
            {
                throw new InvalidDataException("rank 1 broke");
            }

            comm.Barrier();
            return 0;
        }, TimeSpan.FromSeconds(60)));
        Assert.IsType<InvalidDataException>(e.InnerException);
        Assert.Contains("rank 1 failed: rank 1 broke", e.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
    }

    [Fact]
    public void MismatchedCountsAreOneClearError()
    {
        var e = Assert.Throws<AggregateException>(() => InProcessCommunicator.Run(2, comm =>
        {
            comm.Allgatherv<float>(new float[comm.Rank + 1], new float[2], [1, 1]);
            return 0;
        }, TimeSpan.FromSeconds(60)));
        Assert.Contains("counts[1] is 1 but this rank sends 2 elements", e.InnerException!.Message);
    }

    [Fact]
    public void ShardedSumIsTheLeftToRightSumWhateverTheRankCount()
    {
        // Values whose sum depends on the order of additions, so equal bits mean equal order.
        const int shards = 6, length = 513;
        float Value(int s, int i) => (float)((((s * 7919) + (i * 104729)) % 1000) - 500) * MathF.Pow(10, ((s + i) % 9) - 4);
        var expected = new float[length];
        var reversed = new float[length];
        for (int i = 0; i < length; i++)
        {
            float acc = Value(0, i), back = Value(shards - 1, i);
            for (int s = 1; s < shards; s++)
            {
                acc += Value(s, i);
                back += Value(shards - 1 - s, i);
            }

            (expected[i], reversed[i]) = (acc, back);
        }

        Assert.False(expected.AsSpan().SequenceEqual(reversed), "the test values must be order-sensitive");
        foreach (int ranks in new[] { 1, 2, 3, 6 })
        {
            var sums = InProcessCommunicator.Run(ranks, comm =>
            {
                int first = ShardedSum.First(comm.Rank, comm.Size, shards), last = ShardedSum.First(comm.Rank + 1, comm.Size, shards);
                var local = new float[(last - first) * length];
                for (int s = first; s < last; s++)
                {
                    for (int i = 0; i < length; i++)
                    {
                        local[(s - first) * length + i] = Value(s, i);
                    }
                }

                var result = new float[length];
                new ShardedSum(comm, shards).Sum(local, length, result);
                return result;
            }, TimeSpan.FromSeconds(60));
            foreach (var sum in sums)
            {
                Assert.True(expected.AsSpan().SequenceEqual(sum), $"{ranks} ranks: not the shard-order sum");
            }
        }
    }

    [Fact]
    public void ReductionTimingsComeBackTheSameOnEveryRank()
    {
        var times = InProcessCommunicator.Run(2, comm => CommunicatorSelfTest.MeasureReduction(comm, 1024, 4, 3), TimeSpan.FromSeconds(60));
        Assert.Equal(times[0], times[1]);
        Assert.True(times[0].ShardedSum > 0 && times[0].Allreduce > 0, times[0].ToString());
    }

    [SkippableTheory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, false)]
    [InlineData(4, false)]
    [InlineData(2, true)]
    [InlineData(3, true)]
    public void MpiCollectivesGiveTheExpectedBits(int ranks, bool tcp)
    {
        MpiRun.Require();
        var run = MpiRun.Lstmsharp(ranks, ["mpi-check"], timeoutSeconds: 90, mca: tcp ? MpiRun.TcpLoopback : null);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"Open MPI v4.", run.Output);
        Assert.Contains($"rank 0 of {ranks}:", run.Output);
        Assert.Contains("all passed", run.Output);
    }
}
