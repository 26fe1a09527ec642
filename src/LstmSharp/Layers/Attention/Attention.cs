using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Layers;

/// <summary>
/// Keras <c>Attention</c>: Luong-style attention over inputs <c>[query, value]</c> or
/// <c>[query, value, key]</c> (see <see cref="AttentionBase"/> for masks, softmax and outputs).
/// The scores of query step i against key step j:
/// <code>
/// score_mode "dot":     s[b,i,j] = scale · ⟨q[b,i], k[b,j]⟩
/// score_mode "concat":  s[b,i,j] = w · Σ_d tanh(scale · (q[b,i,d] + k[b,j,d]))
/// </code>
/// scale is the learned scalar "scale" (initialised to 1) with <c>use_scale</c>, else 1; w is the
/// learned scalar "concat_score_weight" (initialised to 1) of score_mode "concat". As in Keras
/// there is no 1/√dim factor: add it through the scale if wanted.
/// </summary>
public sealed class Attention : AttentionBase
{
    /// <param name="useScale">Keras <c>use_scale</c>: learn a scalar scale of the scores (weight "scale", shape []).</param>
    /// <param name="scoreMode">"dot" (default) or "concat".</param>
    /// <param name="dropout">Fraction of attention weights dropped in training, in [0, 1).</param>
    /// <param name="seed">Seed of the dropout masks.</param>
    /// <param name="useCausalMask">Query step i attends to value steps j ≤ i only.</param>
    /// <param name="returnAttentionScores">Also return the attention weights [batch, Tq, Tv] as a second output.</param>
    /// <param name="name">Layer name; null = automatic ("attention", ...).</param>
    public Attention(bool useScale = false, string scoreMode = "dot", float dropout = 0f, int? seed = null, bool useCausalMask = false, bool returnAttentionScores = false, string? name = null)
        : base(useScale, dropout, seed, useCausalMask, returnAttentionScores, name)
    {
        if (scoreMode is not ("dot" or "concat"))
        {
            throw new ArgumentException($"{Describe()}: scoreMode must be \"dot\" or \"concat\", got \"{scoreMode}\".", nameof(scoreMode));
        }

        ScoreMode = scoreMode;
    }

    /// <summary>Keras <c>score_mode</c>: "dot" or "concat".</summary>
    public string ScoreMode { get; }

    /// <summary>The "concat_score_weight" of score_mode "concat"; null otherwise or before building.</summary>
    public Parameter? ConcatScoreWeight { get; private set; }

    public static Attention FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        var o = ReadCommon(c, defaultUseScale: false);
        return new Attention(o.UseScale, c.GetStringOrNull("score_mode") ?? "dot", o.Dropout, o.Seed, o.Causal, o.ReturnScores, b.Name).WithBase(c);
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["score_mode"] = ScoreMode;
        return c;
    }

    private protected override bool UsesDotScores => ScoreMode == "dot";

    private protected override void BuildWeights(int[] queryShape)
    {
        if (UseScale)
        {
            Scale = AddWeight("scale", [], "ones");
        }

        if (ScoreMode == "concat")
        {
            ConcatScoreWeight = AddWeight("concat_score_weight", [], "ones");
        }
    }

    private protected override Tensor Scores(Tensor query, Tensor key)
    {
        if (ScoreMode == "dot")
        {
            var scores = Ops.BatchMatMul(query, key, transposeB: true);
            return Scale is null ? scores : Ops.Mul(scores, Scale.Value);
        }

        // s·(q + k) = s·q + s·k: scale both before the pairwise sums.
        var q = Scale is null ? query : Ops.Mul(query, Scale.Value);
        var k = Scale is null ? key : Ops.Mul(key, Scale.Value);
        return Ops.Mul(Ops.AdditiveAttentionScores(q, k), ConcatScoreWeight!.Value);
    }
}
