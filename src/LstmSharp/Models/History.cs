namespace LstmSharp.Models;

/// <summary>
/// What <c>Fit</c> returns: every logged metric per epoch (<c>loss</c>, <c>accuracy</c>,
/// <c>val_loss</c>, <c>val_accuracy</c>, <c>lr</c>, ...) and the time each epoch took.
/// </summary>
public sealed class History
{
    private readonly Dictionary<string, List<double>> values = new(StringComparer.Ordinal);
    private readonly List<string> order = [];

    /// <summary>Zero-based indices of the epochs that ran (they start at <c>initialEpoch</c>).</summary>
    public List<int> Epochs { get; } = [];

    /// <summary>Wall-clock seconds of each epoch, validation included.</summary>
    public List<double> Seconds { get; } = [];

    /// <summary>Metric names in the order they were first logged.</summary>
    public IReadOnlyList<string> Keys => order;

    /// <summary>The values of one metric per epoch, e.g. <c>history["val_accuracy"]</c>.</summary>
    public IReadOnlyList<double> this[string key] => values.TryGetValue(key, out var list)
        ? list
        : throw new KeyNotFoundException($"History: no metric '{key}'; logged: {string.Join(", ", order)}.");

    public bool Contains(string key) => values.ContainsKey(key);

    /// <summary>True when some batch's loss was NaN or infinite (whether or not <c>TerminateOnNaN</c> stopped the run).</summary>
    public bool LossBecameNonFinite => FirstNonFiniteLoss is not null;

    /// <summary>Zero-based epoch and batch of the first NaN/infinite loss, or null.</summary>
    public (int Epoch, int Batch)? FirstNonFiniteLoss { get; private set; }

    /// <summary>Warnings of the run, in order (also sent to callbacks' <c>OnWarning</c> and printed when verbose).</summary>
    public List<string> Warnings { get; } = [];

    internal void MarkNonFiniteLoss(int epoch, int batch, string warning)
    {
        FirstNonFiniteLoss ??= (epoch, batch);
        Warnings.Add(warning);
    }

    public void Add(int epoch, double seconds, IReadOnlyList<KeyValuePair<string, double>> logs)
    {
        Epochs.Add(epoch);
        Seconds.Add(seconds);
        foreach (var (key, value) in logs)
        {
            if (!values.TryGetValue(key, out var list))
            {
                list = [];
                values[key] = list;
                order.Add(key);
            }

            while (list.Count < Epochs.Count - 1)
            {
                list.Add(double.NaN);
            }

            list.Add(value);
        }
    }
}
