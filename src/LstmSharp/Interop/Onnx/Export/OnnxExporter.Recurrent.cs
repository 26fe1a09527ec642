using LstmSharp.Training;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Recurrent;
using static LstmSharp.Interop.Onnx.OnnxGraphBuilder;

namespace LstmSharp.Interop.Onnx;

/// <summary>
/// Recurrent layers as ONNX <c>LSTM</c> / <c>GRU</c> / <c>RNN</c> nodes.
/// </summary>
/// <remarks>
/// <para>Weights: Keras keeps <c>kernel [features, G·units]</c> with gate blocks i, f, c, o
/// (LSTM) or z, r, h (GRU); ONNX wants <c>W [dirs, G·units, features]</c> = kernelᵀ with LSTM
/// blocks in the order i, o, f, c (GRU's z, r, h is the same in both), <c>B = [Wb, Rb]</c>
/// (Keras's one bias goes to Wb, Rb = 0; a GRU with reset_after keeps its two rows), and
/// the peepholes <c>P [dirs, 3·units]</c> in the order i, o, f.</para>
/// <para>Time: the node runs on <c>[time, batch, features]</c> (<c>layout=0</c>: ONNX Runtime's
/// CPU kernels reject <c>layout=1</c>), between Transposes. ONNX writes outputs at their time
/// positions; a Keras layer with <c>go_backwards</c> returns them in processing order (last
/// step first), so its sequence is reversed after a <c>direction=reverse</c> node.</para>
/// <para>Masks: ONNX's <c>sequence_lens</c> = the mask's row sums (right padding). Past a row's
/// length ONNX outputs zeros, Keras repeats the last output (unless <c>zero_output_for_mask</c>),
/// so a forward layer's sequence is patched with a Where.</para>
/// </remarks>
internal sealed partial class OnnxExporter
{
    private readonly List<(string Name, OnnxValue Value)> stateOutputs = [];

    private OnnxValue[] EmitRecurrentLayer(RecurrentLayer layer, OnnxValue[] ins, IReadOnlyList<int[]> shapes)
    {
        var x = ins[0];
        string[]? initial = ins.Length > 1 ? ins.Skip(1).Select(v => v.Name).ToArray() : null;
        var d = RunNode(layer.Name, [Describe(layer, x.Shape[^1])], x, [initial])[0];
        var outs = new List<OnnxValue>
        {
            layer.ReturnSequences ? new OnnxValue(KerasSequence(d), shapes[0], x.Mask) : new OnnxValue(d.Last!, shapes[0]),
        };
        if (layer.ReturnState)
        {
            outs.AddRange(d.States.Select((s, i) => new OnnxValue(s, shapes[1 + i])));
        }

        return outs.ToArray();
    }

