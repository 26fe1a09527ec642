using LstmSharp.Interop.Onnx.Proto;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;

namespace LstmSharp.Interop.Onnx;

/// <summary>
/// Padding masks computed inside the graph and fed to a recurrent node as <c>sequence_lens</c>,
/// as <c>export-onnx</c> writes them for Masking and Embedding <c>mask_zero</c> (and as other
/// exporters write the same idea): Equal(x, v) → Not → Cast → ReduceSum / ReduceMax over the
/// features (→ Greater 0) gives a step mask; ReduceSum over time → Cast gives the lengths.
/// </summary>
/// <remarks>
/// <para>Such values are tracked symbolically (<see cref="MaskVal"/>); they become layers only where
/// the model needs them: the recurrent node's X gets the Keras mask (a <see cref="Masking"/>
/// layer, or the Embedding's <c>mask_zero</c>), and <c>Mul(x, Unsqueeze(mask, -1))</c> on the same
/// x is a Masking layer. Keras skips masked steps wherever they are; ONNX's sequence_lens
/// counts them: the two agree when the padding is on the right (as export-onnx's graph checks at run
/// time; that check, Slice/Greater/ReduceSum/Add/Reshape on the lengths, is recognised and dropped).</para>
/// <para>A forward direction whose sequence the graph rewrites from ONNX's zeros past the length
/// into Keras's repeated last output — <c>Where(mask, Y_d, Unsqueeze(Y_h_d))</c> — becomes a layer
/// with <c>zero_output_for_mask</c> false, and the Where its output; without it the layer keeps
/// ONNX's zeros (<c>zero_output_for_mask</c> true).</para>
/// </remarks>
internal sealed partial class OnnxImporter
{
    private readonly Dictionary<string, RepeatLast> repeatLastWheres = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ZeroedLast> zeroedLastMuls = new(StringComparer.Ordinal);
    private readonly HashSet<Embedding> unmaskedEmbeddings = new(ReferenceEqualityComparer.Instance);
    private Dictionary<string, NodeProto>? producers;
    private Dictionary<string, List<NodeProto>>? consumers;

    private enum MaskStage
    {
        /// <summary>Elementwise x == v (Valid false) or x != v (Valid true), shaped as the source.</summary>
        Compare,

        /// <summary>Per step, how many features differ from v (&gt; 0 = a valid step).</summary>
        Score,

        /// <summary>Per step 1 = valid (Valid true) or 1 = padding (Valid false).</summary>
        Step,

        /// <summary>Per row, the number of valid steps.</summary>
        Lengths,

        /// <summary>Per row, whether its last step is valid (Slice [-1:] of a valid-step mask along time).</summary>
        LastStep,

        /// <summary>Anything else computed from a mask (e.g. the right-padding check).</summary>
        Derived,
    }

    /// <summary>The padding of <see cref="Source"/>: steps whose features all equal <see cref="Value"/> (Masking), or for [batch, time] ids, the id (mask_zero).</summary>
    private sealed record Padding(Dyn Source, float Value)
    {
        public bool IsIds => Source.Rank == 2;

        public bool Same(Padding other) => ReferenceEquals(Source.T, other.Source.T) && Value.Equals(other.Value);

        public string Text => $"{(IsIds ? "ids" : "steps of")} '{Source.T.Node.Layer.Name}' equal to {Fmt(Value)}";
    }

    /// <summary>A run-time tensor computed from a graph input only to describe its padding. <see cref="Dims"/> holds the batch as <see cref="BatchSymbol"/>; <see cref="TimeAxis"/> is the step axis of Step values.</summary>
    private sealed class MaskVal(Padding padding, MaskStage stage, bool valid, long[] dims, int timeAxis = -1, bool batchShapeCheck = false) : Value
    {
        public Padding Padding { get; } = padding;

        public MaskStage Stage { get; } = stage;

        public bool Valid { get; } = valid;

        public long[] Dims { get; } = dims;

        public int TimeAxis { get; } = timeAxis;

        /// <summary>Shape(lengths) + a count computed from the mask: export-onnx's right-padding check.</summary>
        public bool BatchShapeCheck { get; } = batchShapeCheck;

