using System.Text.Json.Nodes;

namespace LstmSharp.Training;

/// <summary>Reading Keras-style JSON configs with errors that say what is missing.</summary>
internal static class Config
{
    internal static string String(JsonObject o, string key, string who) =>
        o[key]?.GetValue<string>() ?? throw new ArgumentException($"{who}: config has no string '{key}': {o.ToJsonString()}.");

    internal static double Number(JsonObject o, string key, double fallback) =>
        o[key] is JsonNode n ? ToDouble(n, key) : fallback;

    internal static double? NullableNumber(JsonObject o, string key) =>
        o[key] is JsonNode n ? ToDouble(n, key) : null;

    /// <summary>A number whatever its stored type (an in-memory node keeps its CLR type; a parsed one is a JSON number).</summary>
    internal static double ToDouble(JsonNode n, string key)
    {
        var v = n.AsValue();
        if (v.TryGetValue(out double d))
        {
            return d;
        }

        if (v.TryGetValue(out long l))
        {
            return l;
        }

        if (v.TryGetValue(out int i))
        {
            return i;
        }

        if (v.TryGetValue(out float f))
        {
            return f;
        }

        throw new ArgumentException($"Config: '{key}' must be a number, got {n.ToJsonString()}.");
    }

    internal static bool Bool(JsonObject o, string key, bool fallback) =>
        o[key] is JsonNode n ? n.GetValue<bool>() : fallback;

    /// <summary>
    /// A Keras serialization envelope <c>{"class_name": ..., "config": {...}}</c> (what
    /// optimizers, schedules, regularizers and constraints write): its class name and inner config.
    /// </summary>
    internal static (string ClassName, JsonObject Inner) Envelope(JsonObject? o, string who)
    {
        ArgumentNullException.ThrowIfNull(o, "config");
        return (String(o, "class_name", who), Inner(o, who));
    }

    internal static JsonObject Inner(JsonObject o, string who) =>
        o["config"] as JsonObject ?? throw new ArgumentException($"{who}: config has no object 'config': {o.ToJsonString()}.");
}
