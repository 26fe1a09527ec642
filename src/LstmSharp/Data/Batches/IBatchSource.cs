namespace LstmSharp.Data.Batches;

/// <summary>
/// A source of batches for <c>Fit</c>, <c>Evaluate</c> and <c>Predict</c> — Keras's
/// <c>PyDataset</c>, PyTorch's <c>DataLoader</c>: the data need not be in memory, only the
/// batches being built and used. The model reads one epoch at a time, building the next
/// batch on a background thread while it trains on the current one (<see cref="BatchPrefetcher"/>).
/// </summary>
/// <remarks>
/// <see cref="ReadEpoch"/> runs on that background thread: an implementation must not touch
/// the model, and owns any random state it shuffles with (seeded from the epoch number, an
/// epoch reads the same whether prefetched or not). A batch's tensors are the model's to use
/// until the next batch is requested; the source must not overwrite them later (build new
/// tensors per batch, or keep a pool larger than the prefetch depth + 1).
/// </remarks>
public interface IBatchSource
{
    /// <summary>Number of batches in one epoch (Keras <c>len(dataset)</c>), or null for a stream of unknown length.</summary>
    int? BatchCount { get; }

    /// <summary>The batches of epoch <paramref name="epoch"/> (0-based), in training order.</summary>
    IEnumerable<Batch> ReadEpoch(int epoch);
}