        public MaskVal With(MaskStage stage, bool valid, long[] dims, int timeAxis) => new(Padding, stage, valid, dims, timeAxis);

        public MaskVal Derived(long[]? dims = null, bool check = false) => new(Padding, MaskStage.Derived, false, dims ?? Dims, -1, check);
    }

    /// <summary>A Where that turns direction <see cref="Direction"/> of <see cref="Rnn"/> into Keras's repeated last output past the length.</summary>
    private sealed record RepeatLast(NodeProto Rnn, int Direction, MaskVal Lengths, bool SequenceFirst);

    /// <summary>Equal(x, v) of a run-time tensor and a constant scalar: the start of a padding mask.</summary>
    private Value CompareToConstant(NodeProto node, Dyn x, OnnxConstant v)
    {
        if (v.Count != 1 || x.Rank is not (2 or 3))
        {
            throw UnsupportedNode(node, $"Equal of a run-time [{Text(x.Dims)}] and a constant {v.ShapeText} (only a padding test of [batch, time, features] or [batch, time] ids against one value is supported)");
        }

        var padding = new Padding(x, (float)v[0]);
        return x.Rank == 2
            ? new MaskVal(padding, MaskStage.Step, valid: false, x.Dims, timeAxis: 1 - x.BatchAxis)
            : new MaskVal(padding, MaskStage.Compare, valid: false, x.Dims);
    }

    private Value[] ImportMaskOp(NodeProto node, Value?[] x)
    {
        var m = x.OfType<MaskVal>().First();
        Value In(int i) => i < x.Length && x[i] is { } v ? v : throw Format($"node {NodeText(node)} lacks input {i}.");
        OnnxConstant?[] consts = x.Select(v => v is Const c ? c.C : null).ToArray();
        if (x.Any(v => v is Dyn))
        {
            return [MaskOnTensor(node, x)];
        }

        switch (node.OpType)
        {
            case "Identity" or "Dropout" when In(0) is MaskVal a:
                return [a];
            case "Cast" when In(0) is MaskVal a:
                // A count cast to bool is "any feature differs".
                return [a.Stage == MaskStage.Score && AttrInt(node, "to", 1) == (int)TensorProto.Types.DataType.Bool ? a.With(MaskStage.Step, true, a.Dims, a.TimeAxis) : a];
            case "Not" when In(0) is MaskVal a:
                return [a.Stage is MaskStage.Compare or MaskStage.Step ? a.With(a.Stage, !a.Valid, a.Dims, a.TimeAxis) : a.Derived()];
            case "Squeeze" when In(0) is MaskVal a:
                return [Resized(a, SqueezeDims(node, a.Dims, SqueezeAxes(node, consts)))];
            case "Unsqueeze" when In(0) is MaskVal a:
                return [Resized(a, UnsqueezeDims(node, a.Dims, UnsqueezeAxes(node, consts)))];
            case "Reshape" when In(0) is MaskVal { Stage: MaskStage.Lengths } a
                && (In(1) is MaskVal { BatchShapeCheck: true } || (In(1) is ShapeVal or Const && TargetIsBatch(In(1)))):
                return [a];
            case "ReduceSum" or "ReduceMax" or "ReduceMin" when In(0) is MaskVal a:
                return [Reduced(node, a, consts)];
            case "Greater" or "GreaterOrEqual" or "Less" or "LessOrEqual" or "Equal" when x.Length == 2:
                return [Thresholded(node, x)];
            case "Slice" when In(0) is MaskVal { Stage: MaskStage.Step, Valid: true } a
                && SliceParams(node, consts, a.Dims.Length) is [var (axis, start, end, step)] && axis == a.TimeAxis && start == -1 && end >= int.MaxValue && step == 1:
                return [a.With(MaskStage.LastStep, true, a.Dims.Select((d, i) => i == axis ? 1 : d).ToArray(), axis)];
            case "Shape" when In(0) is MaskVal a:
                return [MakeShape(SliceShape(node, a.Dims), false)];
            case "Add" when x.Length == 2 && x.Any(v => v is ShapeVal { Items: [BatchSymbol] }):
                return [m.Derived([BatchSymbol], check: true)];
            case "Slice" or "Gather" or "Greater" or "Less" or "Equal" or "Not" or "And" or "Or" or "Xor" or "Cast" or "Add" or "Sub" or "Mul" or "Max" or "Min"
                or "ReduceSum" or "ReduceMax" or "ReduceMin" or "Identity" or "Squeeze" or "Unsqueeze" or "Reshape" or "Shape" or "Size":
                return [m.Derived(Array.Empty<long>())];
            default:
                throw UnsupportedNode(node, $"{Short(node.OpType)} of a padding mask computed from {m.Padding.Text}");
        }
    }

