using System.Text.Json.Nodes;

namespace LstmSharp.Layers;

/// <summary>Config helpers of the convolution, pooling and normalization layers.</summary>
internal static class ConvolutionConfig
{
    /// <summary>An int stored as a number or, as Keras writes tuples, a one-element list (<c>[5]</c>).</summary>
    public static int GetIntOrTuple(this JsonObject config, string key)
    {
        var node = config[key] ?? throw new ArgumentException($"layer config: missing '{key}'.");
        if (node is JsonArray a)
        {
            if (a.Count != 1 || a[0] is null)
            {
                throw new ArgumentException($"layer config: '{key}' must be an integer or a one-element list for a 1-D layer, got {node.ToJsonString()}.");
            }

            return a[0]!.GetValue<int>();
        }

        return node.GetValue<int>();
    }

    /// <summary>An int list (Keras <c>axis</c> may be an int or a list of ints).</summary>
    public static int[] GetIntOrList(this JsonObject config, string key, int fallback)
    {
        var node = config[key];
        return node switch
        {
            null => [fallback],
            JsonArray a => a.Select(n => n?.GetValue<int>() ?? throw new ArgumentException($"layer config: '{key}' holds null: {node.ToJsonString()}.")).ToArray(),
            _ => [node.GetValue<int>()],
        };
    }

    /// <summary>Refuses a Keras <c>data_format</c> other than channels_last (the only layout of the 1-D layers), naming the layer.</summary>
    public static void RequireChannelsLast(this JsonObject config, string className, string? name)
    {
        string format = config.GetStringOrNull("data_format") ?? "channels_last";
        if (format != "channels_last")
        {
            throw new ArgumentException($"{className} '{name}': data_format must be 'channels_last', got '{format}'.");
        }
    }
}
