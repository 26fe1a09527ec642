using System.CommandLine;
using LstmSharp.Distributed;

namespace LstmSharp.Cli;

/// <summary>
/// <c>mpi-check</c>: every collective of distributed training, run under <c>mpirun -np N</c> and
/// checked bit for bit on every rank (an MPI installation or a hostfile tried before a long job);
/// and the <c>--distributed</c> options of <c>train</c> and <c>experiment mnist-rnn</c>.
/// </summary>
internal static class DistributedCommands
{
    public static void AddTo(Command root) => root.Subcommands.Add(MpiCheck());

    /// <summary>The communicator of a <c>--distributed</c> run: MPI's world under an MPI launcher, else a group of one.</summary>
    public static ICommunicator Open() =>
        MpiCommunicator.LaunchedByMpirun ? MpiCommunicator.World() : InProcessCommunicator.Single();

    /// <summary>What <c>--distributed</c> and its companions asked for.</summary>
    public sealed record Settings(int Shards, string? Checkpoint, int CheckpointEvery, bool Resume, int? MaxSteps);

    /// <summary>The options a command gains for distributed training.</summary>
    public sealed class TrainOptions
    {
        private readonly Option<bool> distributed = new("--distributed") { Description = "Data-parallel training over the ranks of an MPI job (start with mpirun -np N); weights bit-identical to one process with the same --shards. Without mpirun: one rank." };
        private readonly Option<int> shards = new("--shards") { Description = "With --distributed: virtual shards per batch (fixed slices summed in order; results depend on it, not on the rank count; >= ranks).", DefaultValueFactory = _ => 12 };
        private readonly Option<string?> checkpoint = new("--checkpoint") { Description = "With --distributed: checkpoint file written by rank 0 (weights, optimizer, position; default OUT.ckpt when --checkpoint-every or --resume is given)." };
        private readonly Option<int> every = new("--checkpoint-every") { Description = "With --distributed: also checkpoint every N steps (default: at epoch ends).", DefaultValueFactory = _ => 0 };
        private readonly Option<bool> resume = new("--resume") { Description = "With --distributed: continue from the checkpoint if it exists (rank 0 reads it and sends it to all ranks)." };
        private readonly Option<int?> maxSteps = new("--max-steps") { Description = "With --distributed: stop after this many steps (a checkpoint is written there)." };

        public static TrainOptions AddTo(Command command)
        {
            var o = new TrainOptions();
            command.Options.Add(o.distributed);
            command.Options.Add(o.shards);
            command.Options.Add(o.checkpoint);
            command.Options.Add(o.every);
            command.Options.Add(o.resume);
            command.Options.Add(o.maxSteps);
            return o;
        }

        public bool Requested(ParseResult r)
        {
            bool on = r.GetValue(distributed);
            if (!on && (r.GetResult(shards) is { Implicit: false } || r.GetResult(checkpoint) is { Implicit: false } || r.GetResult(every) is { Implicit: false } || r.GetValue(resume) || r.GetResult(maxSteps) is { Implicit: false }))
            {
                throw new ArgumentException("--shards, --checkpoint, --checkpoint-every, --resume and --max-steps apply to --distributed training; add --distributed.");
            }

            return on;
        }

        public Settings Read(ParseResult r)
        {
            int s = r.GetValue(shards);
            if (s < 1)
            {
                throw new ArgumentException($"--shards: expected a positive number, got {s}.");
            }

            if (r.GetValue(every) < 0 || r.GetValue(maxSteps) is <= 0)
            {
                throw new ArgumentException($"--checkpoint-every must be >= 0 and --max-steps positive; got {r.GetValue(every)} and {r.GetValue(maxSteps)}.");
            }

            return new Settings(s, r.GetValue(checkpoint), r.GetValue(every), r.GetValue(resume), r.GetValue(maxSteps));
        }
    }

