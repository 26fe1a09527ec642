using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Layers;

/// <summary>
/// What Keras's <c>Attention</c> and <c>AdditiveAttention</c> share: inputs <c>[query, value]</c>
/// or <c>[query, value, key]</c> (key defaults to value), query <c>[batch, Tq, dim]</c>, value
/// <c>[batch, Tv, dv]</c>, key <c>[batch, Tv, dim]</c>; the subclass scores every query step
/// against every key step, then
/// <code>
/// scores[b,i,j] −= 1e9   where value step j is masked, or j &gt; i with use_causal_mask
/// weights = softmax_j(scores)   (then dropout on the weights in training)
/// output[b,i] = Σ_j weights[b,i,j] · value[b,j]      output[b,i] = 0 where query step i is masked
/// </code>
/// Outputs: <c>[batch, Tq, dv]</c>, and with <see cref="AttentionLayer.ReturnAttentionScores"/> also the
/// weights <c>[batch, Tq, Tv]</c>. The output's mask is the query's. Keras passes
/// <c>use_causal_mask</c> and <c>return_attention_scores</c> to each call; here they are options
/// of the layer (kept in its config), so a functional graph records them.
/// </summary>
public abstract class AttentionBase : AttentionLayer
{
    private protected AttentionBase(bool useScale, float dropout, int? seed, bool useCausalMask, bool returnAttentionScores, string? name)
        : base(dropout, seed, useCausalMask, returnAttentionScores, name) => UseScale = useScale;

    /// <summary>Keras <c>use_scale</c>: a learned scale of the scores.</summary>
    public bool UseScale { get; }

