using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Layers;

/// <summary>
/// Keras <c>MultiHeadAttention</c> (Vaswani et al. 2017) over inputs <c>[query, value]</c> or
/// <c>[query, value, key]</c> (key defaults to value): query <c>[batch, Tq, dq]</c>, value
/// <c>[batch, Tv, dv]</c>, key <c>[batch, Tv, dk]</c>. With H heads of key size K and value size V:
/// <code>
/// Q_h = query·Wq[:, h, :] + bq[h]      K_h = key·Wk[:, h, :] + bk[h]      V_h = value·Wv[:, h, :] + bv[h]
/// S_h[i, j] = ⟨Q_h[i], K_h[j]⟩ / √K − 1e9·[step pair (i, j) masked]
/// A_h = softmax_j(S_h)    (dropout on A_h in training)
/// output[i] = Σ_h (A_h · V_h)[i] · Wo[h] + bo
/// </code>
/// Weights as Keras names and shapes them: <c>query/kernel</c> [dq, H, K], <c>query/bias</c> [H, K],
/// <c>key/kernel</c> [dk, H, K], <c>key/bias</c>, <c>value/kernel</c> [dv, H, V], <c>value/bias</c>
/// [H, V], <c>attention_output/kernel</c> [H, V, out], <c>attention_output/bias</c> [out]; out is
/// <see cref="OutputShape"/> or dq. A pair (i, j) is masked where query step i or value (key) step
/// j is masked, or j &gt; i with <see cref="AttentionLayer.UseCausalMask"/>; the output's mask is the query's.
/// With <see cref="AttentionLayer.ReturnAttentionScores"/> the second output is A <c>[batch, H, Tq, Tv]</c>
/// (before dropout, as Keras). Backward: the autograd ops' (MatMul, BatchMatMul, Softmax,
/// Permute), checked against a double reference and finite differences.
/// </summary>
public sealed class MultiHeadAttention : AttentionLayer
{
    /// <param name="numHeads">Heads H (Keras <c>num_heads</c>).</param>
    /// <param name="keyDim">Size K of each head's query and key (Keras <c>key_dim</c>).</param>
    /// <param name="valueDim">Size V of each head's value; null = <paramref name="keyDim"/>.</param>
    /// <param name="dropout">Fraction of attention weights dropped in training, in [0, 1).</param>
    /// <param name="useBias">Biases on the four projections.</param>
    /// <param name="outputShape">Last axis of the output; null = the query's depth.</param>
    /// <param name="kernelInitializer">Initializer of the four kernels.</param>
    /// <param name="biasInitializer">Initializer of the four biases.</param>
    /// <param name="seed">Seed of the dropout masks.</param>
    /// <param name="useCausalMask">Query step i attends to value steps j ≤ i only.</param>
    /// <param name="returnAttentionScores">Also return the weights [batch, H, Tq, Tv].</param>
    /// <param name="name">Layer name; null = automatic ("multi_head_attention", ...).</param>
    public MultiHeadAttention(
        int numHeads,
        int keyDim,
        int? valueDim = null,
        float dropout = 0f,
        bool useBias = true,
        int? outputShape = null,
        string kernelInitializer = "glorot_uniform",
        string biasInitializer = "zeros",
        int? seed = null,
        bool useCausalMask = false,
        bool returnAttentionScores = false,
        string? name = null)
        : base(dropout, seed, useCausalMask, returnAttentionScores, name)
    {
        NumHeads = LayerChecks.Positive(numHeads, Describe(), nameof(numHeads));
        KeyDim = LayerChecks.Positive(keyDim, Describe(), nameof(keyDim));
        ValueDim = LayerChecks.Positive(valueDim ?? keyDim, Describe(), nameof(valueDim));
        OutputShape = outputShape is { } o ? LayerChecks.Positive(o, Describe(), nameof(outputShape)) : null;
        _ = Initializers.Get(kernelInitializer);
        _ = Initializers.Get(biasInitializer);
        UseBias = useBias;
        KernelInitializer = kernelInitializer;
        BiasInitializer = biasInitializer;
    }

    public int NumHeads { get; }

    public int KeyDim { get; }

    public int ValueDim { get; }

    public bool UseBias { get; }

    /// <summary>Keras <c>output_shape</c> (the last axis only); null = the query's depth.</summary>
    public int? OutputShape { get; }

    public string KernelInitializer { get; }

    public string BiasInitializer { get; }

    public Parameter? QueryKernel { get; private set; }

    public Parameter? QueryBias { get; private set; }

    public Parameter? KeyKernel { get; private set; }

    public Parameter? KeyBias { get; private set; }

    public Parameter? ValueKernel { get; private set; }

    public Parameter? ValueBias { get; private set; }

    public Parameter? OutputKernel { get; private set; }

    public Parameter? OutputBias { get; private set; }

    public static MultiHeadAttention FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        if (c["attention_axes"] is JsonNode axes && !(axes is JsonArray { Count: 1 } a && a[0]!.GetValue<int>() == 1))
        {
            throw new NotSupportedException($"MultiHeadAttention '{b.Name}': attention_axes {axes.ToJsonString()} is not supported; attention runs over the sequence axis (null or [1]).");
        }

