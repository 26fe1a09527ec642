using LstmSharp.Data.Batches;
using LstmSharp.Tensors;

namespace LstmSharp.Data;

/// <summary>
/// The windows of <see cref="Timeseries.DatasetFromArray(Tensor, Tensor?, int, int, int, int, bool, int?, int?, int?)"/>:
/// built batch by batch from the series (the windows themselves are never all in memory).
/// </summary>
public sealed class TimeseriesDataset : IBatchSource
{
    private readonly Tensor data;
    private readonly Tensor? targets;
    private readonly int sequenceLength;
    private readonly int samplingRate;
    private readonly int batchSize;
    private readonly int startIndex;
    private readonly int[] positions;
    private readonly bool shuffle;
    private readonly Rng epochRng;

    internal TimeseriesDataset(Tensor data, Tensor? targets, int sequenceLength, int samplingRate, int batchSize, int startIndex, int[] positions, bool shuffle, int seed)
    {
        this.data = data;
        this.targets = targets;
        this.sequenceLength = sequenceLength;
        this.samplingRate = samplingRate;
        this.batchSize = batchSize;
        this.startIndex = startIndex;
        this.positions = positions;
        this.shuffle = shuffle;
        epochRng = new Rng(seed);
    }

    /// <summary>Number of windows.</summary>
    public int SampleCount => positions.Length;

    public int? BatchCount => (positions.Length + batchSize - 1) / batchSize;

    /// <summary>Absolute index in the data of the first step of each window, in epoch 0's order.</summary>
    public IReadOnlyList<int> WindowStarts => positions.Select(p => p + startIndex).ToArray();

    public IEnumerable<Batch> ReadEpoch(int epoch)
    {
        var order = positions;
        if (shuffle && epoch > 0)
        {
            order = (int[])positions.Clone();
            epochRng.Split(epoch).Shuffle(order);
        }

        for (int at = 0; at < order.Length; at += batchSize)
        {
            var (x, y) = Windows(order.AsSpan(at, Math.Min(batchSize, order.Length - at)));
            yield return new Batch(x, y);
        }
    }

    /// <summary>Every window and its target, in epoch 0's order: <c>([windows, sequenceLength, ...], [windows, ...])</c>.</summary>
    public (Tensor X, Tensor? Y) ToTensors() => Windows(positions);

    private (Tensor X, Tensor? Y) Windows(ReadOnlySpan<int> starts)
    {
        int row = data.Dim(0) == 0 ? 0 : data.Length / data.Dim(0);
        var x = new Tensor([starts.Length, sequenceLength, .. data.ShapeArray[1..]]);
        var src = data.Span;
        var dst = x.Span;
        int window = sequenceLength * row;
        for (int i = 0; i < starts.Length; i++)
        {
            int first = startIndex + starts[i];
            for (int j = 0; j < sequenceLength; j++)
            {
                src.Slice((first + (j * samplingRate)) * row, row).CopyTo(dst.Slice((i * window) + (j * row), row));
            }
        }

        if (targets is null)
        {
            return (x, null);
        }

        int trow = targets.Length / targets.Dim(0);
        var y = new Tensor([starts.Length, .. targets.ShapeArray[1..]]);
        var ts = targets.Span;
        for (int i = 0; i < starts.Length; i++)
        {
            ts.Slice((startIndex + starts[i]) * trow, trow).CopyTo(y.Span.Slice(i * trow, trow));
        }

        return (x, y);
    }
}