    private static bool TargetIsBatch(Value v) => v switch
    {
        ShapeVal s => s.Items is [BatchSymbol] or [-1],
        Const c => c.C.Rank == 1 && c.C.Count == 1 && c.C[0] == -1,
        _ => false,
    };

    private static MaskVal Resized(MaskVal a, long[] dims)
    {
        if (a.Stage == MaskStage.Derived)
        {
            return a.Derived(dims);
        }

        // Only axes of size 1 come and go: the batch and time axes keep their order.
        var core = a.Dims.Select((d, i) => (d, i)).Where(p => p.d != 1 || p.i == a.TimeAxis).ToArray();
        var kept = dims.Select((d, i) => (d, i)).Where(p => p.d != 1).ToArray();
        if (a.TimeAxis >= 0 && a.Dims[a.TimeAxis] == 1 || core.Length != kept.Length)
        {
            return a.Derived(dims);
        }

        int time = a.TimeAxis < 0 ? -1 : kept[Array.FindIndex(core, p => p.i == a.TimeAxis)].i;
        return new MaskVal(a.Padding, a.Stage, a.Valid, dims, time);
    }

    /// <summary>ReduceSum / ReduceMax / ReduceMin over the features (a step mask) or over time (the lengths).</summary>
    private MaskVal Reduced(NodeProto node, MaskVal a, OnnxConstant?[] consts)
    {
        bool axesAsInput = node.OpType == "ReduceSum" ? opset >= 13 : opset >= 18;
        long[]? axes = axesAsInput ? (consts.Length > 1 && consts[1] is { } c ? c.AsLongs() : null) : AttrInts(node, "axes");
        bool keep = AttrInt(node, "keepdims", 1) != 0;
        if (axes is not { Length: 1 })
        {
            return a.Derived(Array.Empty<long>());
        }

        int axis = NormAxis(node, axes[0], a.Dims.Length);
        var dims = keep ? a.Dims.Select((d, i) => i == axis ? 1 : d).ToArray() : a.Dims.Where((_, i) => i != axis).ToArray();
        int time = a.Stage == MaskStage.Compare ? 1 - Array.IndexOf(a.Dims, BatchSymbol) : a.TimeAxis;
        switch (a.Stage, node.OpType, a.Valid)
        {
            case (MaskStage.Compare, "ReduceSum", true) when axis == a.Dims.Length - 1 && a.Dims.Length == 3:
                return a.With(MaskStage.Score, true, dims, time);
            case (MaskStage.Compare, "ReduceMax", true) when axis == a.Dims.Length - 1 && a.Dims.Length == 3:
                return a.With(MaskStage.Step, true, dims, time);
            case (MaskStage.Compare, "ReduceMin", false) when axis == a.Dims.Length - 1 && a.Dims.Length == 3:
                // Every feature equals the mask value: a padding step.
                return a.With(MaskStage.Step, false, dims, time);
            case (MaskStage.Step, "ReduceSum", true) when axis == a.TimeAxis && dims.Count(d => d != 1) == 1 && dims.Contains(BatchSymbol):
                return a.With(MaskStage.Lengths, true, dims, -1);
            default:
                return a.Derived(dims);
        }
    }

