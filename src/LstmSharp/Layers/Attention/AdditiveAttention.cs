using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// Keras <c>AdditiveAttention</c>: Bahdanau-style attention over inputs <c>[query, value]</c> or
/// <c>[query, value, key]</c> (see <see cref="AttentionBase"/> for masks, softmax and outputs).
/// The scores of query step i against key step j:
/// <code>
/// s[b,i,j] = Σ_d scale_d · tanh(q[b,i,d] + k[b,j,d])
/// </code>
/// scale is the learned vector "scale" of shape [dim] (glorot_uniform, as Keras) with
/// <c>use_scale</c> (the default), else all ones. Query and key must have the same depth.
/// </summary>
public sealed class AdditiveAttention : AttentionBase
{
    /// <param name="useScale">Keras <c>use_scale</c> (default true): learn the vector "scale" [dim].</param>
    /// <param name="dropout">Fraction of attention weights dropped in training, in [0, 1).</param>
    /// <param name="seed">Seed of the dropout masks.</param>
    /// <param name="useCausalMask">Query step i attends to value steps j ≤ i only.</param>
    /// <param name="returnAttentionScores">Also return the attention weights [batch, Tq, Tv] as a second output.</param>
    /// <param name="name">Layer name; null = automatic ("additive_attention", ...).</param>
    public AdditiveAttention(bool useScale = true, float dropout = 0f, int? seed = null, bool useCausalMask = false, bool returnAttentionScores = false, string? name = null)
        : base(useScale, dropout, seed, useCausalMask, returnAttentionScores, name)
    {
    }

    public static AdditiveAttention FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        var o = ReadCommon(c, defaultUseScale: true);
        return new AdditiveAttention(o.UseScale, o.Dropout, o.Seed, o.Causal, o.ReturnScores, b.Name).WithBase(c);
    }

    private protected override void BuildWeights(int[] queryShape)
    {
        if (UseScale)
        {
            if (queryShape[^1] <= 0)
            {
                throw ShapeError("[batch, Tq, dim] with a known dim (the size of the weight \"scale\")", [-1, .. queryShape], "query (input 0) as");
            }

            Scale = AddWeight("scale", [queryShape[^1]], "glorot_uniform");
        }
    }

    private protected override Tensor Scores(Tensor query, Tensor key) => Ops.AdditiveAttentionScores(query, key, Scale?.Value);
}
