using System.Globalization;
using LstmSharp.Interop.Onnx.Proto;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;

namespace LstmSharp.Interop.Onnx;

/// <summary>
/// ONNX LSTM, GRU and RNN nodes become LSTM, GRU and SimpleRNN layers (Bidirectional for
/// direction=bidirectional, ReverseTime after a reverse direction's output sequence).
/// </summary>
/// <remarks>
/// <para>Weights: ONNX W [dirs, G·H, F] and R [dirs, G·H, H] hold gate blocks as rows (LSTM i, o,
/// f, c; GRU z, r, h; RNN one); LstmSharp's kernel [F, G·H] and recurrent kernel [H, G·H] hold
/// them as columns (LSTM i, f, c, o; GRU z, r, h). B [dirs, 2·G·H] is Wb then Rb: LSTM and RNN
/// and GRU with linear_before_reset=0 use Wb + Rb; linear_before_reset=1 is Keras's
/// reset_after=true, whose bias rows are exactly Wb and Rb. Peepholes P [dirs, 3·H] are i, o, f;
/// LstmSharp's rows are i, f, o. input_forget=1 is the coupled gate (f = 1 − i).</para>
/// <para>Activations: an ONNX activation a(x) is written as k(s·x + t) with k one of LstmSharp's
/// kernels (sigmoid, hard_sigmoid = clip(x/6 + 1/2), tanh, relu, linear): s and t fold into the
/// weights and bias of the gates it applies to. HardSigmoid(α, β) is hard_sigmoid with s = 6α,
/// t = 6(β − ½); Affine(α, β) is linear with s = α, t = β; LeakyRelu(0) and ThresholdedRelu(0)
/// are relu; ScaledTanh(1, β) is tanh with s = β. The LSTM's h acts on the cell state and cannot
/// be rescaled; g and h must be the same kernel or one of them linear (Greff's NIAF / NOAF).
/// A node with a <c>clip</c>, or with activations that do not fold (LeakyRelu(0.1), Elu, Softsign,
/// Softplus, ThresholdedRelu(α ≠ 0), ScaledTanh(α ≠ 1), an LSTM h with a scale, ...), becomes
/// RNN(OnnxRecurrentCell) instead (OnnxImporter.Cells.cs).</para>
/// </remarks>
internal sealed partial class OnnxImporter
{
    private readonly record struct Act(ActivationKind Kind, float Scale, float Shift, string Text)
    {
        public bool Plain => Scale == 1f && Shift == 0f;
    }

