using LstmSharp.Data;
using LstmSharp.Tensors;

namespace LstmSharp.Tests.Data;

/// <summary>Keras's <c>timeseries_dataset_from_array</c> rules, on windows computed by hand.</summary>
public class TimeseriesTests
{
    private static Tensor Range(int n) => Tensor.From(Enumerable.Range(0, n).Select(i => (float)i).ToArray());

    private static float[][] Rows(Tensor t) => t.Reshape(t.Dim(0), -1).ToJagged();

    [Fact]
    public void KerasDocExampleStrideThreeSamplingRateTwo()
    {
        // Keras's docstring: indices 0..98, sequence_length=10, sampling_rate=2, sequence_stride=3.
        var ds = Timeseries.DatasetFromArray(Range(99), null, sequenceLength: 10, sequenceStride: 3, samplingRate: 2, batchSize: 128);
        var (x, y) = ds.ToTensors();
        Assert.Null(y);
        Assert.Equal([27, 10], x.ShapeArray);
        var rows = Rows(x);
        Assert.Equal([0f, 2, 4, 6, 8, 10, 12, 14, 16, 18], rows[0]);
        Assert.Equal([3f, 5, 7, 9, 11, 13, 15, 17, 19, 21], rows[1]);
        Assert.Equal([6f, 8, 10, 12, 14, 16, 18, 20, 22, 24], rows[2]);
        Assert.Equal([78f, 80, 82, 84, 86, 88, 90, 92, 94, 96], rows[^1]);
    }

    [Fact]
    public void TargetsOffsetByTheWindowGiveTheNextValue()
    {
        // Keras's example 2: data[:-10] as inputs, data[10:] as targets, windows of 10.
        var all = Range(100);
        var ds = Timeseries.DatasetFromArray(all.Slice(0, 90), all.Slice(10, 90), sequenceLength: 10, batchSize: 16);
        Assert.Equal(81, ds.SampleCount); // 90 - (10 - 1)
        Assert.Equal(6, ds.BatchCount);
        var batches = ds.ReadEpoch(0).ToList();
        Assert.Equal([16, 16, 16, 16, 16, 1], batches.Select(b => b.Count));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (float)i), batches[0].Inputs[0].Slice(0, 1).ToArray());
        Assert.Equal(10f, batches[0].Targets!.Span[0]);
        Assert.Equal(Enumerable.Range(80, 10).Select(i => (float)i), batches[^1].Inputs[0].ToArray());
        Assert.Equal(90f, batches[^1].Targets!.Span[0]);
    }

    [Fact]
    public void StartAndEndIndexBoundTheWindowsAndIndexTheTargetsFromTheStart()
    {
        // 20 steps of 2 features (value, 100 + value); windows of 3 in [5, 15): starts 5..12.
        var data = new Tensor(20, 2);
        for (int t = 0; t < 20; t++)
        {
            data[t, 0] = t;
            data[t, 1] = 100 + t;
        }

        var targets = Tensor.From(Enumerable.Range(0, 20).Select(i => i * 10f).ToArray());
        var ds = Timeseries.DatasetFromArray(data, targets, sequenceLength: 3, startIndex: 5, endIndex: 15);
        Assert.Equal([5, 6, 7, 8, 9, 10, 11, 12], ds.WindowStarts);
        var (x, y) = ds.ToTensors();
        Assert.Equal([8, 3, 2], x.ShapeArray);
        Assert.Equal([5f, 105, 6, 106, 7, 107], x.Slice(0, 1).ToArray());
        Assert.Equal([12f, 112, 13, 113, 14, 114], x.Slice(7, 1).ToArray()); // step 14 < endIndex 15
        Assert.Equal([50f, 60, 70, 80, 90, 100, 110, 120], y!.ToArray());

        // Stride and sampling rate with an end index: span (4 - 1)·2 + 1 = 7 steps; 15 - 7 + 1 = 9 start positions, every 4th.
        var strided = Timeseries.DatasetFromArray(data, null, sequenceLength: 4, sequenceStride: 4, samplingRate: 2, endIndex: 15);
        Assert.Equal([0, 4, 8], strided.WindowStarts);
        Assert.Equal([8f, 10, 12, 14], strided.ToTensors().X.Slice(2, 1).Reshape(4, 2).ToJagged().Select(r => r[0]));
    }

    [Fact]
    public void EndIndexFollowsKerasQuirks()
    {
        var data = Range(10);
        // end_index = 0 reads as "not given" (Keras tests `if end_index:`).
        Assert.Equal(8, Timeseries.DatasetFromArray(data, null, 3, endIndex: 0).SampleCount);
        // end_index must be LOWER than len(data).
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Timeseries.DatasetFromArray(data, null, 3, endIndex: 10));
        Assert.Contains("lower than the data's length 10, got 10", ex.Message);
        Assert.Equal(7, Timeseries.DatasetFromArray(data, null, 3, endIndex: 9).SampleCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => Timeseries.DatasetFromArray(data, null, 3, startIndex: 5, endIndex: 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Timeseries.DatasetFromArray(data, null, 3, startIndex: 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => Timeseries.DatasetFromArray(data, null, 3, startIndex: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Timeseries.DatasetFromArray(data, null, 3, samplingRate: 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => Timeseries.DatasetFromArray(data, null, 3, sequenceStride: 0));
    }

    [Fact]
    public void ShorterTargetsLimitTheWindowCount()
    {
        var ds = Timeseries.DatasetFromArray(Range(10), Range(4), sequenceLength: 3);
        Assert.Equal(4, ds.SampleCount);
        Assert.Equal([0f, 1, 2, 3], ds.ToTensors().Y!.ToArray());
    }

    [Fact]
    public void LookbackLongerThanTheSeriesIsOneClearError()
    {
        var ex = Assert.Throws<ArgumentException>(() => Timeseries.DatasetFromArray(Range(50), null, sequenceLength: 60));
        Assert.Contains("spans 60 steps", ex.Message);
        Assert.Contains("[0, 50) hold only 50", ex.Message);
        Assert.Throws<ArgumentException>(() => Timeseries.DatasetFromArray(new Tensor(0, 3), null, 2));
    }

    [Fact]
    public void ShuffleDrawsKerasNumpyOrderThenReshufflesPerEpoch()
    {
        // Expected: numpy 1.24, np.random.RandomState(1337).shuffle(np.arange(0, 81, 3)).
        int[] numpy = [0, 15, 36, 30, 78, 12, 48, 9, 57, 63, 45, 6, 42, 51, 39, 33, 3, 18, 27, 75, 60, 66, 54, 72, 21, 24, 69];
        var ds = Timeseries.DatasetFromArray(Range(99), null, 10, sequenceStride: 3, samplingRate: 2, batchSize: 5, shuffle: true, seed: 1337);
        Assert.Equal(numpy, ds.WindowStarts);
        Assert.Equal(numpy.Select(p => (float)p), ds.ReadEpoch(0).SelectMany(b => Rows(b.Inputs[0]).Select(r => r[0])));
        var epoch1 = ds.ReadEpoch(1).SelectMany(b => Rows(b.Inputs[0]).Select(r => r[0])).ToArray();
        Assert.NotEqual(numpy.Select(p => (float)p), epoch1);
        Assert.Equal(numpy.Order().Select(p => (float)p), epoch1.Order());
        Assert.Equal(epoch1, ds.ReadEpoch(1).SelectMany(b => Rows(b.Inputs[0]).Select(r => r[0])));
    }
}