    /// <summary>
    /// <c>train --distributed</c>: every rank runs this with the same model and data; rank 0 prints,
    /// checkpoints and saves <paramref name="outPath"/>. A failure on any rank ends the whole job
    /// (MPI_Abort), so no rank waits forever for a dead one.
    /// </summary>
    public static void Train(Model model, Tensor x, Tensor y, double validationSplit, int epochs, int batchSize, int seed, int verbose, string outPath, Settings s)
    {
        using var comm = Open();
        Guard(comm, () =>
        {
            (Tensor X, Tensor Y)? validation = null;
            if (validationSplit > 0)
            {
                int n = y.Dim(0), splitAt = (int)Math.Floor(n * (1.0 - validationSplit));
                if (splitAt <= 0 || splitAt >= n)
                {
                    throw new ArgumentException($"--validation-split {validationSplit} of {n} samples leaves an empty training or validation set.");
                }

                validation = (x.Slice(splitAt, n - splitAt), y.Slice(splitAt, n - splitAt));
                (x, y) = (x.Slice(0, splitAt), y.Slice(0, splitAt));
            }

            var options = new DistributedOptions
            {
                BatchSize = batchSize,
                Epochs = epochs,
                Seed = seed,
                VirtualShards = s.Shards,
                Verbose = verbose,
                ValidationData = validation is { } v ? ([v.X], v.Y) : null,
                CheckpointPath = s.Checkpoint ?? (s.Resume || s.CheckpointEvery > 0 || s.MaxSteps is not null ? outPath + ".ckpt" : null),
                CheckpointEverySteps = s.CheckpointEvery,
                Resume = s.Resume,
                MaxSteps = s.MaxSteps,
            };
            if (comm.Rank == 0)
            {
                Console.WriteLine($"distributed: {comm.Description}; global batch {batchSize} in {s.Shards} virtual shards");
                model.Summary();
            }

            var trainer = new DistributedTrainer(model, comm);
            var history = trainer.Fit([x], y, options);
            if (comm.Rank == 0)
            {
                model.Save(outPath, includeOptimizer: true, epoch: history.Epochs.Count > 0 ? history.Epochs[^1] + 1 : null);
                Console.WriteLine($"rank 0: {trainer.Timings}");
                Console.WriteLine($"Saved {outPath}.");
            }

            comm.Barrier();
        });
    }

    /// <summary>
    /// An experiment's body, distributed when <paramref name="settings"/> is given: the
    /// communicator is opened once for the whole run, ranks other than 0 print nothing (their
    /// console output is dropped) and write no files, and a failure on any rank aborts the job.
    /// </summary>
    public static int RunExperiment(Settings? settings, Func<Run?, int> body)
    {
        if (settings is null)
        {
            return body(null);
        }

        using var comm = Open();
        var run = new Run(comm, settings);
        if (!run.IsRoot)
        {
            Console.SetOut(TextWriter.Null);
        }
        else
        {
            Console.WriteLine($"distributed: {comm.Description}; global batch in {settings.Shards} virtual shards");
        }

        int code = 0;
        Guard(comm, () => code = body(run));
        comm.Barrier();
        return code;
    }

    /// <summary>One distributed experiment run: its communicator and settings.</summary>
    public sealed class Run(ICommunicator comm, Settings settings)
    {
        public bool IsRoot => comm.Rank == 0;

