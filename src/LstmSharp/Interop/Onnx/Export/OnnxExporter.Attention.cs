using LstmSharp.Layers;
using static LstmSharp.Interop.Onnx.OnnxGraphBuilder;

namespace LstmSharp.Interop.Onnx;

/// <summary>
/// Keras <c>Attention</c> (dot and concat scores) and <c>AdditiveAttention</c> as ONNX nodes,
/// the same computation as <see cref="AttentionBase"/>:
/// <code>
/// dot:       scores = MatMul(q, Transpose(k)) · scale
/// concat:    scores = w · ReduceSum(Tanh(Unsqueeze(q·scale, 2) + Unsqueeze(k·scale, 1)), -1)
/// additive:  scores = ReduceSum(Tanh(Unsqueeze(q, 2) + Unsqueeze(k, 1)) · scale, -1)
/// scores    += Where(value step masked or (causal) j &gt; i, −1e9, 0)
/// output     = MatMul(Softmax(scores, -1), v) · query mask
/// </code>
/// The causal mask is built from <c>Range</c> over the run-time step counts, so the graph
/// takes any Tq and Tv. Dropout is the identity at inference.
/// </summary>
internal sealed partial class OnnxExporter
{
    private OnnxValue[] EmitAttention(AttentionBase a, OnnxValue[] ins, IReadOnlyList<int[]> shapes)
    {
        if (ins.Length is < 2 or > 3)
        {
            throw new NotSupportedException($"ONNX export: {a} is called on {ins.Length} inputs; expected [query, value] or [query, value, key].");
        }

        string q = ins[0].Name, v = ins[1].Name, k = ins.Length > 2 ? ins[2].Name : v;
        string owner = a.Name;
        string scores = a switch
        {
            Attention { ScoreMode: "dot" } dot => DotScores(dot, q, k),
            Attention concat => ConcatScores(concat, q, k),
            AdditiveAttention add => AdditiveScores(add, q, k),
            _ => throw new NotSupportedException($"ONNX export: {a} has no ONNX mapping (class {a.ClassName})."),
        };

        string? masked = null;
        if (ins[1].Mask is { } valueMask)
        {
            // [batch, Tv] 0/1 → [batch, 1, Tv] true where the value step is masked.
            string isZero = g.Node("Equal", owner + "/ValueMasked", [valueMask, g.FloatScalar(owner + "/zero", 0f)]);
            masked = g.Node("Unsqueeze", owner + "/ValueMaskedPerQuery", [isZero, g.Int64s(1)]);
        }

        if (a.UseCausalMask)
        {
            string causal = CausalMask(owner, q, v);
            masked = masked is null ? causal : g.Node("Or", owner + "/MaskedOrFuture", [masked, causal]);
        }

        string weights = MaskedSoftmax(owner, scores, masked);
        string output = g.Node("MatMul", owner + "/WeightedValues", [weights, v]);
        if (ins[0].Mask is { } queryMask)
        {
            output = g.Node("Mul", owner + "/ZeroMaskedQuerySteps", [output, g.Node("Unsqueeze", owner + "/QueryMaskPerFeature", [queryMask, g.Int64s(-1)])]);
        }

        var result = new OnnxValue(output, shapes[0], ins[0].Mask);
        return a.ReturnAttentionScores ? [result, new OnnxValue(weights, shapes[1])] : [result];
    }

    private string DotScores(Attention a, string q, string k)
    {
        string kt = g.Node("Transpose", a.Name + "/KeyTransposed", [k], Attr("perm", new long[] { 0, 2, 1 }));
        string scores = g.Node("MatMul", a.Name + "/DotScores", [q, kt]);
        return a.Scale is { } s ? g.Node("Mul", a.Name + "/Scale", [scores, g.Weight(a.Name + "/scale", [], s.Value.Span)]) : scores;
    }