    private OnnxValue[] EmitBidirectional(Bidirectional b, OnnxValue[] ins, IReadOnlyList<int[]> shapes)
    {
        var x = ins[0];
        int sc = b.Forward.StateCount;
        string[]? fInit = ins.Length > 1 ? ins.Skip(1).Take(sc).Select(v => v.Name).ToArray() : null;
        string[]? bInit = ins.Length > 1 ? ins.Skip(1 + sc).Select(v => v.Name).ToArray() : null;
        Direction f, bw;
        var (fd, bd) = (Describe(b.Forward, x.Shape[^1]), Describe(b.Backward, x.Shape[^1]));
        if (SameCell(b.Forward, b.Backward) && fd.SameNode(bd) && !b.Forward.GoBackwards && b.Backward.GoBackwards)
        {
            var both = RunNode(b.Name, [fd, bd], x, [fInit, bInit]);
            (f, bw) = (both[0], both[1]);
        }
        else
        {
            f = RunNode(b.Name + "/" + b.Forward.Name, [fd], x, [fInit])[0];
            bw = RunNode(b.Name + "/" + b.Backward.Name, [bd], x, [bInit])[0];
        }

        string yf, yb;
        if (b.ReturnSequences)
        {
            // Bidirectional reverses the backward layer's sequence (processing order) back to time positions.
            yf = KerasSequence(f);
            yb = b.Backward.GoBackwards ? bw.Positions! : ReverseTimeAxis(bw.Positions!, b.Backward.Name);
        }
        else
        {
            (yf, yb) = (f.Last!, bw.Last!);
        }

        string? seqMask = b.ReturnSequences ? x.Mask : null;
        var outs = new List<OnnxValue>();
        switch (b.MergeMode)
        {
            case null:
                outs.Add(new OnnxValue(yf, shapes[0], seqMask));
                outs.Add(new OnnxValue(yb, shapes[1], seqMask));
                break;
            case "concat":
                outs.Add(new OnnxValue(g.Node("Concat", b.Name + "/Concat", [yf, yb], Attr("axis", -1L)), shapes[0], seqMask));
                break;
            case "sum":
                outs.Add(new OnnxValue(g.Node("Add", b.Name + "/Sum", [yf, yb]), shapes[0], seqMask));
                break;
            case "mul":
                outs.Add(new OnnxValue(g.Node("Mul", b.Name + "/Mul", [yf, yb]), shapes[0], seqMask));
                break;
            case "ave":
                string sum = g.Node("Add", b.Name + "/Sum", [yf, yb]);
                outs.Add(new OnnxValue(g.Node("Mul", b.Name + "/Average", [sum, g.FloatScalar(b.Name + "/half", 0.5f)]), shapes[0], seqMask));
                break;
            default:
                throw new NotSupportedException($"ONNX export: {b} has merge mode '{b.MergeMode}', which has no ONNX mapping.");
        }

        if (b.ReturnState)
        {
            int k = outs.Count;
            foreach (var s in f.States.Concat(bw.States))
            {
                outs.Add(new OnnxValue(s, shapes[k++]));
            }
        }

        return outs.ToArray();
    }

    /// <summary>What one direction of a node gives: the outputs at their time positions [batch, time, units] (when the layer returns sequences), the last output and the final states [batch, units].</summary>
    private sealed record Direction(NodeDirection Layer, string? Positions, string? Last, string[] States);

    /// <summary>
    /// What one direction of an ONNX recurrent node is made of, whichever layer it comes from (a
    /// fused LSTM / GRU / SimpleRNN, or an RNN over an <see cref="OnnxRecurrentCell"/>): weights in
    /// ONNX layout (W [G·units, features], R [G·units, units], B [2·G·units], P [3·units] or null)
    /// and the node's attributes.
    /// </summary>
    private sealed record NodeDirection(
        string Name, string Op, int Units, bool GoBackwards, bool ReturnSequences, bool ZeroOutputForMask, bool IsStateful,
        float[] W, float[] R, float[] B, float[]? P, ActivationFunction[] Activations, float? Clip, bool InputForget, bool LinearBeforeReset)
    {
        public int StateCount => Op == "LSTM" ? 2 : 1;

        public int Gates => Op == "LSTM" ? 4 : Op == "GRU" ? 3 : 1;

        /// <summary>Whether two directions can share one direction=bidirectional node (the same attributes).</summary>
        public bool SameNode(NodeDirection o) =>
            Op == o.Op && Units == o.Units && IsStateful == o.IsStateful && ReturnSequences == o.ReturnSequences && Clip == o.Clip
            && InputForget == o.InputForget && LinearBeforeReset == o.LinearBeforeReset && (P is null) == (o.P is null);
    }

    private static NodeDirection Describe(RecurrentLayer layer, int features)
    {
        CheckExportable(layer);
        var (w, r, b, p) = Weights(layer, features);
        var (op, acts) = layer switch
        {
            LSTM l => ("LSTM", new[] { l.RecurrentActivation, l.Variant.InputActivation ? l.Activation : ActivationKind.Linear, l.Variant.OutputActivation ? l.Activation : ActivationKind.Linear }),
            GRU => ("GRU", new[] { layer.RecurrentActivation, layer.Activation }),
            SimpleRNN => ("RNN", new[] { layer.Activation }),
            _ => throw new NotSupportedException($"ONNX export: {layer} is a recurrent layer without an ONNX operator; supported: LSTM, GRU, SimpleRNN, RNN(OnnxRecurrentCell)."),
        };
        return new NodeDirection(
            layer.Name, op, layer.Units, layer.GoBackwards, layer.ReturnSequences, layer.ZeroOutputForMask, layer.IsStateful, w, r, b, p,
            acts.Select(k => OnnxActivation(layer, k)).ToArray(), null,
            layer is LSTM lstm && lstm.Variant.CoupledInputForget, layer is GRU gru && gru.ResetAfter);
    }

