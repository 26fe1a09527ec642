using System.Text;

namespace LstmSharp.Layers;

/// <summary>
/// Keras's automatic layer names: the class name in snake_case, then <c>_1</c>, <c>_2</c>, ...
/// from a counter per base name. Counters are per thread, so a model built on one thread (and
/// every test) gets the same names each run; <see cref="Layer.ClearSession"/> resets them.
/// </summary>
public static class LayerNames
{
    [ThreadStatic]
    private static Dictionary<string, int>? counters;

    /// <summary>"dense", then "dense_1", "dense_2", ... for the same base name.</summary>
    public static string Unique(string baseName)
    {
        counters ??= new Dictionary<string, int>(StringComparer.Ordinal);
        counters.TryGetValue(baseName, out int n);
        counters[baseName] = n + 1;
        return n == 0 ? baseName : $"{baseName}_{n}";
    }

    public static void Reset() => counters?.Clear();

    /// <summary>Keras's snake case: "Dense" → "dense", "SimpleRNN" → "simple_rnn", "InputLayer" → "input_layer", "LSTM" → "lstm".</summary>
    public static string ToSnakeCase(string className)
    {
        var sb = new StringBuilder(className.Length + 4);
        for (int i = 0; i < className.Length; i++)
        {
            char c = className[i];
            bool boundary = i > 0 && char.IsUpper(c) &&
                (char.IsLower(className[i - 1]) ||
                 (i + 1 < className.Length && char.IsLower(className[i + 1]) && char.IsUpper(className[i - 1])));
            if (boundary)
            {
                sb.Append('_');
            }

            sb.Append(char.ToLowerInvariant(c));
        }

        return sb.ToString();
    }
}