    /// <summary>A comparison of a mask with a constant: a step mask when it separates "no feature differs" from "some differ", else derived.</summary>
    private Value Thresholded(NodeProto node, Value?[] x)
    {
        bool maskFirst = x[0] is MaskVal;
        var a = (MaskVal)(maskFirst ? x[0] : x[1])!;
        if ((maskFirst ? x[1] : x[0]) is not Const { C: { Count: 1 } c } || a.Stage is not (MaskStage.Score or MaskStage.Step))
        {
            return a.Derived();
        }

        double t = c[0];
        bool Test(double v) => (node.OpType, maskFirst) switch
        {
            ("Equal", _) => v == t,
            ("Greater", true) or ("Less", false) => v > t,
            ("GreaterOrEqual", true) or ("LessOrEqual", false) => v >= t,
            ("Less", true) or ("Greater", false) => v < t,
            _ => v <= t,
        };

        // Valid steps have a score (count of differing features) of 1 or more, a step value of 1.
        double valid = a.Stage == MaskStage.Step ? (a.Valid ? 1 : 0) : 1, padding = a.Stage == MaskStage.Step ? (a.Valid ? 0 : 1) : 0;
        bool separates = a.Stage == MaskStage.Step || Test(1) == Test(1e9);
        if (!separates || Test(valid) == Test(padding))
        {
            return a.Derived();
        }

        return a.With(MaskStage.Step, Test(valid), a.Dims, a.TimeAxis);
    }

    /// <summary>A node mixing a mask with run-time tensors: Mul(x, mask) is a Masking layer on x; a registered Where is Keras's repeated last output.</summary>
    private Value MaskOnTensor(NodeProto node, Value?[] x)
    {
        if (node.OpType == "Mul" && x.Length == 2 && x.FirstOrDefault(v => v is Dyn) is Dyn d && x.FirstOrDefault(v => v is MaskVal) is MaskVal m
            && m.Stage == MaskStage.Step && m.Valid && !m.Padding.IsIds && ReferenceEquals(m.Padding.Source.T, d.T)
            && m.Dims.Length == d.Rank && m.Dims[^1] == 1 && m.Dims[..^1].SequenceEqual(d.Dims[..^1]))
        {
            // x · mask zeroes the padding steps, as Keras's Masking does.
            return new Dyn(new Masking(m.Padding.Value).Apply(d.T), d.BatchAxis, d.Dims);
        }

        if (node.OpType == "Mul" && zeroedLastMuls.TryGetValue(node.Output[0], out var zl))
        {
            // export-onnx's zero_output_for_mask on a last output: Y_h times "the last step is valid".
            var lastStep = x.OfType<MaskVal>().First();
            if (lastStep.Stage == MaskStage.LastStep && lastStep.Padding.Same(zl.Lengths.Padding) && x.OfType<Dyn>().Single() is { Rank: 2 } hd
                && lastStep.Dims.Length == 2 && Array.IndexOf(lastStep.Dims, BatchSymbol) == hd.BatchAxis)
            {
                return zl.Last;
            }

            throw Unsupported(
                $"node {NodeText(node)} multiplies the last output of node {NodeText(zl.Rnn)} by something other than the last step of the padding mask that gives that node's sequence_lens ({zl.Lengths.Padding.Text}).",
                [NodeText(node), NodeText(zl.Rnn)]);
        }

        if (node.OpType == "Where" && repeatLastWheres.TryGetValue(node.Output[0], out var rl))
        {
            var cond = x[0] as MaskVal;
            var (seqAt, lastAt) = rl.SequenceFirst ? (1, 2) : (2, 1);
            if (cond is { Stage: MaskStage.Step } && cond.Valid == rl.SequenceFirst && cond.Padding.Same(rl.Lengths.Padding)
                && x[seqAt] is Dyn seq && x[lastAt] is Dyn && cond.Dims.Length == 3 && cond.Dims[^1] == 1 && Array.IndexOf(cond.Dims, BatchSymbol) == seq.BatchAxis)
            {
                return seq;
            }

            throw Unsupported(
                $"node {NodeText(node)} looks like the repeated last output of node {NodeText(rl.Rnn)} past each row's length, but its condition is not the padding mask that gives that node's sequence_lens ({rl.Lengths.Padding.Text}).",
                [NodeText(node), NodeText(rl.Rnn)]);
        }

        var mask = x.OfType<MaskVal>().First();
        throw UnsupportedNode(node, $"{Short(node.OpType)} of a run-time tensor and a padding mask computed from {mask.Padding.Text} (only Mul(x, Unsqueeze(mask, -1)) on the same x, Keras's Masking, and export-onnx's Where (repeated last output) and Mul (zeroed last output) after a masked forward node are mapped)");
    }

