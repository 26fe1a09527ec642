using System.Diagnostics;
using System.Globalization;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Serialization;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Distributed;

/// <summary>
/// Synchronous data-parallel training (the Horovod / PyTorch DDP design) whose weights are
/// bit-identical for any number of ranks, including one plain process.
/// </summary>
/// <remarks>
/// <para>
/// Every rank holds the same model. Rank 0's weights and optimizer state are broadcast at the
/// start (from its checkpoint when resuming). Each epoch's sample order is a permutation seeded by
/// (seed, epoch); each global batch of it is cut into <see cref="DistributedOptions.VirtualShards"/>
/// contiguous slices, and rank r computes the gradients of the contiguous block of slices
/// <c>[V·r/N, V·(r+1)/N)</c>, one forward/backward pass per slice. Dropout masks are drawn per
/// sample from (seed, epoch, the sample's index in the data set), so they do not depend on which
/// rank or slice computes the sample. Each slice's gradient, scaled by its share of the batch,
/// is summed over slices in slice order by <see cref="ShardedSum"/> (never by MPI_Allreduce, whose
/// order of additions is unspecified), in buckets of fused tensors; then every rank applies the
/// weight penalties and the same optimizer step to the same sum. The same slices, sums and
/// steps happen on 1, 2 or V ranks, so the bits are the same.
/// </para>
/// <para>
/// Loss and metrics: each slice's loss and metric sums are gathered in slice order, so every
/// rank reports the same figures; rank 0 alone prints, validates (and sends the result to the
/// others) and writes checkpoints. Every rank reads the full training set but gathers only its
/// slices' rows. Not supported: stateful recurrent layers (their state would follow a rank's
/// slice, not a sample) and class weights.
/// </para>
/// </remarks>
public sealed class DistributedTrainer
{
    private readonly Model model;
    private readonly ICommunicator comm;

