using LstmSharp.Tensors;

namespace LstmSharp.Data.Batches;

/// <summary>
/// One batch from an <see cref="IBatchSource"/>: the model's inputs (one tensor per model
/// input, samples on the first axis), the targets (null when the source only feeds
/// <c>Predict</c>) and optional per-sample loss weights.
/// </summary>
public sealed class Batch
{
    public Batch(Tensor input, Tensor? targets = null, float[]? sampleWeights = null)
        : this([input], targets, sampleWeights)
    {
    }

    public Batch(IReadOnlyList<Tensor> inputs, Tensor? targets = null, float[]? sampleWeights = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0)
        {
            throw new ArgumentException("Batch: expected at least one input tensor, got none.", nameof(inputs));
        }

        int n = Rows(inputs[0], "input 0");
        for (int i = 1; i < inputs.Count; i++)
        {
            Check(Rows(inputs[i], $"input {i}"), n, $"input {i}");
        }

        if (targets is not null)
        {
            Check(Rows(targets, "targets"), n, "targets");
        }

        if (sampleWeights is not null)
        {
            Check(sampleWeights.Length, n, "sampleWeights");
        }

        Inputs = inputs;
        Targets = targets;
        SampleWeights = sampleWeights;
        Count = n;
    }

    public IReadOnlyList<Tensor> Inputs { get; }

    public Tensor? Targets { get; }

    public float[]? SampleWeights { get; }

    /// <summary>Number of samples (the first axis of every tensor).</summary>
    public int Count { get; }

    /// <summary>Bytes of float storage the batch's tensors hold (what a source keeps in flight).</summary>
    public long SizeInBytes => (Inputs.Sum(t => (long)t.Length) + (Targets?.Length ?? 0) + (SampleWeights?.Length ?? 0)) * sizeof(float);

    private static int Rows(Tensor t, string what)
    {
        ArgumentNullException.ThrowIfNull(t, what);
        return t.Rank == 0 ? throw new ArgumentException($"Batch: {what} is a scalar; expected samples on the first axis.") : t.Dim(0);
    }

    private static void Check(int actual, int expected, string what)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"Batch: {what} has {actual} samples; expected {expected} (the first input's).");
        }
    }
}
