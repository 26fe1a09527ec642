using LstmSharp.Tensors;

namespace LstmSharp.Data.Batches;

/// <summary>
/// In-memory tensors as a batch source: rows cut into batches of <c>batchSize</c> (the last
/// one smaller), reshuffled every epoch when <c>shuffle</c> (epoch e's order is a function of
/// the seed and e only, so prefetching or resuming at an epoch gives the same batches).
/// </summary>
public sealed class TensorBatchSource : IBatchSource
{
    private readonly Tensor[] inputs;
    private readonly Tensor? targets;
    private readonly int batchSize;
    private readonly bool shuffle;
    private readonly Rng seedRng;

    public TensorBatchSource(Tensor x, Tensor? y, int batchSize = 32, bool shuffle = false, int? seed = null)
        : this([x], y, batchSize, shuffle, seed)
    {
    }

    public TensorBatchSource(IReadOnlyList<Tensor> x, Tensor? y, int batchSize = 32, bool shuffle = false, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (batchSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"TensorBatchSource: batchSize must be positive, got {batchSize}.");
        }

        // Validates the sample counts once, with the same message a batch would give.
        _ = new Batch(x, y);
        inputs = [.. x];
        targets = y;
        this.batchSize = batchSize;
        this.shuffle = shuffle;
        seedRng = seed is { } s ? new Rng(s) : Rng.CreateFromGlobal();
        SampleCount = x[0].Dim(0);
    }

    public int SampleCount { get; }

    public int? BatchCount => (SampleCount + batchSize - 1) / batchSize;

    public IEnumerable<Batch> ReadEpoch(int epoch)
    {
        var order = shuffle ? seedRng.Split(epoch).Permutation(SampleCount) : null;
        for (int start = 0; start < SampleCount; start += batchSize)
        {
            int count = Math.Min(batchSize, SampleCount - start);
            yield return order is null
                ? new Batch(inputs.Select(t => t.Slice(start, count).Clone()).ToArray(), targets?.Slice(start, count).Clone())
                : new Batch(inputs.Select(t => t.GatherRows(order.AsSpan(start, count))).ToArray(), targets?.GatherRows(order.AsSpan(start, count)));
        }
    }
}