    private static NodeDirection Describe(RNN rnn, OnnxRecurrentCell cell) => new(
        rnn.Name, cell.Op, cell.Units, rnn.GoBackwards, rnn.ReturnSequences, rnn.ZeroOutputForMask, rnn.IsStateful,
        cell.Kernel!.Value.ToArray(), cell.RecurrentKernel!.Value.ToArray(), cell.Bias!.Value.ToArray(), cell.Peephole?.Value.ToArray(),
        cell.Activations.ToArray(), cell.Clip, cell.InputForget, cell.LinearBeforeReset);

    /// <summary>A fused kernel's activation as the ONNX function that computes it.</summary>
    private static ActivationFunction OnnxActivation(RecurrentLayer layer, ActivationKind k) => k switch
    {
        ActivationKind.Linear => ActivationFunction.Create("Affine", 1f, 0f),
        ActivationKind.HardSigmoid => ActivationFunction.Create("HardSigmoid", 1f / 6f, 0.5f),
        ActivationKind.Sigmoid => ActivationFunction.Create("Sigmoid"),
        ActivationKind.Tanh => ActivationFunction.Create("Tanh"),
        ActivationKind.Relu => ActivationFunction.Create("Relu"),
        ActivationKind.Elu => ActivationFunction.Create("Elu", 1f),
        ActivationKind.Softsign => ActivationFunction.Create("Softsign"),
        ActivationKind.Softplus => ActivationFunction.Create("Softplus"),
        _ => throw new NotSupportedException($"ONNX export: {layer} uses activation {k}, which ONNX's recurrent operators do not have."),
    };

    /// <summary>An RNN over an <see cref="OnnxRecurrentCell"/>: the node it came from, with the same attributes.</summary>
    private OnnxValue[] EmitCellRnn(RNN rnn, OnnxRecurrentCell cell, OnnxValue[] ins, IReadOnlyList<int[]> shapes)
    {
        var x = ins[0];
        string[]? initial = ins.Length > 1 ? ins.Skip(1).Select(v => v.Name).ToArray() : null;
        var d = RunNode(rnn.Name, [Describe(rnn, cell)], x, [initial])[0];
        var outs = new List<OnnxValue>
        {
            rnn.ReturnSequences ? new OnnxValue(KerasSequence(d), shapes[0], x.Mask) : new OnnxValue(d.Last!, shapes[0]),
        };
        if (rnn.ReturnState)
        {
            outs.AddRange(d.States.Select((s, i) => new OnnxValue(s, shapes[1 + i])));
        }

        return outs.ToArray();
    }

    /// <summary>The sequence as the Keras layer returns it: processing order (reversed for go_backwards).</summary>
    private string KerasSequence(Direction d) => d.Layer.GoBackwards ? ReverseTimeAxis(d.Positions!, d.Layer.Name) : d.Positions!;

    private string ReverseTimeAxis(string sequence, string owner) =>
        g.Node("Slice", owner + "/ReverseTime", [sequence, g.Int64s(-1), g.Int64s(long.MinValue), g.Int64s(1), g.Int64s(-1)]);

    private static bool SameCell(RecurrentLayer a, RecurrentLayer b) =>
        a.GetType() == b.GetType() && a.Units == b.Units && a.Activation == b.Activation && a.RecurrentActivation == b.RecurrentActivation
        && a.IsStateful == b.IsStateful && a.ReturnSequences == b.ReturnSequences
        && (a, b) switch
        {
            (LSTM la, LSTM lb) => la.Variant == lb.Variant,
            (GRU ga, GRU gb) => ga.ResetAfter == gb.ResetAfter,
            _ => true,
        };

