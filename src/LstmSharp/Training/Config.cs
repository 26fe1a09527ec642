using System.Text.Json.Nodes;

namespace LstmSharp.Training;

/// <summary>Reading Keras-style JSON configs with errors that say what is missing.</summary>
internal static class Config
{
    internal static string String(JsonObject o, string key, string who) =>
        o[key]?.GetValue<string>() ?? throw new ArgumentException($"{who}: config has no string '{key}': {o.ToJsonString()}.");

    internal static double Number(JsonObject o, string key, double fallback) =>
        o[key] is JsonNode n ? n.GetValue<double>() : fallback;

    internal static double? NullableNumber(JsonObject o, string key) =>
        o[key] is JsonNode n ? n.GetValue<double>() : null;

    internal static bool Bool(JsonObject o, string key, bool fallback) =>
        o[key] is JsonNode n ? n.GetValue<bool>() : fallback;

    internal static JsonObject Inner(JsonObject o, string who) =>
        o["config"] as JsonObject ?? throw new ArgumentException($"{who}: config has no object 'config': {o.ToJsonString()}.");
}
