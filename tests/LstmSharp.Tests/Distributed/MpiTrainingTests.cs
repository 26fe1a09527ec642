using System.Diagnostics;
using System.Globalization;
using System.Text;
using LstmSharp.Distributed;
using LstmSharp.Models;
using LstmSharp.Tensors;

namespace LstmSharp.Tests.Distributed;

/// <summary>
/// <c>lstmsharp train --distributed</c> under Open MPI: np = 1, 2, 3 (shared memory and TCP
/// loopback), one plain process and the in-process communicator end with the same bits, for an
/// LSTM and a GRU model with dropout; a killed rank ends the job with a non-zero exit within the
/// timeout, and <c>--resume</c> from its checkpoint ends where the uninterrupted run does.
/// </summary>
[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public sealed class MpiTrainingTests
{
    private const int Seed = 5, Shards = 6, Batch = 16, Epochs = 2;

    private static string ModelJson(string kind) =>
        $$"""
        {
          "class_name": "Sequential",
          "config": { "layers": [
            { "class_name": "{{(kind == "gru" ? "GRU" : "LSTM")}}", "config": { "units": 8, "dropout": 0.2, "recurrent_dropout": 0.1, "batch_input_shape": [null, 6, 3] } },
            { "class_name": "Dropout", "config": { "rate": 0.3 } },
            { "class_name": "Dense", "config": { "units": 2 } }
          ] },
          "compile": { "optimizer": { "class_name": "Adam", "config": { "learning_rate": 0.01 } }, "loss": "mse" }
        }
        """;

    /// <summary>The model folder: config, x.csv (time-major rows) and y.csv from the trainer tests' data.</summary>
    private static string Prepare(string kind)
    {
        string dir = LstmSharp.Tests.Data.TestData.NewTempFolder("mpi-train");
        File.WriteAllText(Path.Combine(dir, "model.json"), ModelJson(kind));
        var (x, y) = DistributedTrainerTests.Data();
        var xs = new StringBuilder();
        var ys = new StringBuilder();
        for (int i = 0; i < y.Dim(0); i++)
        {
            xs.AppendLine(string.Join(",", x.Span.Slice(i * 18, 18).ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
            ys.AppendLine(string.Join(",", y.Span.Slice(i * 2, 2).ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
        }

        File.WriteAllText(Path.Combine(dir, "x.csv"), xs.ToString());
        File.WriteAllText(Path.Combine(dir, "y.csv"), ys.ToString());
        return dir;
    }

    private static string[] TrainArgs(string dir, string output, int epochs = Epochs, int batch = Batch, params string[] more) =>
    [
        "train", Path.Combine(dir, "model.json"), "--input", Path.Combine(dir, "x.csv"), "--targets", Path.Combine(dir, "y.csv"),
        "--epochs", epochs.ToString(CultureInfo.InvariantCulture), "--batch", batch.ToString(CultureInfo.InvariantCulture),
        "--seed", Seed.ToString(CultureInfo.InvariantCulture), "--verbose", "0", "--distributed", "--shards", Shards.ToString(CultureInfo.InvariantCulture),
        "--out", Path.Combine(dir, output), .. more,
    ];

    private static float[][] Weights(string path) => Model.Load(path).GetWeights();

    [SkippableTheory]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void MpiRanksOneProcessAndThreadsEndWithTheSameBits(string kind)
    {
        MpiRun.Require();
        string dir = Prepare(kind);
        try
        {
            var alone = MpiRun.LstmsharpAlone(TrainArgs(dir, "alone.lstm"));
            Assert.True(alone.ExitCode == 0, alone.ToString());
            Assert.Contains("in-process, rank 0 of 1", alone.Output);
            var expected = Weights(Path.Combine(dir, "alone.lstm"));

            foreach (var (ranks, tcp) in new[] { (1, false), (2, false), (3, true) })
            {
                string name = $"np{ranks}.lstm";
                var run = MpiRun.Lstmsharp(ranks, TrainArgs(dir, name), timeoutSeconds: 120, mca: tcp ? MpiRun.TcpLoopback : null);
                Assert.True(run.ExitCode == 0, run.ToString());
                Assert.Contains($"Open MPI v4.1", run.Output);
                Assert.Contains($"rank 0 of {ranks};", run.Output);

                // Only rank 0 prints and saves.
                Assert.Single(run.Output.Split('\n'), l => l.StartsWith("Saved ", StringComparison.Ordinal));
                DistributedTrainerTests.AssertSameBits(expected, Weights(Path.Combine(dir, name)), $"{kind}: mpirun -np {ranks} vs one process");
            }

            // The in-process communicator on 2 threads, from the model the tool builds (global seed, then the config).
            LstmSharp.Layers.Layer.ClearSession();
            LstmSharp.Cli.ModelCommands.SeedEverything(Seed); // as the tool does; immune to other tests drawing from the global generator
            var first = LstmSharp.Cli.ModelCommands.Open(Path.Combine(dir, "model.json"), out _);
            _ = first.Parameters; // built here, on the seeded thread, as the tool builds it on its main thread
            var (x, y) = DistributedTrainerTests.Data();
            var threads = InProcessCommunicator.Run(2, comm =>
            {
                // Rank 1 builds its model on its own thread with other weights; rank 0's broadcast replaces them.
                var model = comm.Rank == 0 ? first : LstmSharp.Cli.ModelCommands.Open(Path.Combine(dir, "model.json"), out _);

                new DistributedTrainer(model, comm).Fit([x], y, new DistributedOptions { BatchSize = Batch, Epochs = Epochs, Seed = Seed, VirtualShards = Shards, Verbose = 0 });
                return model.GetWeights();
            });
            DistributedTrainerTests.AssertSameBits(expected, threads[0], $"{kind}: in-process 2 threads vs one process");
        }
        finally
        {
            LstmSharp.Tests.Data.TestData.DeleteFolder(dir);
        }
    }

    [SkippableFact]
    public void MnistExperimentOnTwoRanksMatchesOneProcessBitForBit()
    {
        MpiRun.Require();
        string data = Path.GetDirectoryName(LstmSharp.Tests.Data.TestData.Require("mnist"))!;
        string dir = LstmSharp.Tests.Data.TestData.NewTempFolder("mpi-mnist");
        try
        {
            string[] Args(string output) =>
                ["experiment", "mnist-rnn", "--models", "lstm", "--units", "8", "--epochs", "1", "--batch", "32", "--limit", "256",
                 "--distributed", "--shards", "4", "--data", data, "--out", Path.Combine(dir, output), "--verbose", "0"];
            var alone = MpiRun.LstmsharpAlone(Args("one"));
            Assert.True(alone.ExitCode == 0, alone.ToString());
            var two = MpiRun.Lstmsharp(2, Args("two"), timeoutSeconds: 120);
            Assert.True(two.ExitCode == 0, two.ToString());
            Assert.Contains("rank 0 of 2;", two.Output);
            Assert.Single(two.Output.Split('\n'), l => l.StartsWith("Wrote ", StringComparison.Ordinal));
            DistributedTrainerTests.AssertSameBits(Weights(Path.Combine(dir, "one", "lstm.lstm")), Weights(Path.Combine(dir, "two", "lstm.lstm")), "mnist-rnn lstm: 2 ranks vs one process");

            // The same loss and accuracy figures, to the last digit (the last column is the epoch's seconds).
            static IEnumerable<string> Figures(string path) => File.ReadAllLines(path).Select(l => l[..l.LastIndexOf(',')]);
            Assert.Equal(Figures(Path.Combine(dir, "one", "history.csv")), Figures(Path.Combine(dir, "two", "history.csv")));
        }
        finally
        {
            LstmSharp.Tests.Data.TestData.DeleteFolder(dir);
        }
    }

    [SkippableFact]
    public void AKilledRankEndsTheJobAndResumeEqualsTheUninterruptedRun()
    {
        MpiRun.Require();
        string dir = Prepare("lstm");
        try
        {
            // 12 steps per epoch (batch 4 of 45 samples), checkpoints every 3 steps; long enough to be killed midway.
            const int epochs = 60;
            string checkpoint = Path.Combine(dir, "run.ckpt");
            string[] Args(string output, params string[] more) => TrainArgs(dir, output, epochs, 4, ["--checkpoint", checkpoint, "--checkpoint-every", "3", .. more]);
            var reference = MpiRun.LstmsharpAlone(TrainArgs(dir, "reference.lstm", epochs, 4));
            Assert.True(reference.ExitCode == 0, reference.ToString());

            int killed = 0;
            var watch = Stopwatch.StartNew();
            var run = MpiRun.Lstmsharp(2, Args("killed.lstm"), timeoutSeconds: 90, whileRunning: mpirunOrTimeout =>
            {
                string progress = DistributedTrainer.ProgressPath(checkpoint);
                while (!File.Exists(progress) && !mpirunOrTimeout.HasExited && watch.Elapsed < TimeSpan.FromSeconds(60))
                {
                    Thread.Sleep(20);
                }

                var ranks = Descendants(mpirunOrTimeout.Id).Where(p => Comm(p) == "dotnet").ToList();
                if (ranks.Count == 2 && File.Exists(progress))
                {
                    watch.Restart();
                    Process.GetProcessById(ranks.Max()).Kill();
                    killed = ranks.Max();
                }
            });
            Assert.True(killed != 0, "no rank was running when the checkpoint appeared: " + run);
            Assert.True(run.ExitCode != 0, "the job survived a killed rank: " + run);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"the job took {watch.Elapsed} to end after the kill");
            Assert.False(File.Exists(Path.Combine(dir, "killed.lstm")), "the killed job must not have finished: " + run);

            var resumed = MpiRun.Lstmsharp(3, Args("resumed.lstm", "--resume"), timeoutSeconds: 120);
            Assert.True(resumed.ExitCode == 0, resumed.ToString());
            DistributedTrainerTests.AssertSameBits(Weights(Path.Combine(dir, "reference.lstm")), Weights(Path.Combine(dir, "resumed.lstm")), "killed at 2 ranks, resumed at 3, vs uninterrupted");
        }
        finally
        {
            LstmSharp.Tests.Data.TestData.DeleteFolder(dir);
        }
    }

    /// <summary>Every process below <paramref name="pid"/> (from /proc's parent links).</summary>
    private static List<int> Descendants(int pid)
    {
        var parents = new Dictionary<int, int>();
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(d), out int p))
            {
                try
                {
                    string stat = File.ReadAllText(Path.Combine(d, "stat"));
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    parents[p] = int.Parse(fields[1], CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                }
            }
        }

        var result = new List<int>();
        var queue = new Queue<int>([pid]);
        while (queue.Count > 0)
        {
            int parent = queue.Dequeue();
            foreach (var (child, _) in parents.Where(kv => kv.Value == parent))
            {
                result.Add(child);
                queue.Enqueue(child);
            }
        }

        return result;
    }

    private static string Comm(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }
}