    /// <summary>
    /// One ONNX recurrent node for one layer, or for two layers of the same cell (forward, then
    /// go_backwards) as <c>direction=bidirectional</c>. <paramref name="initial"/> holds, per
    /// layer, the names of its initial states [batch, units] or null.
    /// </summary>
    private Direction[] RunNode(string name, NodeDirection[] layers, OnnxValue x, string[]?[] initial)
    {
        var first = layers[0];
        int dirs = layers.Length, units = first.Units, features = x.Shape[^1];
        var (op, gates, stateCount) = (first.Op, first.Gates, first.StateCount);
        string w = g.Weight(name + "/W", [dirs, gates * units, features], layers.SelectMany(p => p.W).ToArray());
        string r = g.Weight(name + "/R", [dirs, gates * units, units], layers.SelectMany(p => p.R).ToArray());
        string bias = g.Weight(name + "/B", [dirs, 2 * gates * units], layers.SelectMany(p => p.B).ToArray());
        string peep = layers.Any(p => p.P is not null)
            ? g.Weight(name + "/P", [dirs, 3 * units], layers.SelectMany(p => p.P ?? new float[3 * units]).ToArray())
            : string.Empty;

        string xt = g.Node("Transpose", name + "/ToTimeMajor", [x.Name], Attr("perm", new long[] { 1, 0, 2 }));
        string lens = x.Mask is null ? string.Empty : Lengths(x.Mask, name);

        // Initial states: given by the call, else the carried states of a stateful layer (graph inputs), else zeros.
        var given = new string[dirs][];
        for (int d = 0; d < dirs; d++)
        {
            var layer = layers[d];
            if (initial[d] is { Length: > 0 } init)
            {
                given[d] = init;
            }
            else if (layer.IsStateful)
            {
                given[d] = StateNames(layer.Name, stateCount).Select(n => AddGraphInput(n, [units], false).Name).ToArray();
            }
        }

        if (given.Any(s => s is null) && given.Any(s => s is not null))
        {
            throw new NotSupportedException($"ONNX export: {string.Join(" and ", layers.Select(l => $"{l.Op} layer '{l.Name}'"))}: initial states are given for one direction only.");
        }

        var stateInputs = new string[stateCount];
        for (int s = 0; s < stateCount; s++)
        {
            if (given[0] is null)
            {
                stateInputs[s] = string.Empty;
                continue;
            }

            var parts = given.Select((st, d) => g.Node("Unsqueeze", $"{name}/InitialState{s}_{d}", [st[s], g.Int64s(0)])).ToArray();
            stateInputs[s] = dirs == 1 ? parts[0] : g.Node("Concat", $"{name}/InitialState{s}", parts, Attr("axis", 0L));
        }

        var inputs = new List<string> { xt, w, r, bias, lens, stateInputs[0] };
        if (op == "LSTM")
        {
            inputs.Add(stateInputs[1]);
            inputs.Add(peep);
        }

        while (inputs[^1].Length == 0)
        {
            inputs.RemoveAt(inputs.Count - 1);
        }

        // ONNX Runtime reads activation_alpha/beta only for the functions that take them, in order;
        // every alpha and beta is written, since ONNX Runtime's defaults differ from the spec's for some.
        var acts = layers.SelectMany(l => l.Activations).ToArray();
        float[] alphas = acts.Where(a => a.TakesAlpha).Select(a => a.Alpha).ToArray();
        float[] betas = acts.Where(a => a.TakesBeta).Select(a => a.Beta).ToArray();
        var attrs = new List<Interop.Onnx.Proto.AttributeProto>
        {
            Attr("hidden_size", (long)units),
            Attr("direction", dirs == 2 ? "bidirectional" : first.GoBackwards ? "reverse" : "forward"),
            Attr("activations", acts.Select(a => a.Name).ToArray()),
        };
        if (alphas.Length > 0)
        {
            attrs.Add(Attr("activation_alpha", alphas));
        }

        if (betas.Length > 0)
        {
            attrs.Add(Attr("activation_beta", betas));
        }

        if (first.Clip is { } clip)
        {
            attrs.Add(Attr("clip", clip));
        }

        if (op == "LSTM")
        {
            attrs.Add(Attr("input_forget", first.InputForget ? 1L : 0L));
        }

        if (op == "GRU")
        {
            attrs.Add(Attr("linear_before_reset", first.LinearBeforeReset ? 1L : 0L));
        }

        var outs = g.NodeN(op, name + "/" + op, inputs, op == "LSTM" ? 3 : 2, attrs.ToArray());
        string? ybt = layers.Any(l => l.ReturnSequences)
            ? g.Node("Transpose", name + "/ToBatchMajor", [outs[0]], Attr("perm", new long[] { 2, 0, 1, 3 }))
            : null;
        var result = new Direction[dirs];
        for (int d = 0; d < dirs; d++)
        {
            var layer = layers[d];
            string Pick(string t, int axis, string what) => dirs == 1
                ? g.Node("Squeeze", $"{name}/{what}", [t, g.Int64s(axis)])
                : g.Node("Gather", $"{name}/{what}_{d}", [t, g.Int64Scalar($"{name}/direction_{d}", d)], Attr("axis", (long)axis));

            string h = Pick(outs[1], 0, "Y_h");
            var states = stateCount == 2 ? new[] { h, Pick(outs[2], 0, "Y_c") } : new[] { h };
            bool forwardMasked = x.Mask is not null && !layer.GoBackwards;
            string? positions = null, last = null;
            if (layer.ReturnSequences)
            {
                positions = Pick(ybt!, 2, "Y");
                if (forwardMasked && !layer.ZeroOutputForMask)
                {
                    // Keras repeats the last valid output past a row's length; ONNX writes zeros there.
                    string keep = g.Node("Cast", $"{name}/StepIsValid", [g.Node("Unsqueeze", $"{name}/MaskPerUnit", [x.Mask!, g.Int64s(2)])], Attr("to", BoolType));
                    string repeated = g.Node("Unsqueeze", $"{name}/LastPerStep", [h, g.Int64s(1)]);
                    positions = g.Node("Where", $"{name}/RepeatLastPastLength", [keep, positions, repeated]);
                }
            }
            else
            {
                last = h;
                if (forwardMasked && layer.ZeroOutputForMask)
                {
                    // The last step's output is zero for a row whose last step is masked.
                    string lastValid = g.Node("Slice", $"{name}/LastStepValid", [x.Mask!, g.Int64s(-1), g.Int64s(long.MaxValue), g.Int64s(1)]);
                    last = g.Node("Mul", $"{name}/ZeroIfLastMasked", [h, lastValid]);
                }
            }

            if (layer.IsStateful)
            {
                var outNames = StateNames(layer.Name, stateCount);
                for (int s = 0; s < stateCount; s++)
                {
                    stateOutputs.Add((outNames[s] + "_out", new OnnxValue(states[s], [units])));
                }
            }

            result[d] = new Direction(layer, positions, last, states);
        }

        return result;
    }