    private Value[] ImportRecurrent(NodeProto node, Value?[] x)
    {
        string op = node.OpType;
        int gates = op == "LSTM" ? 4 : op == "GRU" ? 3 : 1;
        int states = op == "LSTM" ? 2 : 1;
        Value? In(int i) => i < x.Length ? x[i] : null;
        if (In(0) is not Dyn input)
        {
            throw UnsupportedNode(node, $"X must depend on the graph inputs, got {(In(0) is { } v ? Describe(v) : "nothing")}");
        }

        var w = RequireConst(node, In(1), "W");
        var r = RequireConst(node, In(2), "R");
        var b = In(3) is null ? null : RequireConst(node, In(3), "B");
        string direction = AttrString(node, "direction", "forward");
        int dirs = direction == "bidirectional" ? 2 : 1;
        if (direction is not ("forward" or "reverse" or "bidirectional"))
        {
            throw Format($"node {NodeText(node)}: direction '{Short(direction)}' is not forward, reverse or bidirectional.");
        }

        long layout = AttrInt(node, "layout", 0);
        if (layout is not (0 or 1))
        {
            throw Format($"node {NodeText(node)}: layout {layout} is not 0 or 1.");
        }

        if (w.Rank != 3 || w.Dims[0] != dirs || w.Dims[1] % gates != 0 || w.Dims[1] == 0 || w.Dims[2] == 0)
        {
            throw Format($"node {NodeText(node)}: W is {w.ShapeText}, expected [{dirs}, {gates}·hidden_size, input_size].");
        }

        long hidden = Attr(node, "hidden_size") is { } hs ? hs.I : w.Dims[1] / gates;
        if (hidden <= 0 || hidden > int.MaxValue / 4 || w.Dims[1] != gates * hidden)
        {
            throw Format($"node {NodeText(node)}: W is {w.ShapeText}, which does not match hidden_size {hidden} ({gates} gate blocks).");
        }

        int h = (int)hidden, f = (int)w.Dims[2];
        if (r.Rank != 3 || r.Dims[0] != dirs || r.Dims[1] != gates * h || r.Dims[2] != h)
        {
            throw Format($"node {NodeText(node)}: R is {r.ShapeText}, expected [{dirs}, {gates * h}, {h}].");
        }

        if (b is not null && (b.Rank != 2 || b.Dims[0] != dirs || b.Dims[1] != 2 * gates * h))
        {
            throw Format($"node {NodeText(node)}: B is {b.ShapeText}, expected [{dirs}, {2 * gates * h}].");
        }

        var p = op == "LSTM" && In(7) is { } pv ? RequireConst(node, pv, "P") : null;
        if (p is not null && (p.Rank != 2 || p.Dims[0] != dirs || p.Dims[1] != 3 * h))
        {
            throw Format($"node {NodeText(node)}: P is {p.ShapeText}, expected [{dirs}, {3 * h}].");
        }

        float? clip = ClipAttribute(node);

        int expectedBatchAxis = layout == 1 ? 0 : 1;
        if (input.Rank != 3 || input.BatchAxis != expectedBatchAxis)
        {
            throw UnsupportedNode(node, $"X is [{Text(input.Dims)}] with its batch on axis {input.BatchAxis}; layout={layout} needs a 3-D X with the batch on axis {expectedBatchAxis}");
        }

        if (input.Dims[2] >= 0 && input.Dims[2] != f)
        {
            throw Format($"node {NodeText(node)}: X has {input.Dims[2]} features, W expects {f}.");
        }

        var xSym = input.T.Shape[^1] == f ? input.T : new Reshape([-1, f]).Apply(input.T);
        long time = input.Dims[layout == 1 ? 1 : 0];
        CheckSequenceLengths(node, In(4), time);
        xSym = In(4) switch
        {
            // Lengths fed at run time (a second model input): a right-padding mask on X.
            Dyn lengths => new SequenceLengthMask().Apply(xSym, lengths.T),

            // Lengths of a padding mask computed in the graph (Masking, mask_zero): that mask, Keras's way.
            MaskVal padding => WithPadding(node, xSym, padding),
            _ => WithoutPadding(xSym),
        };

        // Initial states: absent or zero -> the layer's zeros; run-time -> one [batch, H] input per direction.
        var initial = new SymbolicTensor?[states, dirs];
        for (int s = 0; s < states; s++)
        {
            var v = In(5 + s);
            if (v is null or Zeros || (v is Const c0 && Enumerable.Range(0, c0.C.Count).All(i => c0.C[i] == 0)))
            {
                continue;
            }

            if (v is not Dyn sd)
            {
                throw UnsupportedNode(node, $"{(s == 0 ? "initial_h" : "initial_c")} is {Describe(v)} with non-zero values; keep it a graph input (it is per batch) or make it zeros");
            }

            int stateBatch = layout == 1 ? 0 : 1;
            if (sd.Rank != 3 || sd.BatchAxis != stateBatch || (sd.Dims[1 - stateBatch] >= 0 && sd.Dims[1 - stateBatch] != dirs) || (sd.Dims[2] >= 0 && sd.Dims[2] != h))
            {
                throw UnsupportedNode(node, $"{(s == 0 ? "initial_h" : "initial_c")} is [{Text(sd.Dims)}] with its batch on axis {sd.BatchAxis}; expected [{(layout == 1 ? $"batch, {dirs}, {h}" : $"{dirs}, batch, {h}")}]");
            }

            for (int d = 0; d < dirs; d++)
            {
                initial[s, d] = new AxisSlice(1, d, d + 1, keepAxis: false).Apply(sd.T);
            }
        }

        bool anyInitial = initial.Cast<SymbolicTensor?>().Any(t => t is not null);
        if (anyInitial && initial.Cast<SymbolicTensor?>().Any(t => t is null))
        {
            throw UnsupportedNode(node, "initial_h given without initial_c (or the reverse); LstmSharp's LSTM takes both or neither");
        }

        var functions = Activations(node, op, dirs);
        bool wantY = node.Output.Count > 0 && !string.IsNullOrEmpty(node.Output[0]);
        bool wantStates = node.Output.Skip(1).Any(o => !string.IsNullOrEmpty(o));
        bool masked = In(4) is Dyn or MaskVal;

        // Past a row's length ONNX writes zeros (zero_output_for_mask); a Where after the node may
        // repeat the last output there instead, as Keras does by default.
        var zeroOutput = In(4) is MaskVal mv
            ? FindRepeatLast(node, dirs, layout, direction == "reverse", mv).Select(repeat => !repeat).ToArray()
            : Enumerable.Repeat(masked, dirs).ToArray();

        // The fused layers when every direction's activations fold into their kernels and there is
        // no clip; else RNN(OnnxRecurrentCell), which runs the operator's equations as they are.
        var acts = new Act[dirs][];
        var layers = new RecurrentLayer[dirs];
        for (int d = 0; d < dirs && clip is null; d++)
        {
            bool backwards = direction == "reverse" || d == 1;
            var folded = functions[d].Select(TryFold).ToArray();
            if (folded.Any(a => a is null))
            {
                break;
            }

            acts[d] = folded.Select(a => a!.Value).ToArray();
            if (MakeLayer(node, op, h, acts[d], backwards, wantY, wantStates, p is not null && Peepholes(p, d, h), zeroOutput[d]) is not { } made)
            {
                break;
            }

            layers[d] = made;
        }

        if (layers.Any(l => l is null))
        {
            return WithZeroedLastOutputs(node, ImportAsCells(node, op, h, f, time, layout, direction, functions, clip, xSym, initial, anyInitial, zeroOutput, wantY, wantStates, w, r, b, p), h, layout, direction == "reverse", In(4) as MaskVal, zeroOutput);
        }

        Layer layer = dirs == 2 ? new Bidirectional(layers[0], "concat", layers[1]) : layers[0];
        var layerInputs = new List<SymbolicTensor> { xSym };
        if (anyInitial)
        {
            for (int d = 0; d < dirs; d++)
            {
                for (int s = 0; s < states; s++)
                {
                    layerInputs.Add(initial[s, d]!);
                }
            }
        }

        SymbolicTensor[] outs;
        try
        {
            outs = layer.ApplyAll(layerInputs.ToArray());
        }
        catch (ArgumentException e)
        {
            throw UnsupportedNode(node, e.Message);
        }

        var built = layer is Bidirectional bi ? new[] { bi.Forward, bi.Backward } : layers;
        for (int d = 0; d < dirs; d++)
        {
            SetWeights(node, op, built[d], w, r, b, p, d, h, f, acts[d]);
        }

        var seq = !wantY ? null : direction == "reverse" ? new ReverseTime().Apply(outs[0]) : outs[0];

        // Bidirectional with return_state gives [merged, fw states..., bw states...].
        var finals = !wantStates ? null : Enumerable.Range(0, dirs).Select(d => outs.Skip(1 + (d * states)).Take(states).ToArray()).ToArray();
        return WithZeroedLastOutputs(node, RecurrentOutputs(seq, finals, states, dirs, h, time, layout), h, layout, direction == "reverse", In(4) as MaskVal, zeroOutput);
    }