    public DistributedTrainer(Model model, ICommunicator comm)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(comm);
        this.model = model;
        this.comm = comm;
    }

    /// <summary>Timings of the last <see cref="Fit"/> on this rank.</summary>
    public DistributedTimings? Timings { get; private set; }

    /// <summary>
    /// Trains on (x, y); every rank passes the same data and options. Returns the same
    /// <see cref="History"/> on every rank.
    /// </summary>
    public History Fit(IReadOnlyList<Tensor> x, Tensor y, DistributedOptions options)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(options);
        model.RequireCompiled("DistributedTrainer.Fit");
        (x, y) = model.DataToBatchMajor(x, y);
        model.CheckData("DistributedTrainer.Fit", x, y);
        var o = options;
        Check(o);
        var validation = o.ValidationData is { } vd ? model.DataToBatchMajor(vd.X, vd.Y) : ((IReadOnlyList<Tensor> X, Tensor Y)?)null;
        if (validation is { } v)
        {
            model.CheckData("DistributedTrainer.Fit validationData", v.X, v.Y);
        }

        int n = y.Dim(0);
        int steps = (int)(((long)n + o.BatchSize - 1) / o.BatchSize);
        var loss = model.ResolveLoss(y);
        var metricNames = model.CreateMetrics(loss).Select(m => m.Name).ToArray();
        var parameters = model.TrainableParameters;
        var (startEpoch, startStep) = SynchronizeState(o, n);
        int position = 0;
        foreach (var layer in AllLayers(model.Layers))
        {
            layer.SampleStream = (position++).ToString(CultureInfo.InvariantCulture);
        }

        var buckets = Bucket(parameters, o.BucketFloats);
        var reducer = new ShardedSum(comm, o.VirtualShards);
        int firstShard = ShardedSum.First(comm.Rank, comm.Size, o.VirtualShards);
        int localShards = reducer.LocalShards;
        var locals = buckets.Select(b => new float[localShards * b.Length]).ToArray();
        var sums = buckets.Select(b => new float[b.Length]).ToArray();

        // Per slice: rows, loss·rows, then each metric's weighted sum and weight.
        int statWidth = 2 + 2 * metricNames.Length;
        var stats = new double[localShards * statWidth];
        var allStats = new double[o.VirtualShards * statWidth];
        var statCounts = Enumerable.Range(0, comm.Size).Select(r => (ShardedSum.First(r + 1, comm.Size, o.VirtualShards) - ShardedSum.First(r, comm.Size, o.VirtualShards)) * statWidth).ToArray();

        var history = new History();
        ProgbarLogger? logger = comm.Rank != 0 || o.Verbose == 0 ? null : o.Output is { } writer ? new ProgbarLogger(writer, o.Verbose) : ProgbarLogger.ForConsole(o.Verbose);
        if (logger is not null)
        {
            (logger.Model, logger.Epochs, logger.Steps) = (model, o.Epochs, steps);
        }
        var order = new int[n];
        double compute = 0, wait = 0, reduce = 0, optimize = 0;
        int stepsRun = 0;
        bool stop = false;
        for (int epoch = startEpoch; epoch < o.Epochs && !stop; epoch++)
        {
            logger?.OnEpochBegin(epoch);
            var started = Stopwatch.GetTimestamp();
            EpochOrder(o, epoch, order);
            double lossSum = 0, rowsSum = 0;
            var metricSums = new double[metricNames.Length * 2];
            int firstStep = epoch == startEpoch ? startStep : 0;
            for (int step = firstStep; step < steps; step++)
            {
                int start = step * o.BatchSize, count = Math.Min(o.BatchSize, n - start);
                var t0 = Stopwatch.GetTimestamp();
                for (int k = 0; k < localShards; k++)
                {
                    int s = firstShard + k;
                    int from = ShardedSum.SliceStart(s, o.VirtualShards, count), rows = ShardedSum.SliceStart(s + 1, o.VirtualShards, count) - from;
                    var stat = stats.AsSpan(k * statWidth, statWidth);
                    stat.Clear();
                    if (rows == 0)
                    {
                        foreach (var (b, i) in buckets.Select((b, i) => (b, i)))
                        {
                            locals[i].AsSpan(k * b.Length, b.Length).Clear();
                        }

                        continue;
                    }

                    var samples = order.AsSpan(start + from, rows).ToArray();
                    var segment = new ArraySegment<int>(samples);
                    var xb = x.Select(t => t.GatherRows(segment)).ToArray();
                    var yb = y.GatherRows(segment);
                    var metrics = model.CreateMetrics(loss);
                    double value;
                    using (SampleRandom.Enter(o.Seed, epoch, samples))
                    {
                        value = model.ComputeGradients(xb, yb, loss, null, parameters, metrics);
                    }

                    // The slice's mean gradient, weighted by its share of the batch: the sum over slices is the batch's mean.
                    float share = (float)rows / count;
                    for (int i = 0; i < buckets.Length; i++)
                    {
                        var local = locals[i].AsSpan(k * buckets[i].Length, buckets[i].Length);
                        foreach (var (p, offset) in buckets[i].Members)
                        {
                            TensorPrimitives.Multiply(p.Grad.Span, share, local.Slice(offset, p.Count));
                        }
                    }

                    stat[0] = rows;
                    stat[1] = value * rows;
                    for (int m = 0; m < metrics.Length; m++)
                    {
                        stat[2 + 2 * m] = metrics[m].Metric.Total;
                        stat[3 + 2 * m] = metrics[m].Metric.TotalWeight;
                    }
                }

                // Waiting for the slowest rank is load imbalance, not transfer: measured apart.
                var t1 = Stopwatch.GetTimestamp();
                comm.Barrier();
                var t1b = Stopwatch.GetTimestamp();
                for (int i = 0; i < buckets.Length; i++)
                {
                    reducer.Sum(locals[i], buckets[i].Length, sums[i]);
                    foreach (var (p, offset) in buckets[i].Members)
                    {
                        sums[i].AsSpan(offset, p.Count).CopyTo(p.Grad.Span);
                    }
                }

                comm.Allgatherv<double>(stats, allStats, statCounts);
                var t2 = Stopwatch.GetTimestamp();
                double batchLoss = 0;
                for (int s = 0; s < o.VirtualShards; s++)
                {
                    var stat = allStats.AsSpan(s * statWidth, statWidth);
                    batchLoss += stat[1];
                    for (int m = 0; m < metricSums.Length; m++)
                    {
                        metricSums[m] += stat[2 + m];
                    }
                }

                batchLoss = batchLoss / count + Regularization.AddPenaltiesAndGradients(parameters);
                model.Optimizer!.Step(parameters);
                var t3 = Stopwatch.GetTimestamp();
                compute += Seconds(t0, t1);
                wait += Seconds(t1, t1b);
                reduce += Seconds(t1b, t2);
                optimize += Seconds(t2, t3);
                lossSum += batchLoss * count;
                rowsSum += count;
                stepsRun++;
                var logs = Logs(lossSum / rowsSum, metricNames, metricSums);
                logger?.OnBatchEnd(step, logs.ToDictionary());
                bool last = step == steps - 1;
                stop = o.MaxSteps is { } max && stepsRun >= max;
                if (o.CheckpointPath is { } path && (last || stop || (o.CheckpointEverySteps > 0 && (step + 1) % o.CheckpointEverySteps == 0)))
                {
                    WriteCheckpoint(path, o, n, last ? epoch + 1 : epoch, last ? 0 : step + 1);
                }

                if (stop)
                {
                    break;
                }
            }

            var epochLogs = Logs(rowsSum > 0 ? lossSum / rowsSum : double.NaN, metricNames, metricSums);
            if (validation is { } val && !stop)
            {
                var values = new double[metricNames.Length + 1];
                string[] keys = ["loss", .. metricNames];
                if (comm.Rank == 0)
                {
                    var result = model.EvaluateCore(val.X, val.Y, o.BatchSize, loss);
                    for (int k = 0; k < keys.Length; k++)
                    {
                        values[k] = result[keys[k]];
                    }
                }

                comm.Broadcast<double>(values, 0);
                for (int k = 0; k < keys.Length; k++)
                {
                    epochLogs.Add(new("val_" + keys[k], values[k]));
                }
            }

            logger?.OnEpochEnd(epoch, epochLogs.ToDictionary());
            history.Add(epoch, Stopwatch.GetElapsedTime(started).TotalSeconds, epochLogs);
        }

        Timings = new DistributedTimings(stepsRun, compute, wait, reduce, optimize, buckets.Sum(b => (long)b.Length));
        return history;
    }

    private void Check(DistributedOptions o)
    {
        string who = $"Model '{model.Name}' DistributedTrainer.Fit";
        if (o.BatchSize <= 0 || o.Epochs < 0 || o.BucketFloats <= 0 || o.CheckpointEverySteps < 0 || o.MaxSteps is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(o), $"{who}: batchSize, bucketFloats and maxSteps must be positive, epochs and checkpointEverySteps >= 0; got {o.BatchSize}, {o.BucketFloats}, {o.MaxSteps}, {o.Epochs} and {o.CheckpointEverySteps}.");
        }

        if (o.VirtualShards < comm.Size)
        {
            throw new ArgumentOutOfRangeException(nameof(o), $"{who}: virtualShards must be at least the number of ranks ({comm.Size}), got {o.VirtualShards}.");
        }

        if (o.Verbose is < 0 or > 2)
        {
            throw new ArgumentOutOfRangeException(nameof(o), $"{who}: verbose must be 0, 1 or 2, got {o.Verbose}.");
        }

        if (o.Resume && o.CheckpointPath is null)
        {
            throw new ArgumentException($"{who}: resume needs a checkpoint path.", nameof(o));
        }

        if (AllLayers(model.Layers).FirstOrDefault(l => l.Stateful) is { } stateful)
        {
            throw new NotSupportedException($"{who}: layer '{stateful.Name}' is stateful; its state would follow a rank's slice of the batch, not a sample.");
        }
    }

    private static IEnumerable<Layer> AllLayers(IEnumerable<Layer> layers) => layers.SelectMany(l => AllLayers(l.Sublayers).Prepend(l));

    private static void EpochOrder(DistributedOptions o, int epoch, int[] order)
    {
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        if (o.Shuffle)
        {
            new Rng(o.Seed).Split(epoch).Shuffle(order);
        }
    }

    private static List<KeyValuePair<string, double>> Logs(double loss, string[] names, double[] sums)
    {
        var logs = new List<KeyValuePair<string, double>> { new("loss", loss) };
        for (int m = 0; m < names.Length; m++)
        {
            logs.Add(new(names[m], sums[2 * m + 1] == 0 ? 0 : sums[2 * m] / sums[2 * m + 1]));
        }

        return logs;
    }

    private static double Seconds(long from, long to) => (to - from) / (double)Stopwatch.Frequency;

    // ------------------------------------------------------------ state: broadcast, checkpoint, resume

    /// <summary>Rank 0's weights, optimizer state and position (from its checkpoint when resuming) on every rank.</summary>
    private (int Epoch, int Step) SynchronizeState(DistributedOptions o, int samples)
    {
        byte[] blob = [];
        if (comm.Rank == 0)
        {
            var (epoch, step) = (0, 0);
            if (o.Resume && File.Exists(ProgressPath(o.CheckpointPath!)))
            {
                (epoch, step) = ReadCheckpoint(o.CheckpointPath!, o, samples);
            }

            blob = PackState(epoch, step);
        }

        var length = new long[] { blob.LongLength };
        comm.Broadcast<long>(length, 0);
        if (comm.Rank != 0)
        {
            blob = new byte[checked((int)length[0])];
        }

        comm.Broadcast<byte>(blob, 0);
        return comm.Rank == 0 ? ReadPosition(blob) : UnpackState(blob);
    }

    private byte[] PackState(int epoch, int step)
    {
        using var stream = new MemoryStream();
        using var w = new BinaryWriter(stream);
        w.Write(epoch);
        w.Write(step);
        var weights = model.GetWeights();
        w.Write(weights.Length);
        foreach (var a in weights)
        {
            WriteFloats(w, a);
        }

        var state = model.Optimizer!.GetState();
        w.Write(state.Iterations);
        w.Write(state.LearningRate.HasValue);
        w.Write(state.LearningRate ?? 0);
        w.Write(state.Slots.Count);
        foreach (var (key, slot) in state.Slots.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            w.Write(key);
            w.Write(slot.Shape.Length);
            foreach (int d in slot.Shape)
            {
                w.Write(d);
            }

            WriteFloats(w, slot.Values);
        }

        w.Flush();
        return stream.ToArray();
    }

    private static (int, int) ReadPosition(byte[] blob) => (BitConverter.ToInt32(blob, 0), BitConverter.ToInt32(blob, 4));

    private (int, int) UnpackState(byte[] blob)
    {
        using var r = new BinaryReader(new MemoryStream(blob));
        int epoch = r.ReadInt32(), step = r.ReadInt32();
        var weights = new float[r.ReadInt32()][];
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = ReadFloats(r);
        }

        model.SetWeights(weights);
        long iterations = r.ReadInt64();
        bool hasLr = r.ReadBoolean();
        double lr = r.ReadDouble();
        int count = r.ReadInt32();
        var slots = new Dictionary<string, StateArray>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            string key = r.ReadString();
            var shape = new int[r.ReadInt32()];
            for (int d = 0; d < shape.Length; d++)
            {
                shape[d] = r.ReadInt32();
            }

            slots[key] = new StateArray(shape, ReadFloats(r));
        }

        model.Optimizer!.SetState(new OptimizerState(iterations, hasLr ? lr : null, slots), model.TrainableParameters);
        return (epoch, step);
    }

    private static void WriteFloats(BinaryWriter w, float[] values)
    {
        w.Write(values.Length);
        w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
    }

    private static float[] ReadFloats(BinaryReader r)
    {
        var values = new float[r.ReadInt32()];
        r.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    /// <summary>The progress file beside a checkpoint: where to go on, and what the run must match.</summary>
    public static string ProgressPath(string checkpoint) => checkpoint + ".progress.json";

    private void WriteCheckpoint(string path, DistributedOptions o, int samples, int nextEpoch, int nextStep)
    {
        if (comm.Rank != 0)
        {
            return;
        }

        // Model, then progress, then the rename: a kill at any point leaves a progress file whose
        // model_sha256 matches either the checkpoint or its ".next" (each write is atomic).
        string next = path + ".next";
        model.Save(next, includeOptimizer: true, epoch: nextEpoch);
        var progress = new JsonObject
        {
            ["epoch"] = nextEpoch,
            ["step"] = nextStep,
            ["seed"] = o.Seed,
            ["batch_size"] = o.BatchSize,
            ["virtual_shards"] = o.VirtualShards,
            ["samples"] = samples,
            ["shuffle"] = o.Shuffle,
            ["model_sha256"] = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(next))),
        };
        AtomicFile.Write(ProgressPath(path), s => s.Write(System.Text.Encoding.UTF8.GetBytes(progress.ToJsonString(new JsonSerializerOptions { WriteIndented = true }))));
        File.Move(next, path, overwrite: true);
    }

    private (int Epoch, int Step) ReadCheckpoint(string path, DistributedOptions o, int samples)
    {
        string progressPath = ProgressPath(path);
        if (!File.Exists(progressPath))
        {
            throw new FileNotFoundException($"Resume: the checkpoint {path} has no progress file {progressPath} (written beside it by distributed training).", progressPath);
        }

        var p = JsonNode.Parse(File.ReadAllText(progressPath)) as JsonObject ?? throw new InvalidDataException($"Resume: {progressPath} is not a JSON object.");
        long Get(string key) => p[key] is JsonValue jv && jv.TryGetValue(out long l) ? l : throw new InvalidDataException($"Resume: {progressPath} has no integer '{key}'.");
        string? expectedHash = p["model_sha256"] is JsonValue hv && hv.TryGetValue(out string? h) ? h : null;
        string? source = new[] { path, path + ".next" }.FirstOrDefault(f => File.Exists(f) && string.Equals(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))), expectedHash, StringComparison.Ordinal));
        if (source is null)
        {
            throw new InvalidDataException($"Resume: {progressPath} describes neither {path} nor {path}.next (model_sha256 differs); resume from an earlier copy or start again.");
        }

        foreach (var (key, expected) in new (string, long)[] { ("seed", o.Seed), ("batch_size", o.BatchSize), ("virtual_shards", o.VirtualShards), ("samples", samples) })
        {
            if (Get(key) != expected)
            {
                throw new ArgumentException($"Resume: {progressPath} was written with {key} {Get(key)}, this run has {expected}; the continuation would not be the same run.");
            }
        }

        var saved = Model.Load(source);
        model.SetWeights(saved.GetWeights());
        if (saved.Optimizer is null)
        {
            throw new InvalidDataException($"Resume: {source} holds no optimizer state.");
        }

        model.Optimizer!.SetState(saved.Optimizer.GetState(), model.TrainableParameters);
        return ((int)Get("epoch"), (int)Get("step"));
    }

    // ------------------------------------------------------------ buckets (tensor fusion)

    private sealed record GradientBucket(int Length, (Parameter Parameter, int Offset)[] Members);

    /// <summary>Consecutive parameters fused into messages of at most <paramref name="maxFloats"/> (a larger one alone).</summary>
    private static GradientBucket[] Bucket(IReadOnlyList<Parameter> parameters, int maxFloats)
    {
        var buckets = new List<GradientBucket>();
        var members = new List<(Parameter, int)>();
        int length = 0;
        foreach (var p in parameters)
        {
            if (length > 0 && (long)length + p.Count > maxFloats)
            {
                buckets.Add(new GradientBucket(length, [.. members]));
                members.Clear();
                length = 0;
            }

            members.Add((p, length));
            length += p.Count;
        }

        if (members.Count > 0)
        {
            buckets.Add(new GradientBucket(length, [.. members]));
        }

        return [.. buckets];
    }
}