    private static string[] StateNames(string layer, int stateCount) =>
        stateCount == 2 ? [layer + "/state_h", layer + "/state_c"] : [layer + "/state_h"];

    /// <summary>x with the mask [batch, time] = 1 where t &lt; lengths[b] (the lengths are a graph input); a recurrent node downstream turns it back into sequence_lens.</summary>
    private OnnxValue EmitSequenceLengthMask(SequenceLengthMask layer, OnnxValue[] ins, int[] shape)
    {
        var (x, lengths) = (ins[0], ins[1]);
        string owner = layer.Name;
        string steps = g.Node("Gather", owner + "/Steps", [g.Node("Shape", owner + "/Shape", [x.Name]), g.Int64Scalar(owner + "/time_axis", 1)], Attr("axis", 0L));
        string range = g.Node("Range", owner + "/StepIndex", [g.Int64Scalar(owner + "/range_start", 0), steps, g.Int64Scalar(owner + "/range_step", 1)]);
        string step = g.Node("Unsqueeze", owner + "/StepRow", [g.Node("Cast", owner + "/StepAsFloat", [range], Attr("to", FloatType)), g.Int64s(0)]);
        string length = g.Node("Unsqueeze", owner + "/LengthColumn", [g.Node("Cast", owner + "/LengthAsFloat", [lengths.Name], Attr("to", FloatType)), g.Int64s(1)]);
        string mask = g.Node("Cast", owner + "/Mask", [g.Node("Less", owner + "/StepBeforeLength", [step, length])], Attr("to", FloatType));
        return new OnnxValue(x.Name, shape, mask);
    }