        if (c.GetBool("use_gate", false) || c["sliding_window"] is not null)
        {
            throw new NotSupportedException($"MultiHeadAttention '{b.Name}': use_gate and sliding_window are not supported.");
        }

        foreach (string key in new[] { "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint" })
        {
            if (c[key] is not null)
            {
                throw new NotSupportedException($"MultiHeadAttention '{b.Name}': {key} {c[key]!.ToJsonString()} is not supported (only null).");
            }
        }

        var o = ReadShared(c);
        return new MultiHeadAttention(
            c.GetInt("num_heads"),
            c.GetInt("key_dim"),
            c.GetIntOrNull("value_dim"),
            o.Dropout,
            c.GetBool("use_bias", true),
            OutputShapeOf(c["output_shape"]),
            c.GetStringOrNull("kernel_initializer") ?? "glorot_uniform",
            c.GetStringOrNull("bias_initializer") ?? "zeros",
            o.Seed,
            o.Causal,
            o.ReturnScores,
            b.Name).WithBase(c);
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["num_heads"] = NumHeads;
        c["key_dim"] = KeyDim;
        c["value_dim"] = ValueDim;
        c["use_bias"] = UseBias;
        c["output_shape"] = OutputShape;
        c["attention_axes"] = null;
        c["kernel_initializer"] = KernelInitializer;
        c["bias_initializer"] = BiasInitializer;
        return c;
    }

    public override IReadOnlyList<int[]> ComputeOutputShapes(IReadOnlyList<int[]> inputShapes)
    {
        CheckShapes(inputShapes);
        int[] output = [inputShapes[0][0], OutputShape ?? inputShapes[0][1]];
        return ReturnAttentionScores ? [output, [NumHeads, inputShapes[0][0], inputShapes[1][0]]] : [output];
    }

    protected override void OnBuild(IReadOnlyList<int[]> inputShapes)
    {
        CheckShapes(inputShapes);
        int dq = inputShapes[0][1], dv = inputShapes[1][1], dk = inputShapes.Count > 2 ? inputShapes[2][1] : dv;
        string[] names = ["query", "value", "key"];
        int[] depths = [dq, dv, dk];
        for (int i = 0; i < 3; i++)
        {
            if (depths[i] <= 0)
            {
                throw ShapeError($"[batch, steps, depth] with a known depth (the size of the {names[i]} projection)", [-1, .. inputShapes[Math.Min(i, inputShapes.Count - 1)]], names[i] + " as");
            }
        }

        (QueryKernel, QueryBias) = AddProjection("query", [dq, NumHeads, KeyDim], [NumHeads, KeyDim]);
        (KeyKernel, KeyBias) = AddProjection("key", [dk, NumHeads, KeyDim], [NumHeads, KeyDim]);
        (ValueKernel, ValueBias) = AddProjection("value", [dv, NumHeads, ValueDim], [NumHeads, ValueDim]);
        int output = OutputShape ?? dq;
        (OutputKernel, OutputBias) = AddProjection("attention_output", [NumHeads, ValueDim, output], [output]);
    }

    /// <summary>One projection's weights as Keras names them: <c>{name}/kernel</c> and, with <see cref="UseBias"/>, <c>{name}/bias</c> (created in that order).</summary>
    private (Parameter Kernel, Parameter? Bias) AddProjection(string name, int[] kernelShape, int[] biasShape) =>
        (AddWeight($"{name}/kernel", kernelShape, KernelInitializer), UseBias ? AddWeight($"{name}/bias", biasShape, BiasInitializer) : null);

    protected override IReadOnlyList<Tensor> Call(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks, bool training)
    {
        CheckInputCount(inputs.Count);
        var query = inputs[0];
        var value = inputs[1];
        var key = inputs.Count > 2 ? inputs[2] : value;
        for (int i = 0; i < inputs.Count; i++)
        {
            var built = BuiltInputShapes![Math.Min(i, BuiltInputShapes.Count - 1)];
            if (inputs[i].Rank != 3 || inputs[i].Dim(2) != built[^1] || inputs[i].Dim(0) != query.Dim(0))
            {
                string[] names = ["query (input 0)", "value (input 1)", "key (input 2)"];
                throw ShapeError($"[{query.Dim(0)}, *, {built[^1]}]", inputs[i].Shape, names[i] + " as");
            }
        }

        int batch = query.Dim(0), tq = query.Dim(1), tv = value.Dim(1);
        if (key.Dim(1) != tv)
        {
            throw ShapeError($"[{batch}, {tv}, *] (as many steps as the value)", key.Shape, "key (input 2) as");
        }

        var q = Heads(Project(query, QueryKernel!, QueryBias), batch, tq, KeyDim);
        var k = Heads(Project(key, KeyKernel!, KeyBias), batch, tv, KeyDim);
        var v = Heads(Project(value, ValueKernel!, ValueBias), batch, tv, ValueDim);
        q = Ops.Scale(q, 1f / MathF.Sqrt(KeyDim));
        var scores = Ops.BatchMatMul(q, k, transposeB: true);
        var offsets = MaskOffsets(CheckStepMask(masks[0], batch, tq, "query mask as"), CheckStepMask(masks[1], batch, tv, "value mask as"), CheckStepMask(masks.Count > 2 ? masks[2] : null, batch, tv, "key mask as"), batch, tq, tv);
        if (offsets is not null)
        {
            scores = Ops.Add(scores, offsets);
        }

        var weights = Ops.Softmax(scores);
        var dropped = Ops.Dropout(weights, Dropout, DropoutRandom, training);
        var context = Ops.BatchMatMul(dropped, v); // [B·H, Tq, V]
        var merged = Ops.Reshape(Ops.Permute(Ops.Reshape(context, batch, NumHeads, tq, ValueDim), 0, 2, 1, 3), batch * tq, NumHeads * ValueDim);
        int output = OutputKernel!.Value.Dim(2);
        var y = Ops.MatMul(merged, Ops.Reshape(OutputKernel.Value, NumHeads * ValueDim, output));
        if (OutputBias is not null)
        {
            y = Ops.Add(y, OutputBias.Value);
        }

        y = Ops.Reshape(y, batch, tq, output);
        return ReturnAttentionScores ? [y, Ops.Reshape(weights, batch, NumHeads, tq, tv)] : [y];
    }

    /// <summary>x [B, T, d] · kernel [d, H, size] (+ bias [H, size]) as [B·T, H·size].</summary>
    private static Tensor Project(Tensor x, Parameter kernel, Parameter? bias)
    {
        var w = kernel.Value;
        int d = w.Dim(0), width = w.Dim(1) * w.Dim(2);
        var y = Ops.MatMul(Ops.Reshape(x, x.Dim(0) * x.Dim(1), d), Ops.Reshape(w, d, width));
        return bias is null ? y : Ops.Add(y, Ops.Reshape(bias.Value, width));
    }

    /// <summary>[B·T, H·size] as [B·H, T, size]: one matrix per (sample, head).</summary>
    private Tensor Heads(Tensor x, int batch, int steps, int size) =>
        Ops.Reshape(Ops.Permute(Ops.Reshape(x, batch, steps, NumHeads, size), 0, 2, 1, 3), batch * NumHeads, steps, size);

    /// <summary>A constant [B·H, Tq, Tv]: −1e9 where the pair is masked (query, value or key mask, causal), else 0; null when nothing is masked.</summary>
    private Tensor? MaskOffsets(Tensor? queryMask, Tensor? valueMask, Tensor? keyMask, int batch, int tq, int tv)
    {
        if (queryMask is null && valueMask is null && keyMask is null && !UseCausalMask)
        {
            return null;
        }

        var offsets = new Tensor(batch * NumHeads, tq, tv);
        var o = offsets.Span;
        for (int b = 0; b < batch; b++)
        {
            for (int i = 0; i < tq; i++)
            {
                bool queryMasked = queryMask is not null && queryMask.Span[(b * tq) + i] == 0f;
                for (int j = 0; j < tv; j++)
                {
                    bool masked = queryMasked || (UseCausalMask && j > i)
                        || (valueMask is not null && valueMask.Span[(b * tv) + j] == 0f)
                        || (keyMask is not null && keyMask.Span[(b * tv) + j] == 0f);
                    if (masked)
                    {
                        for (int h = 0; h < NumHeads; h++)
                        {
                            o[(((((b * NumHeads) + h) * tq) + i) * tv) + j] = -MaskedScoreOffset;
                        }
                    }
                }
            }
        }

        return offsets;
    }

    /// <summary>Per-sample shapes (batch excluded, -1 unknown): query [Tq, dq], value [Tv, dv], key [Tv, dk].</summary>
    private void CheckShapes(IReadOnlyList<int[]> shapes)
    {
        CheckInputCount(shapes.Count);
        string[] names = ["query (input 0)", "value (input 1)", "key (input 2)"];
        for (int i = 0; i < shapes.Count; i++)
        {
            if (shapes[i].Length != 2)
            {
                throw ShapeError("[batch, steps, depth]", [-1, .. shapes[i]], names[i] + " as");
            }
        }

        if (shapes.Count > 2 && shapes[1][0] >= 0 && shapes[2][0] >= 0 && shapes[1][0] != shapes[2][0])
        {
            throw ShapeError($"[batch, {shapes[1][0]}, *] (as many steps as the value)", [-1, .. shapes[2]], "key (input 2) as");
        }
    }

    private static int? OutputShapeOf(JsonNode? node) => node switch
    {
        null => null,
        JsonArray { Count: 1 } a => a[0]!.GetValue<int>(),
        JsonArray a => throw new NotSupportedException($"MultiHeadAttention: output_shape {a.ToJsonString()} is not supported; give one size (the last axis)."),
        _ => node.GetValue<int>(),
    };
}