    /// <summary>
    /// A recurrent node's outputs from its layers': Y [T, dirs, B, H] (layout 1: [B, T, dirs, H])
    /// from the directions' sequences side by side in input order, Y_h and Y_c [dirs, B, H]
    /// (layout 1: [B, dirs, H]) from each direction's final states (<c>finals[direction][state]</c>);
    /// an output not wanted (null) is an empty constant.
    /// </summary>
    private static Value[] RecurrentOutputs(SymbolicTensor? sequence, SymbolicTensor[][]? finals, int states, int dirs, int h, long time, long layout)
    {
        var results = new Value[1 + states];
        if (sequence is not null)
        {
            var y = new Reshape([-1, dirs, h]).Apply(sequence);
            long[] yDims = layout == 1 ? [BatchSymbol, time, dirs, h] : [time, dirs, BatchSymbol, h];
            results[0] = new Dyn(y, layout == 1 ? 0 : 2, yDims);
        }

        for (int s = 0; finals is not null && s < states; s++)
        {
            var perDir = Enumerable.Range(0, dirs).Select(d => finals[d][s]).ToArray();
            var joined = dirs == 1 ? perDir[0] : new Concatenate(-1).Apply(perDir);
            var st = new Reshape([dirs, h]).Apply(joined);
            long[] sDims = layout == 1 ? [BatchSymbol, dirs, h] : [dirs, BatchSymbol, h];
            results[1 + s] = new Dyn(st, layout == 1 ? 0 : 1, sDims);
        }

        for (int k = 0; k < results.Length; k++)
        {
            results[k] ??= new Zeros([]);
        }

        return results;
    }

