using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Tensors;

namespace LstmSharp.Models;

/// <summary>
/// Generates text from a trained language model: a model that maps token indices
/// <c>[batch, time]</c> to next-token logits (or softmax probabilities) at every step
/// <c>[batch, time, vocabulary]</c>, with its <see cref="Model.TextVectorization"/> attached.
/// The prime is fed once; then one token per step through a stateful batch-1 copy of the
/// model (the recurrent states carry over, so each new token costs one time step, not a rerun
/// of the whole text). The padding and OOV indices are never drawn.
/// </summary>
public sealed class TextGenerator
{
    private readonly Model stepModel;
    private readonly TextVectorization vectorizer;
    private readonly bool outputsProbabilities;
    private readonly string separator;

    public TextGenerator(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        vectorizer = model.TextVectorization
            ?? throw new ArgumentException($"TextGenerator: model '{model.Name}' has no TextVectorization attached, so its vocabulary is unknown; set model.TextVectorization before saving it.", nameof(model));
        _ = vectorizer.GetVocabulary(); // throws when it has none
        separator = vectorizer.Split == TextVectorization.Character ? string.Empty : " ";

        // Same layers and weights, every recurrent layer stateful (batch 1).
        var config = model.GetConfig();
        MakeStateful(config);
        stepModel = Model.FromConfig(config);
        stepModel.SetWeights(model.GetWeights());
        var last = stepModel.Layers[^1].GetConfig();
        outputsProbabilities = last["activation"] is JsonValue v && v.TryGetValue(out string? a) && a == "softmax";
    }

    /// <summary>Size of the model's vocabulary (padding and OOV included).</summary>
    public int VocabularySize => vectorizer.VocabularySize;

    /// <summary>
    /// The prime followed by <paramref name="length"/> generated tokens (characters for a
    /// character-level model), drawn with <paramref name="options"/> from a generator seeded by
    /// <paramref name="seed"/> (same seed, same text).
    /// </summary>
    /// <exception cref="ArgumentException">The prime is empty or holds a token outside the vocabulary (named with its position).</exception>
    public string Generate(string prime, int length, SamplingOptions options, int seed)
    {
        ArgumentNullException.ThrowIfNull(prime);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (length < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"TextGenerator: length must be >= 0, got {length}.");
        }

        var primeTokens = vectorizer.Tokenize(prime);
        if (primeTokens.Count == 0)
        {
            throw new ArgumentException($"TextGenerator: the prime \"{prime}\" holds no token after standardize '{vectorizer.Standardize ?? "none"}' and split '{vectorizer.Split ?? "none"}'; give at least one {(separator.Length == 0 ? "character" : "word")} of the vocabulary.", nameof(prime));
        }

        var ids = new float[primeTokens.Count];
        for (int i = 0; i < ids.Length; i++)
        {
            int id = vectorizer.IndexOf(primeTokens[i]);
            if (id < TextVectorization.FirstTokenIndex)
            {
                throw new ArgumentException($"TextGenerator: prime {(separator.Length == 0 ? "character" : "token")} {Describe(primeTokens[i])} at position {i} is not in the model's vocabulary of {vectorizer.VocabularySize - TextVectorization.FirstTokenIndex} {(separator.Length == 0 ? "characters" : "tokens")}.", nameof(prime));
            }

            ids[i] = id;
        }

        var rng = new Rng(seed);
        var text = new StringBuilder(prime);
        using var noGrad = Tape.NoGrad();
        stepModel.ResetStates();
        var output = stepModel.Call(new Tensor(ids, 1, ids.Length));
        if (output.Dim(-1) != vectorizer.VocabularySize)
        {
            throw new ArgumentException($"TextGenerator: model '{stepModel.Name}' outputs {output.Dim(-1)} scores per step, but its TextVectorization has {vectorizer.VocabularySize} tokens; expected one score per token.");
        }

        var next = new float[1];
        for (int n = 0; n < length; n++)
        {
            int id = Draw(LastStep(output), options, rng);
            if (separator.Length > 0 && text.Length > 0)
            {
                text.Append(separator);
            }

            text.Append(vectorizer.TokenAt(id));
            if (n + 1 < length)
            {
                next[0] = id;
                output = stepModel.Call(new Tensor(next, 1, 1));
            }
        }

        return text.ToString();
    }

    private static string Describe(string token) =>
        token.Length == 0 ? "\"\"" : $"'{token}' ({string.Join(' ', token.EnumerateRunes().Select(r => "U+" + r.Value.ToString("X4", CultureInfo.InvariantCulture)))})";

    private static void MakeStateful(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                if (o.ContainsKey("stateful"))
                {
                    o["stateful"] = true;
                }

                foreach (var (_, child) in o.ToArray())
                {
                    MakeStateful(child);
                }

                break;
            case JsonArray a:
                foreach (var child in a)
                {
                    MakeStateful(child);
                }

                break;
        }
    }

    private static ReadOnlySpan<float> LastStep(Tensor output)
    {
        int classes = output.Dim(-1);
        return output.Span[^classes..];
    }

    private int Draw(ReadOnlySpan<float> scores, SamplingOptions options, Rng rng)
    {
        var logits = new float[scores.Length];
        for (int i = 0; i < logits.Length; i++)
        {
            logits[i] = outputsProbabilities ? (scores[i] > 0 ? MathF.Log(scores[i]) : float.NegativeInfinity) : scores[i];
        }

        // Padding and [UNK] are never a next token.
        logits[0] = float.NegativeInfinity;
        if (logits.Length > 1)
        {
            logits[1] = float.NegativeInfinity;
        }

        return Sampling.Sample(logits, options, rng);
    }
}
