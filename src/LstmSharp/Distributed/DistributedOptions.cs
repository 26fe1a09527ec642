using LstmSharp.Tensors;

namespace LstmSharp.Distributed;

/// <summary>Settings of <see cref="DistributedTrainer.Fit"/>; the same on every rank.</summary>
public sealed record DistributedOptions
{
    /// <summary>The global batch: samples per optimizer step over all ranks together.</summary>
    public int BatchSize { get; init; } = 32;

    public int Epochs { get; init; } = 1;

    /// <summary>Seeds the per-epoch sample order and the per-sample dropout masks.</summary>
    public long Seed { get; init; } = 42;

    public bool Shuffle { get; init; } = true;

    /// <summary>
    /// Fixed slices of each global batch whose gradients are computed separately and summed in
    /// slice order (default 12: 1, 2, 3, 4, 6 or 12 ranks get equal shares). Results depend on
    /// this number, never on the rank count; it must be at least the rank count.
    /// </summary>
    public int VirtualShards { get; init; } = 12;

    /// <summary>Largest fused gradient message in floats (tensor fusion); a larger tensor travels alone.</summary>
    public int BucketFloats { get; init; } = 1 << 20;

    /// <summary>0 silent, 1 Keras's progress line, 2 one line per epoch; rank 0 only.</summary>
    public int Verbose { get; init; } = 1;

    /// <summary>Where rank 0 writes progress (default: the console).</summary>
    public TextWriter? Output { get; init; }

    /// <summary>Validation data, evaluated by rank 0 after every epoch.</summary>
    public (IReadOnlyList<Tensor> X, Tensor Y)? ValidationData { get; init; }

    /// <summary>Checkpoint written by rank 0 (a model file with optimizer state, and beside it <c>.progress.json</c>); null = none.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>Also checkpoint every this many steps (0: at the end of each epoch only).</summary>
    public int CheckpointEverySteps { get; init; }

    /// <summary>Start from <see cref="CheckpointPath"/> when it exists (rank 0 reads it and sends it to every rank).</summary>
    public bool Resume { get; init; }

    /// <summary>Stop after this many optimizer steps in this call (null: run every epoch); for time budgets.</summary>
    public int? MaxSteps { get; init; }
}

/// <summary>
/// Where the time of a distributed run went on this rank (seconds): computing its shards'
/// gradients, waiting at the step's barrier for the slowest rank (load imbalance), exchanging
/// and summing the gradients and the per-shard figures, and the optimizer step.
/// </summary>
public sealed record DistributedTimings(int Steps, double ComputeSeconds, double WaitSeconds, double ReduceSeconds, double OptimizerSeconds, long GradientFloats)
{
    /// <summary>Share of the step spent exchanging gradients and figures (waiting excluded).</summary>
    public double CommunicationShare => Total > 0 ? ReduceSeconds / Total : 0;

    /// <summary>Share of the step spent waiting for the slowest rank.</summary>
    public double WaitShare => Total > 0 ? WaitSeconds / Total : 0;

    private double Total => ComputeSeconds + WaitSeconds + ReduceSeconds + OptimizerSeconds;

    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{Steps} steps: compute {ComputeSeconds:0.00} s, waiting for the slowest rank {WaitSeconds:0.00} s ({WaitShare:P1}), gradient exchange {ReduceSeconds:0.00} s ({CommunicationShare:P1}), optimizer {OptimizerSeconds:0.00} s; {GradientFloats} gradient floats per step");
}