    private OnnxConstant RequireConst(NodeProto node, Value? v, string name)
    {
        if (v is not Const c)
        {
            throw UnsupportedNode(node, $"{name} is {(v is null ? "missing" : Describe(v))}; weights must be initializers or bound constants (Model.LoadOnnx(path, constants))");
        }

        if (!c.C.IsFloat)
        {
            throw Format($"node {NodeText(node)}: {name} is an integer tensor, expected float weights.");
        }

        return c.C;
    }

    private void CheckSequenceLengths(NodeProto node, Value? lens, long time)
    {
        switch (lens)
        {
            case null:
                return;
            case Const c when time > 0 && Enumerable.Range(0, c.C.Count).All(i => c.C[i] == time):
                // Every sequence is full length: the lengths change nothing.
                return;
            case Const c:
                throw UnsupportedNode(node, $"sequence_lens is a constant {c.C.ShapeText} that does not cover every step of X (time {(time > 0 ? time.ToString(CultureInfo.InvariantCulture) : "unknown")}); pass padded sequences through Masking instead");
            case MaskVal:
                // The lengths of a padding mask computed in the graph: checked by WithPadding.
                return;
            case Dyn d when d.Rank == 1 && d.BatchAxis == 0:
                // Per-example lengths given at run time; SequenceLengthMask checks their values.
                return;
            case Dyn d:
                throw UnsupportedNode(node, $"sequence_lens is [{Text(d.Dims)}] with its batch on axis {d.BatchAxis}; expected a run-time [batch] tensor (a graph input)");
            default:
                throw UnsupportedNode(node, $"sequence_lens is {Describe(lens)}; expected a [batch] graph input or a constant equal to the time steps");
        }
    }