    private string ConcatScores(Attention a, string q, string k)
    {
        if (a.Scale is { } s)
        {
            // As the layer: s·q and s·k, then the pairwise sums.
            string scale = g.Weight(a.Name + "/scale", [], s.Value.Span);
            q = g.Node("Mul", a.Name + "/ScaleQuery", [q, scale]);
            k = g.Node("Mul", a.Name + "/ScaleKey", [k, scale]);
        }

        string summed = g.Node("ReduceSum", a.Name + "/SumOverDepth", [PairwiseTanh(a.Name, q, k), g.Int64s(-1)], Attr("keepdims", 0L));
        var w = a.ConcatScoreWeight!.Value;
        return g.Node("Mul", a.Name + "/ConcatScoreWeight", [summed, g.Weight(a.Name + "/concat_score_weight", [], w.Span)]);
    }

    private string AdditiveScores(AdditiveAttention a, string q, string k)
    {
        string t = PairwiseTanh(a.Name, q, k);
        if (a.Scale is { } s)
        {
            t = g.Node("Mul", a.Name + "/Scale", [t, g.Weight(a.Name + "/scale", [s.Value.Length], s.Value.Span)]);
        }

        return g.Node("ReduceSum", a.Name + "/SumOverDepth", [t, g.Int64s(-1)], Attr("keepdims", 0L));
    }

    /// <summary>tanh(q[b,i,d] + k[b,j,d]) as [batch, Tq, Tv, dim].</summary>
    private string PairwiseTanh(string owner, string q, string k)
    {
        string q4 = g.Node("Unsqueeze", owner + "/QueryPerKey", [q, g.Int64s(2)]);
        string k4 = g.Node("Unsqueeze", owner + "/KeyPerQuery", [k, g.Int64s(1)]);
        return g.Node("Tanh", owner + "/Tanh", [g.Node("Add", owner + "/PairwiseSum", [q4, k4])]);
    }

    /// <summary>The attention weights: Softmax over the last axis of <paramref name="scores"/>, −1e9 added first where <paramref name="masked"/> (if any, broadcast) is true.</summary>
    private string MaskedSoftmax(string owner, string scores, string? masked)
    {
        if (masked is not null)
        {
            string offsets = g.Node("Where", owner + "/MaskOffsets", [masked, g.FloatScalar(owner + "/masked_offset", -AttentionBase.MaskedScoreOffset), g.FloatScalar(owner + "/kept_offset", 0f)]);
            scores = g.Node("Add", owner + "/MaskScores", [scores, offsets]);
        }

        return g.Node("Softmax", owner + "/Softmax", [scores], Attr("axis", -1L));
    }

    /// <summary>[Tq, Tv] true where j &gt; i, from the run-time step counts.</summary>
    private string CausalMask(string owner, string q, string v)
    {
        string zero = g.Int64Scalar(owner + "/range_start", 0);
        string one = g.Int64Scalar(owner + "/range_step", 1);
        string tq = g.Node("Gather", owner + "/QuerySteps", [g.Node("Shape", owner + "/QueryShape", [q]), g.Int64Scalar(owner + "/steps_axis", 1)], Attr("axis", 0L));
        string tv = g.Node("Gather", owner + "/ValueSteps", [g.Node("Shape", owner + "/ValueShape", [v]), g.Int64Scalar(owner + "/steps_axis", 1)], Attr("axis", 0L));
        string rows = g.Node("Unsqueeze", owner + "/QueryIndexColumn", [g.Node("Range", owner + "/QueryIndex", [zero, tq, one]), g.Int64s(1)]);
        string cols = g.Node("Unsqueeze", owner + "/ValueIndexRow", [g.Node("Range", owner + "/ValueIndex", [zero, tv, one]), g.Int64s(0)]);
        return g.Node("Greater", owner + "/Future", [cols, rows]);
    }