        /// <summary>
        /// The distributed counterpart of <see cref="Experiments.ExperimentRunner.Train"/>: the test
        /// set as validation data, rank 0 saves the model and evaluates it; every rank returns the
        /// same result.
        /// </summary>
        public Experiments.ModelResult TrainExperiment(
            string label, Model model, Tensor xTrain, Tensor yTrain, Tensor xTest, Tensor yTest,
            int batch, int epochs, double? articleAccuracy, string savePath, int verbose, int seed)
        {
            string? checkpoint = settings.Checkpoint is { } c ? $"{c}.{label}" : settings.Resume || settings.CheckpointEvery > 0 || settings.MaxSteps is not null ? savePath + ".ckpt" : null;
            var trainer = new DistributedTrainer(model, comm);
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var history = trainer.Fit([xTrain], yTrain, new DistributedOptions
            {
                BatchSize = batch,
                Epochs = epochs,
                Seed = seed,
                VirtualShards = settings.Shards,
                Verbose = verbose,
                ValidationData = ([xTest], yTest),
                CheckpointPath = checkpoint,
                CheckpointEverySteps = settings.CheckpointEvery,
                Resume = settings.Resume,
                MaxSteps = settings.MaxSteps,
            });
            double testLoss = history.Contains("val_loss") ? history["val_loss"][^1] : double.NaN;
            double testAcc = history.Contains("val_accuracy") ? history["val_accuracy"][^1] : double.NaN;
            double perEpoch = history.Seconds.Count == 0 ? 0 : history.Seconds.Average();
            if (IsRoot)
            {
                model.Save(savePath, includeOptimizer: true, epoch: history.Epochs.Count == 0 ? 0 : history.Epochs[^1] + 1);
                Console.WriteLine($"{label}: test loss {testLoss:0.0000}, test accuracy {testAcc * 100:0.00} %{(articleAccuracy is { } a ? $" (article: {a * 100:0.00} %)" : string.Empty)}, {perEpoch:0.0} s/epoch; saved {savePath}");
                Console.WriteLine($"{label}: rank 0: {trainer.Timings}");
            }

            return new Experiments.ModelResult(label, model.CountParams(), history, testLoss, testAcc, perEpoch, articleAccuracy) { EpochsPlanned = epochs };
        }
    }

    /// <summary>Runs <paramref name="body"/>; on an exception with other ranks alive, prints it and aborts the job.</summary>
    public static void Guard(ICommunicator comm, Action body)
    {
        try
        {
            body();
        }
        catch (Exception e) when (comm.Size > 1 && comm is MpiCommunicator)
        {
            Console.Error.WriteLine($"lstmsharp: rank {comm.Rank}: {CliErrors.Describe(e)}");
            Console.Error.Flush();
            comm.Abort(CliErrors.IsUserError(e) ? CliErrors.UserError : CliErrors.InternalError);
            throw;
        }
    }

    private static Command MpiCheck()
    {
        var benchmark = new Option<bool>("--benchmark") { Description = "Then time the gradient reduction (fixed-order sum, and MPI_Allreduce of the same bytes for comparison) from 4 KB to 64 MB per rank." };
        var shards = new Option<int>("--shards") { Description = "Virtual shards for --benchmark.", DefaultValueFactory = _ => 12 };
        var cmd = new Command("mpi-check", "Run every collective used by --distributed training on all ranks (start with mpirun -np N) and check the results bit for bit; exit 1 if any rank saw a wrong result.") { benchmark, shards };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            using var comm = Open();
            var result = CommunicatorSelfTest.Run(comm);
            foreach (var failure in result.LocalFailures)
            {
                Console.Error.WriteLine($"lstmsharp: mpi-check: {failure}");
            }

            if (comm.Rank == 0)
            {
                Console.WriteLine($"{comm.Description}: {result.Checks} checks per rank, {(result.FailedOnAnyRank == 0 ? "all passed" : $"{result.FailedOnAnyRank} failed")}");
            }

            if (result.FailedOnAnyRank == 0 && r.GetValue(benchmark))
            {
                if (comm.Rank == 0)
                {
                    Console.WriteLine($"gradient reduction, {comm.Size} ranks, {r.GetValue(shards)} virtual shards (median of 9, slowest rank):");
                    Console.WriteLine("floats\tbytes\tsharded_sum_ms\tallreduce_ms\tsharded_GB/s");
                }

                for (int floats = 1 << 10; floats <= 1 << 24; floats <<= 2)
                {
                    var (sharded, allreduce) = CommunicatorSelfTest.MeasureReduction(comm, floats, r.GetValue(shards), 9);
                    if (comm.Rank == 0)
                    {
                        Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{floats}\t{floats * 4L}\t{sharded * 1e3:0.000}\t{allreduce * 1e3:0.000}\t{floats * 4e-9 / sharded:0.00}"));
                    }
                }
            }

            return result.FailedOnAnyRank == 0 ? 0 : CliErrors.UserError;
        }));
        return cmd;
    }
}