    /// <summary>
    /// X of a recurrent node whose sequence_lens are the lengths of a padding mask, with that mask in
    /// Keras's form: X already carrying it, a Masking layer on X when the mask was computed from X,
    /// or mask_zero on the Embedding that looked X up from the masked ids.
    /// </summary>
    private SymbolicTensor WithPadding(NodeProto node, SymbolicTensor xSym, MaskVal lengths)
    {
        var p = lengths.Padding;
        if (lengths.Stage != MaskStage.Lengths || !lengths.Valid || lengths.Dims is not [BatchSymbol])
        {
            throw UnsupportedNode(node, $"sequence_lens is computed from a padding mask ({p.Text}) but is not the per-row count of valid steps as a [batch] tensor (ReduceSum over time of the step mask)");
        }

        var carried = CarriedPadding(xSym);
        if (carried.Source is not null)
        {
            if (ReferenceEquals(carried.Source, p.Source.T) && carried.Value.Equals(p.Value))
            {
                return xSym;
            }

            throw UnsupportedNode(node, $"X carries the padding of '{carried.Source.Node.Layer.Name}' ({Fmt(carried.Value)}) but sequence_lens counts {p.Text}");
        }

        if (carried.Foreign)
        {
            throw UnsupportedNode(node, $"X carries a mask other than the one sequence_lens is computed from ({p.Text})");
        }

        if (!p.IsIds && ReferenceEquals(xSym, p.Source.T))
        {
            return new Masking(p.Value).Apply(xSym);
        }

        if (p.IsIds && p.Value == 0f && xSym.Node.Layer is Embedding e && ReferenceEquals(xSym.Node.Inputs[0], p.Source.T) && !unmaskedEmbeddings.Contains(e))
        {
            e.MaskZero = true;
            return xSym;
        }

        throw UnsupportedNode(node, $"sequence_lens is computed from {p.Text}, but X is neither that tensor, nor it masked, nor the embedding of those ids with 0 as padding");
    }

    /// <summary>
    /// X of a node without sequence_lens: a Keras mask it carries (from Masking, mask_zero or run-time
    /// lengths upstream) would make the layer skip steps ONNX runs, so a same-shape Reshape drops it.
    /// </summary>
    private SymbolicTensor WithoutPadding(SymbolicTensor xSym)
    {
        var carried = CarriedPadding(xSym);
        if (carried.Unmasked is { } e)
        {
            unmaskedEmbeddings.Add(e);
        }

        return carried.Source is not null || carried.Foreign ? new Reshape(xSym.Shape).Apply(xSym) : xSym;
    }

    private readonly record struct Carried(SymbolicTensor? Source, float Value, bool Foreign, Embedding? Unmasked);

    /// <summary>The Keras mask <paramref name="t"/> carries at run time, followed up through the layers that pass masks on.</summary>
    private static Carried CarriedPadding(SymbolicTensor t)
    {
        for (int depth = 0; depth < 256; depth++)
        {
            var node = t.Node;
            switch (node.Layer)
            {
                case Masking m:
                    return new Carried(node.Inputs[0], m.MaskValue, false, null);
                case Embedding e:
                    return e.MaskZero ? new Carried(node.Inputs[0], 0f, false, null) : new Carried(null, 0, false, e);
                case SequenceLayer or Bidirectional when t.Index == 0 && (node.Layer is SequenceLayer { ReturnSequences: true } or Bidirectional { ReturnSequences: true }):
                    t = node.Inputs[0];
                    continue;
                case SequenceLayer or Bidirectional or InputLayer:
                    return default;
                case SequenceLengthMask:
                    return new Carried(null, 0, true, null);
                case ReverseTime:
                    return CarriedPadding(node.Inputs[0]) is { Source: null, Foreign: false } ? default : new Carried(null, 0, true, null);
                case Layer l when l.SupportsMasking && node.Inputs.Length == 1:
                    t = node.Inputs[0];
                    continue;
                case Layer l when l.SupportsMasking:
                    return node.Inputs.Select(CarriedPadding).Any(c => c.Source is not null || c.Foreign) ? new Carried(null, 0, true, null) : default;
                default:
                    return default;
            }
        }

        return new Carried(null, 0, true, null);
    }
}