    /// <summary>
    /// Keras MultiHeadAttention: per-head projections as MatMul + Add, Reshape to [B, T, H, size]
    /// and Transpose to [B, H, T, size]; scores = MatMul(Q/√K, Kᵀ) [B, H, Tq, Tv]; pairs masked by
    /// the query, value or key mask or the causal mask get −1e9 (Where); Softmax; MatMul with V;
    /// Transpose back, Reshape to [B, Tq, H·V] and the output projection.
    /// </summary>
    private OnnxValue[] EmitMultiHeadAttention(MultiHeadAttention a, OnnxValue[] ins, IReadOnlyList<int[]> shapes)
    {
        if (ins.Length is < 2 or > 3)
        {
            throw new NotSupportedException($"ONNX export: {a} is called on {ins.Length} inputs; expected [query, value] or [query, value, key].");
        }

        string owner = a.Name;
        var key = ins.Length > 2 ? ins[2] : ins[1];
        string q = Project(owner + "/query", ins[0].Name, a.QueryKernel!, a.QueryBias, a.NumHeads, a.KeyDim, [0, 2, 1, 3]);
        q = g.Node("Mul", owner + "/ScaleQuery", [q, g.FloatScalar(owner + "/inverse_sqrt_key_dim", 1f / MathF.Sqrt(a.KeyDim))]);
        string kT = Project(owner + "/key", key.Name, a.KeyKernel!, a.KeyBias, a.NumHeads, a.KeyDim, [0, 2, 3, 1]);
        string v = Project(owner + "/value", ins[1].Name, a.ValueKernel!, a.ValueBias, a.NumHeads, a.ValueDim, [0, 2, 1, 3]);
        string scores = g.Node("MatMul", owner + "/Scores", [q, kT]);

        string? masked = null;
        void Or(string m) => masked = masked is null ? m : g.Node("Or", owner + "/MaskedOr", [masked, m]);
        string Zero(string mask, string what) => g.Node("Equal", owner + "/" + what + "Masked", [mask, g.FloatScalar(owner + "/zero_" + what, 0f)]);
        if (ins[0].Mask is { } queryMask)
        {
            Or(g.Node("Unsqueeze", owner + "/QueryMaskedPerPair", [Zero(queryMask, "Query"), g.Int64s(1, 3)]));
        }

        if (ins[1].Mask is { } valueMask)
        {
            Or(g.Node("Unsqueeze", owner + "/ValueMaskedPerPair", [Zero(valueMask, "Value"), g.Int64s(1, 2)]));
        }

        if (ins.Length > 2 && ins[2].Mask is { } keyMask)
        {
            Or(g.Node("Unsqueeze", owner + "/KeyMaskedPerPair", [Zero(keyMask, "Key"), g.Int64s(1, 2)]));
        }

        if (a.UseCausalMask)
        {
            Or(CausalMask(owner, ins[0].Name, ins[1].Name));
        }

        string weights = MaskedSoftmax(owner, scores, masked);
        string context = g.Node("MatMul", owner + "/WeightedValues", [weights, v]);
        context = g.Node("Transpose", owner + "/StepsFirst", [context], Attr("perm", new long[] { 0, 2, 1, 3 }));
        context = g.Node("Reshape", owner + "/MergeHeads", [context, g.Int64s(0, 0, (long)a.NumHeads * a.ValueDim)]);
        var wo = a.OutputKernel!.Value;
        string y = g.Node("MatMul", owner + "/OutputProjection", [context, g.Weight(owner + "/attention_output/kernel", [wo.Dim(0) * wo.Dim(1), wo.Dim(2)], wo.Span)]);
        if (a.OutputBias is { } bo)
        {
            y = g.Node("Add", owner + "/OutputBias", [y, g.Weight(owner + "/attention_output/bias", [bo.Value.Length], bo.Value.Span)]);
        }

        var result = new OnnxValue(y, shapes[0], ins[0].Mask);
        return a.ReturnAttentionScores ? [result, new OnnxValue(weights, shapes[1])] : [result];
    }

    /// <summary>x [B, T, d] · kernel [d, H, size] + bias [H, size], as [B, T, H, size] transposed by <paramref name="perm"/>.</summary>
    private string Project(string owner, string x, LstmSharp.Training.Parameter kernel, LstmSharp.Training.Parameter? bias, int heads, int size, long[] perm)
    {
        var w = kernel.Value;
        string y = g.Node("MatMul", owner + "/MatMul", [x, g.Weight(owner + "/kernel", [w.Dim(0), (long)heads * size], w.Span)]);
        if (bias is not null)
        {
            y = g.Node("Add", owner + "/Add", [y, g.Weight(owner + "/bias", [(long)heads * size], bias.Value.Span)]);
        }

        y = g.Node("Reshape", owner + "/SplitHeads", [y, g.Int64s(0, 0, heads, size)]);
        return g.Node("Transpose", owner + "/HeadsFirst", [y], Attr("perm", perm));
    }
}