    private static bool Peepholes(OnnxConstant p, int d, int h)
    {
        var v = p.Floats!;
        for (int i = 0; i < 3 * h; i++)
        {
            if (v[(d * 3 * h) + i] != 0f)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The node's activations per direction, each with its alpha and beta (consumed in order by the
    /// activations that take them, as ONNX Runtime does; missing ones get the ONNX operators' defaults).
    /// </summary>
    private ActivationFunction[][] Activations(NodeProto node, string op, int dirs)
    {
        int per = OnnxRecurrentCell.ActivationCount(op);
        var names = Attr(node, "activations")?.Strings.Select(s => s.ToStringUtf8()).ToArray();
        if (names is null || names.Length == 0)
        {
            names = Enumerable.Range(0, dirs).SelectMany(_ => OnnxRecurrentCell.DefaultActivations(op).Select(a => a.Name)).ToArray();
        }

        if (names.Length != per * dirs)
        {
            throw Format($"node {NodeText(node)}: attribute activations has {names.Length} entries ({string.Join(", ", names.Select(n => Short(n)))}), expected {per * dirs} ({per} per direction for {op} with direction={(dirs == 2 ? "bidirectional" : "forward or reverse")}).");
        }

        var alphas = Attr(node, "activation_alpha")?.Floats.ToArray() ?? [];
        var betas = Attr(node, "activation_beta")?.Floats.ToArray() ?? [];
        int ai = 0, bi = 0;
        var result = new ActivationFunction[dirs][];
        for (int d = 0; d < dirs; d++)
        {
            result[d] = new ActivationFunction[per];
            for (int k = 0; k < per; k++)
            {
                int at = (d * per) + k;
                string name = names[at];
                string canonical = ActivationFunction.Canonical(name)
                    ?? throw Format($"node {NodeText(node)}: attribute activations[{at}] is '{Short(name)}', expected one of {string.Join(", ", ActivationFunction.Names)}.");
                float? alpha = ActivationFunction.TakesAlphaByName(canonical) && ai < alphas.Length ? alphas[ai++] : null;
                float? beta = ActivationFunction.TakesBetaByName(canonical) && bi < betas.Length ? betas[bi++] : null;
                if (alpha is { } av && !float.IsFinite(av) || beta is { } bv && !float.IsFinite(bv))
                {
                    throw Format($"node {NodeText(node)}: activation {canonical} (activations[{at}]) has alpha={Fmt(alpha ?? 0)}, beta={Fmt(beta ?? 0)}; expected finite numbers.");
                }

                result[d][k] = ActivationFunction.Create(canonical, alpha, beta);
            }
        }

        if (ai < alphas.Length || bi < betas.Length)
        {
            throw Format($"node {NodeText(node)}: attributes activation_alpha / activation_beta have {alphas.Length} / {betas.Length} values, but the activations ({string.Join(", ", names.Select(n => Short(n)))}) take {ai} / {bi}.");
        }

        return result;
    }

    /// <summary>The node's clip: null when absent (or infinite: no clipping); a positive number; else a format error.</summary>
    private float? ClipAttribute(NodeProto node)
    {
        if (Attr(node, "clip") is not { } a)
        {
            return null;
        }

        float clip = a.F;
        if (float.IsPositiveInfinity(clip) || clip == float.MaxValue)
        {
            return null;
        }

        if (!(clip > 0f) || float.IsNaN(clip))
        {
            throw Format($"node {NodeText(node)}: attribute clip is {Fmt(clip)}, expected a positive number (pre-activations are clipped to [-clip, clip]).");
        }

        return clip;
    }

    /// <summary>a(x) as k(s·x + t) with k one of the fused kernels, or null when it is not of that form.</summary>
    private static Act? TryFold(ActivationFunction a)
    {
        string text = a.ToString();
        return a.Name switch
        {
            "Sigmoid" => new Act(ActivationKind.Sigmoid, 1f, 0f, text),
            "Tanh" => new Act(ActivationKind.Tanh, 1f, 0f, text),
            "Relu" => new Act(ActivationKind.Relu, 1f, 0f, text),
            "HardSigmoid" => HardSigmoid(a.Alpha, a.Beta, text),
            "Affine" => new Act(ActivationKind.Linear, a.Alpha, a.Beta, text),
            "LeakyRelu" when a.Alpha == 0f => new Act(ActivationKind.Relu, 1f, 0f, text),
            "LeakyRelu" when a.Alpha == 1f => new Act(ActivationKind.Linear, 1f, 0f, text),
            "ThresholdedRelu" when a.Alpha == 0f => new Act(ActivationKind.Relu, 1f, 0f, text),
            "ScaledTanh" when a.Alpha == 1f => new Act(ActivationKind.Tanh, a.Beta, 0f, text),
            "Elu" when a.Alpha == 1f => new Act(ActivationKind.Elu, 1f, 0f, text),
            "Softsign" => new Act(ActivationKind.Softsign, 1f, 0f, text),
            "Softplus" => new Act(ActivationKind.Softplus, 1f, 0f, text),
            _ => null,
        };
    }

    private static Act HardSigmoid(float alpha, float beta, string text)
    {
        // clip(αx + β, 0, 1) = clip((sx + t)/6 + 1/2, 0, 1) with s = 6α, t = 6(β − 1/2).
        float scale = (float)(6.0 * alpha), shift = (float)(6.0 * (beta - 0.5));
        return new Act(ActivationKind.HardSigmoid, scale, shift, text);
    }

    private RecurrentLayer? MakeLayer(NodeProto node, string op, int h, Act[] a, bool backwards, bool returnSequences, bool returnState, bool peepholes, bool zeroOutputForMask)
    {
        switch (op)
        {
            case "LSTM":
            {
                var (fAct, g, hAct) = (a[0], a[1], a[2]);
                if (!hAct.Plain)
                {
                    // h acts on the cell state, where a scale or shift cannot fold into weights.
                    return null;
                }

                ActivationKind kind;
                bool inputActivation = true, outputActivation = true;
                if (g.Kind == hAct.Kind)
                {
                    kind = g.Kind;
                }
                else if (hAct.Kind == ActivationKind.Linear)
                {
                    kind = g.Kind;
                    outputActivation = false;
                }
                else if (g.Kind == ActivationKind.Linear)
                {
                    kind = hAct.Kind;
                    inputActivation = false;
                }
                else
                {
                    // The fused LSTM applies one activation to both (or leaves one out).
                    return null;
                }

                var variant = LstmVariant.Standard with
                {
                    Peepholes = peepholes,
                    CoupledInputForget = AttrInt(node, "input_forget", 0) != 0,
                    InputActivation = inputActivation,
                    OutputActivation = outputActivation,
                };
                return new LSTM(h, kind.ToName(), fAct.Kind.ToName(), useBias: true, unitForgetBias: false, returnSequences: returnSequences, returnState: returnState, goBackwards: backwards, variant: variant, zeroOutputForMask: zeroOutputForMask);
            }

            case "GRU":
                return new GRU(h, a[1].Kind.ToName(), a[0].Kind.ToName(), useBias: true, returnSequences: returnSequences, returnState: returnState, goBackwards: backwards,
                    resetAfter: AttrInt(node, "linear_before_reset", 0) != 0, zeroOutputForMask: zeroOutputForMask);
            default:
                return new SimpleRNN(h, a[0].Kind.ToName(), useBias: true, returnSequences: returnSequences, returnState: returnState, goBackwards: backwards, zeroOutputForMask: zeroOutputForMask);
        }
    }

    private void SetWeights(NodeProto node, string op, RecurrentLayer layer, OnnxConstant w, OnnxConstant r, OnnxConstant? b, OnnxConstant? p, int d, int h, int f, Act[] acts)
    {
        var wv = w.Floats!;
        var rv = r.Floats!;
        var bv = b?.Floats;
        int blocks = op == "LSTM" ? 4 : op == "GRU" ? 3 : 1;
        int wBase = d * blocks * h * f, rBase = d * blocks * h * h, bBase = d * 2 * blocks * h;

        // (ONNX block, LstmSharp column offset, activation) for every block with weights.
        var map = new List<(int Onnx, int Column, Act Act)>();
        bool resetAfter = false;
        switch (layer)
        {
            case LSTM lstm:
            {
                var layout = lstm.Layout!;
                (LstmGate Gate, int Onnx, Act Act)[] gatesOrder = [(LstmGate.Input, 0, acts[0]), (LstmGate.Output, 1, acts[0]), (LstmGate.Forget, 2, acts[0]), (LstmGate.Candidate, 3, acts[1])];
                foreach (var (gate, onnx, act) in gatesOrder)
                {
                    int column = layout.BlockOffset(gate);
                    if (column >= 0)
                    {
                        map.Add((onnx, column, act));
                    }
                }

                break;
            }

            case GRU gru:
                resetAfter = gru.ResetAfter;
                map.Add((0, 0, acts[0]));
                map.Add((1, h, acts[0]));
                map.Add((2, 2 * h, acts[1]));
                break;
            default:
                map.Add((0, 0, acts[0]));
                break;
        }

        var (kernel, recurrent, bias) = layer switch
        {
            LSTM l => (l.Kernel!, l.RecurrentKernel!, l.Bias!),
            GRU g => (g.Kernel!, g.RecurrentKernel!, g.Bias!),
            SimpleRNN s => (s.Kernel!, s.RecurrentKernel!, s.Bias!),
            _ => throw new InvalidOperationException(),
        };
        int width = kernel.Value.Dim(1);
        var kv = kernel.Value.Span;
        var uv = recurrent.Value.Span;
        var biasSpan = bias.Value.Span;
        biasSpan.Clear();
        foreach (var (onnx, column, act) in map)
        {
            float s = act.Scale, t = act.Shift;
            for (int u = 0; u < h; u++)
            {
                int row = (onnx * h) + u;
                for (int i = 0; i < f; i++)
                {
                    float v = wv[wBase + (row * f) + i];
                    kv[(i * width) + column + u] = s == 1f ? v : s * v;
                }

                for (int j = 0; j < h; j++)
                {
                    float v = rv[rBase + (row * h) + j];
                    uv[(j * width) + column + u] = s == 1f ? v : s * v;
                }

                float wb = bv is null ? 0f : bv[bBase + row];
                float rb = bv is null ? 0f : bv[bBase + (blocks * h) + row];
                if (resetAfter)
                {
                    biasSpan[column + u] = s == 1f && t == 0f ? wb : (s * wb) + t;
                    biasSpan[width + column + u] = s == 1f ? rb : s * rb;
                }
                else
                {
                    float sum = wb + rb;
                    biasSpan[column + u] = s == 1f && t == 0f ? sum : (s * sum) + t;
                }
            }
        }

        if (layer is LSTM withPeep && withPeep.Peephole is { } peep)
        {
            // ONNX P rows i, o, f; LstmSharp's rows are the weighted gates among i, f, o in that order.
            var layout = withPeep.Layout!;
            var pv = p!.Floats!;
            var dst = peep.Value.Span;
            foreach (var (gate, onnx) in new[] { (LstmGate.Input, 0), (LstmGate.Forget, 2), (LstmGate.Output, 1) })
            {
                int row = layout.WeightedGateIndex(gate);
                if (row < 0)
                {
                    continue;
                }

                float s = acts[0].Scale;
                for (int u = 0; u < h; u++)
                {
                    float v = pv[(d * 3 * h) + (onnx * h) + u];
                    dst[(row * h) + u] = s == 1f ? v : s * v;
                }
            }
        }
    }
}