    /// <summary>sequence_lens (int32 [batch]) from a 0/1 mask, with a run-time check that every row is right-padded.</summary>
    private string Lengths(string mask, string owner)
    {
        if (lengthsOfMask.TryGetValue(mask, out var cached))
        {
            return cached;
        }

        string sum = g.Node("ReduceSum", owner + "/MaskLength", [mask, g.Int64s(1)], Attr("keepdims", 0L));
        string lens = g.Node("Cast", owner + "/SequenceLens", [sum], Attr("to", Int32Type));

        // A 0 followed by a 1 in a row is not right padding: the Reshape below then asks for
        // batch + 1 elements and fails, naming this node, instead of returning wrong outputs.
        string later = g.Node("Slice", owner + "/MaskLater", [mask, g.Int64s(1), g.Int64s(long.MaxValue), g.Int64s(1)]);
        string earlier = g.Node("Slice", owner + "/MaskEarlier", [mask, g.Int64s(0), g.Int64s(-1), g.Int64s(1)]);
        string rises = g.Node("Cast", owner + "/MaskRises", [g.Node("Greater", owner + "/MaskRise", [later, earlier])], Attr("to", FloatType));
        string anyRise = g.Node("Cast", owner + "/MaskRiseCount", [g.Node("ReduceSum", owner + "/MaskRiseSum", [rises], Attr("keepdims", 0L))], Attr("to", Int64Type));
        string shape = g.Node("Add", owner + "/LensShape", [g.Node("Shape", owner + "/BatchOfLens", [lens]), anyRise]);
        string checkedLens = g.Node("Reshape", owner + "/mask_must_be_right_padded", [lens, shape]);
        lengthsOfMask[mask] = checkedLens;
        return checkedLens;
    }

    private static void CheckExportable(RecurrentLayer layer)
    {
        if (layer is not LSTM lstm)
        {
            return;
        }

        if (lstm.ProjSize > 0)
        {
            throw new NotSupportedException($"ONNX export: {layer} projects h to proj_size={lstm.ProjSize} (LSTMP); ONNX's LSTM operator has no projection.");
        }

        var v = lstm.Variant;
        string? reason = !v.ForgetGate ? "it has no forget gate (f = 1)"
            : !v.InputGate ? "it has no input gate (i = 1)"
            : !v.OutputGate ? "it has no output gate (o = 1)"
            : v.FullGateRecurrence ? "its gates read the previous step's gate activations (full gate recurrence)"
            : null;
        if (reason is not null)
        {
            throw new NotSupportedException(
                $"ONNX export: {layer} uses the LSTM variant {VariantName(v)}, which ONNX's LSTM operator cannot express exactly: {reason}. " +
                "Exportable variants: standard, peephole (vanilla), CIFG (input_forget=1), NIAF and NOAF.");
        }
    }

    private static string VariantName(LstmVariant v)
    {
        var plain = v with { Activation = ActivationKind.Tanh, RecurrentActivation = ActivationKind.Sigmoid };
        (string Name, LstmVariant Preset)[] presets =
        [
            ("original1997 (Hochreiter & Schmidhuber 1997)", LstmVariant.Original1997), ("NIG", LstmVariant.Nig), ("NFG", LstmVariant.Nfg),
            ("NOG", LstmVariant.Nog), ("FGR", LstmVariant.Fgr),
        ];
        foreach (var (name, preset) in presets)
        {
            if (plain == preset)
            {
                return name;
            }
        }

        return $"(InputGate={v.InputGate}, ForgetGate={v.ForgetGate}, OutputGate={v.OutputGate}, Peepholes={v.Peepholes}, FullGateRecurrence={v.FullGateRecurrence})";
    }

