namespace LstmSharp.Models;

/// <summary>What <c>Evaluate</c> returns: the loss and every metric by name; deconstructs as (loss, first metric).</summary>
public sealed class EvaluationResult(IReadOnlyDictionary<string, double> values)
{
    public IReadOnlyDictionary<string, double> Values { get; } = values;

    public double Loss => Values["loss"];

    public double this[string name] => Values.TryGetValue(name, out double v)
        ? v
        : throw new KeyNotFoundException($"Evaluate: no metric '{name}'; available: {string.Join(", ", Values.Keys)}.");

    public void Deconstruct(out double loss, out double metric)
    {
        loss = Loss;
        metric = Values.Where(kv => kv.Key != "loss").Select(kv => kv.Value).DefaultIfEmpty(double.NaN).First();
    }

    public override string ToString() => string.Join(" - ", Values.Select(kv => $"{kv.Key}: {ProgressLine.FormatValue(kv.Value)}"));
}
