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
        var d = RunNode(layer.Name, [layer], x, [initial])[0];
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
        if (SameCell(b.Forward, b.Backward) && !b.Forward.GoBackwards && b.Backward.GoBackwards)
        {
            var both = RunNode(b.Name, [b.Forward, b.Backward], x, [fInit, bInit]);
            (f, bw) = (both[0], both[1]);
        }
        else
        {
            f = RunNode(b.Name + "/" + b.Forward.Name, [b.Forward], x, [fInit])[0];
            bw = RunNode(b.Name + "/" + b.Backward.Name, [b.Backward], x, [bInit])[0];
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
    private sealed record Direction(RecurrentLayer Layer, string? Positions, string? Last, string[] States);

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
    private Direction[] RunNode(string name, RecurrentLayer[] layers, OnnxValue x, string[]?[] initial)
    {
        foreach (var layer in layers)
        {
            CheckExportable(layer);
        }

        var first = layers[0];
        int dirs = layers.Length, units = first.Units, features = x.Shape[^1];
        var (op, gates, stateCount) = first switch
        {
            LSTM => ("LSTM", 4, 2),
            GRU => ("GRU", 3, 1),
            SimpleRNN => ("RNN", 1, 1),
            _ => throw new NotSupportedException($"ONNX export: {first} is a recurrent layer without an ONNX operator; supported: LSTM, GRU, SimpleRNN."),
        };

        var perLayer = layers.Select(l => Weights(l, features)).ToArray();
        string w = g.Weight(name + "/W", [dirs, gates * units, features], perLayer.SelectMany(p => p.W).ToArray());
        string r = g.Weight(name + "/R", [dirs, gates * units, units], perLayer.SelectMany(p => p.R).ToArray());
        string bias = g.Weight(name + "/B", [dirs, 2 * gates * units], perLayer.SelectMany(p => p.B).ToArray());
        string peep = perLayer.Any(p => p.P is not null)
            ? g.Weight(name + "/P", [dirs, 3 * units], perLayer.SelectMany(p => p.P ?? new float[3 * units]).ToArray())
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
                given[d] = StateNames(layer, stateCount).Select(n => AddGraphInput(n, [units], false).Name).ToArray();
            }
        }

        if (given.Any(s => s is null) && given.Any(s => s is not null))
        {
            throw new NotSupportedException($"ONNX export: {string.Join(" and ", layers.Select(l => l.ToString()))}: initial states are given for one direction only.");
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

        var (acts, alphas, betas) = Activations(layers);
        var attrs = new List<Interop.Onnx.Proto.AttributeProto>
        {
            Attr("hidden_size", (long)units),
            Attr("direction", dirs == 2 ? "bidirectional" : first.GoBackwards ? "reverse" : "forward"),
            Attr("activations", acts),
        };
        if (alphas.Length > 0)
        {
            attrs.Add(Attr("activation_alpha", alphas));
            attrs.Add(Attr("activation_beta", betas));
        }

        if (first is LSTM lstm)
        {
            attrs.Add(Attr("input_forget", lstm.Variant.CoupledInputForget ? 1L : 0L));
        }

        if (first is GRU gru)
        {
            attrs.Add(Attr("linear_before_reset", gru.ResetAfter ? 1L : 0L));
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
                var outNames = StateNames(layer, stateCount);
                for (int s = 0; s < stateCount; s++)
                {
                    stateOutputs.Add((outNames[s] + "_out", new OnnxValue(states[s], [units])));
                }
            }

            result[d] = new Direction(layer, positions, last, states);
        }

        return result;
    }

    private static string[] StateNames(RecurrentLayer layer, int stateCount) =>
        stateCount == 2 ? [layer.Name + "/state_h", layer.Name + "/state_c"] : [layer.Name + "/state_h"];

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

    private static (string[] Names, float[] Alphas, float[] Betas) Activations(RecurrentLayer[] layers)
    {
        var names = new List<string>();
        var alphas = new List<float>();
        var betas = new List<float>();
        foreach (var layer in layers)
        {
            ActivationKind[] kinds = layer switch
            {
                LSTM l => [l.RecurrentActivation, l.Variant.InputActivation ? l.Activation : ActivationKind.Linear, l.Variant.OutputActivation ? l.Activation : ActivationKind.Linear],
                GRU => [layer.RecurrentActivation, layer.Activation],
                _ => [layer.Activation],
            };
            foreach (var k in kinds)
            {
                // ONNX Runtime reads activation_alpha/beta only for the functions that take them, in order.
                switch (k)
                {
                    case ActivationKind.Linear:
                        names.Add("Affine");
                        alphas.Add(1f);
                        betas.Add(0f);
                        break;
                    case ActivationKind.HardSigmoid:
                        names.Add("HardSigmoid");
                        alphas.Add(1f / 6f);
                        betas.Add(0.5f);
                        break;
                    case ActivationKind.Sigmoid:
                        names.Add("Sigmoid");
                        break;
                    case ActivationKind.Tanh:
                        names.Add("Tanh");
                        break;
                    case ActivationKind.Relu:
                        names.Add("Relu");
                        break;
                    default:
                        throw new NotSupportedException($"ONNX export: {layer} uses activation {k}, which ONNX's recurrent operators do not have.");
                }
            }
        }

        return (names.ToArray(), alphas.ToArray(), betas.ToArray());
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