    /// <summary>The "scale" weight; null before building or without <see cref="UseScale"/>.</summary>
    public Parameter? Scale { get; private protected set; }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["use_scale"] = UseScale;
        return c;
    }

    public override IReadOnlyList<int[]> ComputeOutputShapes(IReadOnlyList<int[]> inputShapes)
    {
        CheckShapes(inputShapes);
        int[] output = [inputShapes[0][0], inputShapes[1][1]];
        return ReturnAttentionScores ? [output, [inputShapes[0][0], inputShapes[1][0]]] : [output];
    }

    /// <summary>
    /// True when the scores are <c>scale · query · keyᵀ</c> (<see cref="Scale"/> or 1): the layer then
    /// runs <see cref="Ops.DotProductAttention"/> instead of <see cref="Scores"/> and the composed ops.
    /// </summary>
    private protected virtual bool UsesDotScores => false;

    /// <summary>The raw scores <c>[batch, Tq, Tv]</c> of query <c>[batch, Tq, dim]</c> against key <c>[batch, Tv, dim]</c>.</summary>
    private protected abstract Tensor Scores(Tensor query, Tensor key);

    /// <summary>Creates the weights once the (checked) shapes are known: query, value, key (batch excluded).</summary>
    private protected abstract void BuildWeights(int[] queryShape);

    protected override void OnBuild(IReadOnlyList<int[]> inputShapes)
    {
        // Counts and ranks only: Call checks the rest with the batch in the message (ComputeOutputShapes does for graphs).
        CheckShapes(inputShapes, ranksOnly: true);
        BuildWeights(inputShapes[0]);
    }

    protected override IReadOnlyList<Tensor> Call(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks, bool training)
    {
        CheckInputCount(inputs.Count);
        var query = inputs[0];
        var value = inputs[1];
        var key = inputs.Count > 2 ? inputs[2] : value;
        CheckShapes(inputs.Select(t => t.ShapeArray[1..]).ToArray(), inputs.Select(t => t.ShapeArray).ToArray());
        int builtDepth = BuiltInputShapes![0][^1];
        if (builtDepth >= 0 && query.Dim(2) != builtDepth)
        {
            throw ShapeError($"[*, *, {builtDepth}] (the depth the layer was built for)", query.Shape, "query (input 0) as");
        }

        int batch = query.Dim(0), tq = query.Dim(1), tv = value.Dim(1), dv = value.Dim(2);
        if (value.Dim(0) != batch || key.Dim(0) != batch)
        {
            var other = value.Dim(0) != batch ? value : key;
            throw ShapeError($"[{batch}, *, *] (the query's batch size)", other.Shape, other == value ? "value (input 1) as" : "key (input 2) as");
        }

        var queryMask = CheckStepMask(masks[0], batch, tq, "query mask as");
        var valueMask = CheckStepMask(masks[1], batch, tv, "value mask as");

        if (UsesDotScores && (!training || Dropout == 0f))
        {
            // One fused op (no [batch, Tq, Tv] intermediates per call); dropout on the weights takes the composed ops below.
            var (y, w) = Ops.DotProductAttention(query, key, value, Scale?.Value, valueMask, queryMask, UseCausalMask, MaskedScoreOffset, ReturnAttentionScores);
            return ReturnAttentionScores ? [y, w!] : [y];
        }

        var scores = Scores(query, key);
        if (valueMask is not null || UseCausalMask)
        {
            scores = Ops.Add(scores, MaskOffsets(valueMask, batch, tq, tv));
        }

        var weights = Ops.Softmax(scores);
        weights = Ops.Dropout(weights, Dropout, DropoutRandom, training);
        var output = Ops.BatchMatMul(weights, value);
        if (queryMask is not null)
        {
            var keep = new Tensor(batch, tq, dv);
            for (int r = 0; r < batch * tq; r++)
            {
                keep.Span.Slice(r * dv, dv).Fill(queryMask.Span[r] != 0f ? 1f : 0f);
            }

            output = Ops.Mul(output, keep);
        }

        return ReturnAttentionScores ? [output, weights] : [output];
    }

    /// <summary>The options of a score-based attention config, as (use_scale, dropout, seed, use_causal_mask, return_attention_scores); use_causal_mask falls back to Keras 2's <c>causal</c>.</summary>
    private protected static (bool UseScale, float Dropout, int? Seed, bool Causal, bool ReturnScores) ReadCommon(JsonObject c, bool defaultUseScale)
    {
        bool useScale = c.GetBool("use_scale", defaultUseScale);
        var (dropout, seed, causal, returnScores) = ReadShared(c, defaultCausal: c.GetBool("causal", false));
        return (useScale, dropout, seed, causal, returnScores);
    }

    /// <summary>A constant <c>[batch, Tq, Tv]</c>: −1e9 where value step j is masked or (causal) j &gt; i, else 0.</summary>
    private Tensor MaskOffsets(Tensor? valueMask, int batch, int tq, int tv)
    {
        var offsets = new Tensor(batch, tq, tv);
        var o = offsets.Span;
        for (int b = 0; b < batch; b++)
        {
            for (int i = 0; i < tq; i++)
            {
                for (int j = 0; j < tv; j++)
                {
                    bool masked = (valueMask is not null && valueMask.Span[(b * tv) + j] == 0f) || (UseCausalMask && j > i);
                    o[(((b * tq) + i) * tv) + j] = masked ? -MaskedScoreOffset : 0f;
                }
            }
        }

        return offsets;
    }

    private static int[] WithUnknownBatch(int[] shape) => [-1, .. shape];

    /// <summary>
    /// Checks per-sample shapes (batch excluded; -1 = unknown): query [Tq, dim], value [Tv, dv],
    /// key [Tv, dim]. <paramref name="full"/> (with the batch) is what errors show when given.
    /// </summary>
    private void CheckShapes(IReadOnlyList<int[]> shapes, IReadOnlyList<int[]>? full = null, bool ranksOnly = false)
    {
        CheckInputCount(shapes.Count);
        string[] names = ["query", "value", "key"];
        for (int i = 0; i < shapes.Count; i++)
        {
            if (shapes[i].Length != 2)
            {
                throw ShapeError(i == 1 ? "[batch, Tv, dv]" : i == 0 ? "[batch, Tq, dim]" : "[batch, Tv, dim]", full?[i] ?? WithUnknownBatch(shapes[i]), $"{names[i]} (input {i}) as");
            }
        }

        if (ranksOnly)
        {
            return;
        }

        var query = shapes[0];
        var value = shapes[1];
        var key = shapes.Count > 2 ? shapes[2] : value;
        if (shapes.Count > 2 && value[0] >= 0 && key[0] >= 0 && value[0] != key[0])
        {
            throw ShapeError($"[*, {value[0]}, *] (as many steps as the value's {value[0]})", full?[2] ?? WithUnknownBatch(key), "key (input 2) as");
        }

        if (query[1] >= 0 && key[1] >= 0 && query[1] != key[1])
        {
            string which = shapes.Count > 2 ? "key (input 2)" : "value (input 1, also the key)";
            throw ShapeError($"[*, *, {query[1]}] (the query's depth)", full?[shapes.Count > 2 ? 2 : 1] ?? WithUnknownBatch(key), which + " as");
        }
    }
}
