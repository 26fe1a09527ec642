using System.Text.Json.Nodes;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// What every attention layer (<see cref="Attention"/>, <see cref="AdditiveAttention"/>,
/// <see cref="MultiHeadAttention"/>) shares as a Keras layer: inputs <c>[query, value]</c> or
/// <c>[query, value, key]</c>; dropout on the attention weights in training with its seed; the
/// causal mask; the attention weights as an optional second output; and the query's mask as the
/// output's mask.
/// </summary>
public abstract class AttentionLayer : Layer
{
    /// <summary>The amount Keras subtracts from masked scores (so their softmax weight is 0 in float32).</summary>
    public const float MaskedScoreOffset = 1e9f;

    private protected AttentionLayer(float dropout, int? seed, bool useCausalMask, bool returnAttentionScores, string? name)
        : base(name)
    {
        Dropout = LayerChecks.Rate(dropout, Describe(), nameof(dropout));
        Seed = seed;
        UseCausalMask = useCausalMask;
        ReturnAttentionScores = returnAttentionScores;
        DropoutRandom = SeededRandom(seed);
        SupportsMasking = true;
    }

    /// <summary>Keras <c>dropout</c>: the fraction of attention weights dropped in training.</summary>
    public float Dropout { get; }

    /// <summary>Seed of the dropout masks; null forks one from <see cref="Layer.SetRandomSeed"/> or the global generator.</summary>
    public int? Seed { get; }

    /// <summary>Keras <c>use_causal_mask</c>: query step i attends only to value steps j ≤ i (decoder self-attention).</summary>
    public bool UseCausalMask { get; }

    /// <summary>Keras <c>return_attention_scores</c>: a second output, the attention weights.</summary>
    public bool ReturnAttentionScores { get; }

    /// <summary>The generator of the dropout masks on the attention weights.</summary>
    private protected Rng DropoutRandom { get; }

    /// <summary>The layer's config with the keys every attention layer has: dropout, seed, use_causal_mask, return_attention_scores.</summary>
    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["dropout"] = Dropout;
        c["seed"] = Seed;
        c["use_causal_mask"] = UseCausalMask;
        c["return_attention_scores"] = ReturnAttentionScores;
        return c;
    }

    /// <summary>
    /// Reads the keys <see cref="GetConfig"/> writes for every attention layer, with Keras's defaults:
    /// (dropout, seed, use_causal_mask, return_attention_scores); <paramref name="defaultCausal"/> is
    /// use_causal_mask's value when the key is absent.
    /// </summary>
    private protected static (float Dropout, int? Seed, bool Causal, bool ReturnScores) ReadShared(JsonObject c, bool defaultCausal = false) =>
        (c["dropout"] is null ? 0f : c.GetFloat("dropout"),
         c.GetIntOrNull("seed"),
         c.GetBool("use_causal_mask", defaultCausal),
         c.GetBool("return_attention_scores", false));

    public override int[] ComputeOutputShape(int[] inputShape) => ComputeOutputShapes([inputShape])[0];

    public override IReadOnlyList<Tensor?> ComputeMasks(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks) =>
        ReturnAttentionScores ? [masks[0], null] : [masks[0]];

    /// <summary>Throws unless the layer got [query, value] or [query, value, key].</summary>
    private protected void CheckInputCount(int count)
    {
        if (count is < 2 or > 3)
        {
            throw new ArgumentException($"{Describe()}: expected inputs [query, value] or [query, value, key], got {count} input{(count == 1 ? string.Empty : "s")}.");
        }
    }
}