    /// <summary>One layer's weights in ONNX layout for one direction: W [G·units, features], R [G·units, units], B [2·G·units], P [3·units] or null.</summary>
    private static (float[] W, float[] R, float[] B, float[]? P) Weights(RecurrentLayer layer, int features)
    {
        int units = layer.Units;
        switch (layer)
        {
            case LSTM lstm:
                {
                    var lay = lstm.Layout!;
                    LstmGate[] order = [LstmGate.Input, LstmGate.Output, LstmGate.Forget, LstmGate.Candidate];
                    int[] offsets = order.Select(lay.BlockOffset).ToArray();
                    var w = Transposed(lstm.Kernel!.Value.Span, features, lay.GateWidth, offsets, units);
                    var r = Transposed(lstm.RecurrentKernel!.Value.Span, units, lay.GateWidth, offsets, units);
                    var b = new float[8 * units];
                    if (lstm.Bias is { } bias)
                    {
                        var bs = bias.Value.Span;
                        for (int gi = 0; gi < 4; gi++)
                        {
                            if (offsets[gi] >= 0)
                            {
                                bs.Slice(offsets[gi], units).CopyTo(b.AsSpan(gi * units, units));
                            }
                        }
                    }

                    float[]? p = null;
                    if (lstm.Peephole is { } peephole)
                    {
                        p = new float[3 * units];
                        LstmGate[] peepOrder = [LstmGate.Input, LstmGate.Output, LstmGate.Forget];
                        for (int k = 0; k < 3; k++)
                        {
                            int s = lay.WeightedGateIndex(peepOrder[k]);
                            if (s >= 0)
                            {
                                peephole.Value.Span.Slice(s * units, units).CopyTo(p.AsSpan(k * units, units));
                            }
                        }
                    }

                    return (w, r, b, p);
                }

            case GRU gru:
                return SingleState(gru.Kernel!, gru.RecurrentKernel!, gru.Bias, 3, units, features);
            case SimpleRNN rnn:
                return SingleState(rnn.Kernel!, rnn.RecurrentKernel!, rnn.Bias, 1, units, features);
            default:
                throw new NotSupportedException($"ONNX export: {layer} has no ONNX operator.");
        }
    }

    private static (float[] W, float[] R, float[] B, float[]? P) SingleState(Parameter kernel, Parameter recurrent, Parameter? bias, int gates, int units, int features)
    {
        int[] offsets = Enumerable.Range(0, gates).Select(gi => gi * units).ToArray();
        var w = Transposed(kernel.Value.Span, features, gates * units, offsets, units);
        var r = Transposed(recurrent.Value.Span, units, gates * units, offsets, units);
        var b = new float[2 * gates * units];

        // [3·units] goes to Wb (Rb = 0); reset_after's [2, 3·units] is already [Wb, Rb].
        bias?.Value.Span.CopyTo(b);
        return (w, r, b, null);
    }

    /// <summary>ONNX's [blocks·units, rows] from Keras's [rows, width]: block k is the Keras column block at <paramref name="offsets"/>[k], transposed (-1: zeros).</summary>
    private static float[] Transposed(ReadOnlySpan<float> keras, int rows, int width, int[] offsets, int units)
    {
        var result = new float[offsets.Length * units * rows];
        for (int k = 0; k < offsets.Length; k++)
        {
            if (offsets[k] < 0)
            {
                continue;
            }

            for (int j = 0; j < units; j++)
            {
                int dst = ((k * units) + j) * rows, src = offsets[k] + j;
                for (int i = 0; i < rows; i++)
                {
                    result[dst + i] = keras[(i * width) + src];
                }
            }
        }

        return result;
    }
}
