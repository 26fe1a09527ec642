using LstmSharp.Tensors;

namespace LstmSharp.Data;

/// <summary>Keras's <c>keras.utils.timeseries_dataset_from_array</c> and friends.</summary>
public static class Timeseries
{
    /// <summary>
    /// Sliding windows over a series as a batch source — Keras's
    /// <c>timeseries_dataset_from_array</c>, with its rules: window <c>i</c> starts at
    /// <c>startIndex + p_i</c> with <c>p_i = i·sequenceStride</c> and holds the steps
    /// <c>startIndex + p_i + j·samplingRate</c>, <c>j &lt; sequenceLength</c>; its target is
    /// <c>targets[startIndex + p_i]</c>. Windows never reach <paramref name="endIndex"/>
    /// (exclusive): there are <c>endIndex − startIndex − (sequenceLength − 1)·samplingRate</c>
    /// start positions (at most <c>targets.Length</c>), every <paramref name="sequenceStride"/>-th taken.
    /// </summary>
    /// <param name="data">The series, time on the first axis: <c>[time]</c> or <c>[time, features]</c>.</param>
    /// <param name="targets">Per-step targets (<c>[time]</c> or <c>[time, k]</c>), or null for inputs only.</param>
    /// <param name="sequenceLength">Steps per window.</param>
    /// <param name="sequenceStride">Steps between the starts of consecutive windows.</param>
    /// <param name="samplingRate">Steps between consecutive elements of a window.</param>
    /// <param name="batchSize">Windows per batch (the last batch may be smaller).</param>
    /// <param name="shuffle">Shuffle the windows: the order of epoch 0 is numpy's
    /// <c>RandomState(seed).shuffle</c> of the start positions, as Keras draws it (Keras then
    /// also shuffles within a tf.data buffer, which cannot be reproduced outside TensorFlow);
    /// every later epoch reshuffles from (seed, epoch).</param>
    /// <param name="seed">Shuffle seed; null draws one from the global generator.</param>
    /// <param name="startIndex">First step used (null or 0: the start).</param>
    /// <param name="endIndex">Steps at or after it are not used (null: the end). As in Keras, 0 means
    /// "not given" and <c>endIndex</c> must be lower than the data's length.</param>
    /// <remarks>
    /// One departure from Keras: where Keras returns an empty dataset when no window fits, this
    /// throws, naming the lengths (a lookback longer than the series is a mistake, not a result).
    /// </remarks>
    public static TimeseriesDataset DatasetFromArray(
        Tensor data, Tensor? targets, int sequenceLength, int sequenceStride = 1, int samplingRate = 1,
        int batchSize = 128, bool shuffle = false, int? seed = null, int? startIndex = null, int? endIndex = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Rank == 0 || data.Dim(0) == 0)
        {
            throw new ArgumentException($"Timeseries.DatasetFromArray: data must be a non-empty series [time, ...], got {Tensor.FormatShape(data.Shape)}.", nameof(data));
        }

        int n = data.Dim(0);
        if (sequenceLength <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sequenceLength), $"Timeseries.DatasetFromArray: sequenceLength must be positive, got {sequenceLength}.");
        }

        if (batchSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"Timeseries.DatasetFromArray: batchSize must be positive, got {batchSize}.");
        }

        // Keras tests `if start_index:` and `if end_index:`, so 0 means "not given" for both.
        int start = startIndex ?? 0;
        if (start != 0 && (start < 0 || start >= n))
        {
            throw new ArgumentOutOfRangeException(nameof(startIndex), $"Timeseries.DatasetFromArray: startIndex must be in [0, {n}) (the data's length), got {start}.");
        }

        int end = endIndex is null or 0 ? n : endIndex.Value;
        if (endIndex is { } e && e != 0)
        {
            if (start != 0 && e <= start)
            {
                throw new ArgumentOutOfRangeException(nameof(endIndex), $"Timeseries.DatasetFromArray: endIndex must be higher than startIndex {start}, got {e}.");
            }

            if (e >= n)
            {
                throw new ArgumentOutOfRangeException(nameof(endIndex), $"Timeseries.DatasetFromArray: endIndex must be lower than the data's length {n}, got {e} (leave it null to use the whole series).");
            }

            if (e <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(endIndex), $"Timeseries.DatasetFromArray: endIndex must be higher than 0, got {e}.");
            }
        }

        if (samplingRate <= 0 || samplingRate >= n)
        {
            throw new ArgumentOutOfRangeException(nameof(samplingRate), $"Timeseries.DatasetFromArray: samplingRate must be in [1, {n}) (the data's length), got {samplingRate}.");
        }

        if (sequenceStride <= 0 || sequenceStride >= n)
        {
            throw new ArgumentOutOfRangeException(nameof(sequenceStride), $"Timeseries.DatasetFromArray: sequenceStride must be in [1, {n}) (the data's length), got {sequenceStride}.");
        }

        long span = ((long)(sequenceLength - 1) * samplingRate) + 1;
        long seqs = end - start - span + 1;
        if (targets is not null)
        {
            if (targets.Rank == 0)
            {
                throw new ArgumentException("Timeseries.DatasetFromArray: targets must have time on the first axis, got a scalar.", nameof(targets));
            }

            seqs = Math.Min(seqs, targets.Dim(0));
        }

        if (seqs <= 0)
        {
            throw new ArgumentException($"Timeseries.DatasetFromArray: a window of sequenceLength {sequenceLength} at samplingRate {samplingRate} spans {span} steps, but steps [{start}, {end}) hold only {end - start}{(targets is not null && targets.Dim(0) < end - start ? $" (targets: {targets.Dim(0)})" : string.Empty)}; no window fits.");
        }

        var positions = new int[(int)((seqs + sequenceStride - 1) / sequenceStride)];
        for (int i = 0; i < positions.Length; i++)
        {
            positions[i] = i * sequenceStride;
        }

        if (targets is not null && start + positions[^1] >= targets.Dim(0))
        {
            throw new ArgumentException($"Timeseries.DatasetFromArray: the last window (start {start + positions[^1]}) needs targets[{start + positions[^1]}], but targets has {targets.Dim(0)} rows.", nameof(targets));
        }

        int shuffleSeed = 0;
        if (shuffle)
        {
            shuffleSeed = seed ?? (int)(Rng.NextGlobalSeed() & 0xFFFFF);
            new NumpyRandomState(unchecked((uint)shuffleSeed)).Shuffle(positions);
        }

        return new TimeseriesDataset(data, targets, sequenceLength, samplingRate, batchSize, start, positions, shuffle, shuffleSeed);
    }

    /// <summary><see cref="DatasetFromArray(Tensor, Tensor?, int, int, int, int, bool, int?, int?, int?)"/> on a <c>[time, features]</c> array and per-step targets.</summary>
    public static TimeseriesDataset DatasetFromArray(
        float[,] data, float[]? targets, int sequenceLength, int sequenceStride = 1, int samplingRate = 1,
        int batchSize = 128, bool shuffle = false, int? seed = null, int? startIndex = null, int? endIndex = null) =>
        DatasetFromArray(Tensor.From(data), targets is null ? null : Tensor.From(targets), sequenceLength, sequenceStride, samplingRate, batchSize, shuffle, seed, startIndex, endIndex);
}
