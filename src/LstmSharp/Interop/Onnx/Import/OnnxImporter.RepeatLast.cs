using LstmSharp.Interop.Onnx.Proto;
using LstmSharp.Layers;
using LstmSharp.Models;

namespace LstmSharp.Interop.Onnx;

/// <summary>
/// Finds, before a masked recurrent node becomes a layer, the Where nodes that turn its output
/// sequence into Keras's (the last valid output repeated past each row's length, as export-onnx
/// writes for <c>zero_output_for_mask</c> false): <c>Where(mask, pick_d(Transpose(Y)), Unsqueeze(pick_d(Y_h)))</c>,
/// where pick_d is a Squeeze of the direction axis or a Gather of direction d.
/// </summary>
internal sealed partial class OnnxImporter
{
    /// <summary>One value on the path from Y (or Y_h) to the Where: its name, the direction axis (-1 once picked) and the rank.</summary>
    private readonly record struct ViewStep(string Name, int DirAxis, int Rank);

    /// <summary>Per direction: true when its sequence reaches the graph only through such a Where (registered for <see cref="MaskOnTensor"/>).</summary>
    private bool[] FindRepeatLast(NodeProto rnn, int dirs, long layout, bool reverse, MaskVal lengths)
    {
        var flags = new bool[dirs];
        if (rnn.Output.Count < 2 || string.IsNullOrEmpty(rnn.Output[0]) || string.IsNullOrEmpty(rnn.Output[1]))
        {
            return flags;
        }

        (producers, consumers) = (producers ?? BuildProducers(), consumers ?? BuildConsumers());
        var graphOutputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var where in graph.Node.Where(n => n.OpType == "Where" && n.Input.Count == 3 && n.Output.Count == 1))
        {
            foreach (bool sequenceFirst in new[] { true, false })
            {
                var (seqAt, lastAt) = sequenceFirst ? (1, 2) : (2, 1);
                var seqPath = new List<ViewStep>();
                var lastPath = new List<ViewStep>();
                var seq = TraceView(where.Input[seqAt], rnn.Output[0], layout == 1 ? 2 : 1, 4, dirs, seqPath, 0);
                var last = TraceView(where.Input[lastAt], rnn.Output[1], layout == 1 ? 1 : 0, 3, dirs, lastPath, 0);
                if (seq is not { } s || last is not { } l || s.Dir < 0 || s.Dir != l.Dir || s.Rank != 3 || l.Rank != 3)
                {
                    continue;
                }

                // Only a forward direction: a reverse one's padding steps are zeros both in ONNX and Keras.
                if (reverse || s.Dir == 1 || !OnlyThisDirection(seqPath, where, s.Dir, graphOutputs))
                {
                    continue;
                }

                flags[s.Dir] = true;
                repeatLastWheres[where.Output[0]] = new RepeatLast(rnn, s.Dir, lengths, sequenceFirst);
            }
        }

        return flags;
    }

    /// <summary>A Mul that zeroes the last output of direction 0 of <see cref="Rnn"/> for rows whose last step is padding; <see cref="Last"/> is that output.</summary>
    private sealed record ZeroedLast(NodeProto Rnn, MaskVal Lengths, Dyn Last);

    /// <summary>
    /// export-onnx writes Keras's zero_output_for_mask on a last output as Mul(pick_0(Y_h), mask[:, -1:]).
    /// With zero_output_for_mask the layer's sequence already holds that value at its last step, so
    /// such a Mul (checked when it is imported) becomes that step of the forward direction's sequence.
    /// </summary>
    private Value[] WithZeroedLastOutputs(NodeProto rnn, Value[] results, int h, long layout, bool reverse, MaskVal? lengths, bool[] zeroOutput)
    {
        if (lengths is null || reverse || !zeroOutput[0] || results[0] is not Dyn y || rnn.Output.Count < 2 || string.IsNullOrEmpty(rnn.Output[1]))
        {
            return results;
        }

        (producers, consumers) = (producers ?? BuildProducers(), consumers ?? BuildConsumers());
        int dirs = (int)y.Dims[layout == 1 ? 2 : 1];
        Dyn? last = null;
        foreach (var mul in graph.Node.Where(n => n.OpType == "Mul" && n.Input.Count == 2 && n.Output.Count == 1))
        {
            foreach (string input in mul.Input)
            {
                var path = new List<ViewStep>();
                if (TraceView(input, rnn.Output[1], layout == 1 ? 1 : 0, 3, dirs, path, 0) is { Dir: 0, Rank: 2 })
                {
                    // Direction 0's sequence [batch, T, H] (Y is [batch, T, dirs, H] batch-major), its last step.
                    last ??= new Dyn(
                        new AxisSlice(1, -1, int.MaxValue, keepAxis: false).Apply(new AxisSlice(2, 0, 1, keepAxis: false).Apply(y.T)),
                        0,
                        [BatchSymbol, h]);
                    zeroedLastMuls[mul.Output[0]] = new ZeroedLast(rnn, lengths, last);
                }
            }
        }

        return results;
    }

    /// <summary>
    /// Follows <paramref name="name"/> back to <paramref name="target"/> through Identity / Cast /
    /// Transpose / Squeeze / Unsqueeze / Gather(direction): the direction it picked (-1 none) and its rank.
    /// </summary>
    private (int Dir, int Rank)? TraceView(string name, string target, int targetDirAxis, int targetRank, int dirs, List<ViewStep> path, int depth)
    {
        if (name == target)
        {
            path.Add(new ViewStep(name, targetDirAxis, targetRank));
            return (-1, targetRank);
        }

        if (depth > 16 || !producers!.TryGetValue(name, out var p) || p.Input.Count == 0)
        {
            return null;
        }

        var up = TraceView(p.Input[0], target, targetDirAxis, targetRank, dirs, path, depth + 1);
        if (up is not { } u)
        {
            return null;
        }

        int axis = path[^1].DirAxis, rank = u.Rank, dir = u.Dir;
        switch (p.OpType)
        {
            case "Identity" or "Cast":
                break;
            case "Transpose":
            {
                var perm = AttrInts(p, "perm") ?? Enumerable.Range(0, rank).Reverse().Select(i => (long)i).ToArray();
                if (perm.Length != rank)
                {
                    return null;
                }

                axis = axis < 0 ? -1 : Array.IndexOf(perm, (long)axis);
                break;
            }

            case "Squeeze" or "Unsqueeze":
            {
                long[]? axes = opset >= 13 ? (p.Input.Count > 1 ? ConstAhead(p.Input[1])?.AsLongs() : null) : AttrInts(p, "axes");
                if (axes is null || axes.Length == 0)
                {
                    return null;
                }

                bool squeeze = p.OpType == "Squeeze";
                int newRank = squeeze ? rank - axes.Length : rank + axes.Length;
                var norm = axes.Select(a => (int)(a < 0 ? a + (squeeze ? rank : newRank) : a)).ToHashSet();
                if (squeeze && axis >= 0 && norm.Contains(axis))
                {
                    // The direction axis squeezed away: a one-direction node.
                    (dir, axis) = dirs == 1 ? (0, -1) : (-2, -1);
                }
                else if (axis >= 0)
                {
                    axis = squeeze ? axis - norm.Count(a => a < axis) : Enumerable.Range(0, newRank).Where(a => !norm.Contains(a)).ElementAt(axis);
                }

                rank = newRank;
                break;
            }

            case "Gather" when axis >= 0 && p.Input.Count > 1 && ConstAhead(p.Input[1]) is { Rank: 0 } idx:
            {
                long ga = AttrInt(p, "axis", 0);
                if ((ga < 0 ? ga + rank : ga) != axis)
                {
                    return null;
                }

                long i = idx.AsLongs()[0];
                (dir, axis, rank) = ((int)(i < 0 ? i + dirs : i), -1, rank - 1);
                break;
            }

            default:
                return null;
        }

        if (dir < -1)
        {
            return null;
        }

        path.Add(new ViewStep(name, axis, rank));
        return (dir, rank);
    }

    /// <summary>Every value on the sequence's path is used only on the path (or, while it holds every direction, by Gathers of other directions).</summary>
    private bool OnlyThisDirection(List<ViewStep> path, NodeProto where, int dir, HashSet<string> graphOutputs)
    {
        var onPath = path.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var step in path)
        {
            if (graphOutputs.Contains(step.Name))
            {
                return false;
            }

            foreach (var user in consumers!.GetValueOrDefault(step.Name) ?? [])
            {
                bool next = ReferenceEquals(user, where) || user.Output.Any(onPath.Contains);
                bool otherDirection = step.DirAxis >= 0 && user.OpType == "Gather" && user.Input.Count > 1 && ConstAhead(user.Input[1]) is { Rank: 0 } idx
                    && AttrInt(user, "axis", 0) is var a && (a < 0 ? a + step.Rank : a) == step.DirAxis && idx.AsLongs()[0] != dir;
                if (!next && !otherDirection)
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>A constant known before its consumer is imported: an initializer, a bound input or a Constant node.</summary>
    private OnnxConstant? ConstAhead(string name) =>
        values.TryGetValue(name, out var v) ? (v as Const)?.C
        : producers!.TryGetValue(name, out var p) && p.OpType == "Constant" ? ConstantNode(p) : null;

    private Dictionary<string, NodeProto> BuildProducers()
    {
        var map = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in graph.Node)
        {
            foreach (var o in n.Output.Where(o => !string.IsNullOrEmpty(o)))
            {
                map.TryAdd(o, n);
            }
        }

        return map;
    }

    private Dictionary<string, List<NodeProto>> BuildConsumers()
    {
        var map = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var n in graph.Node)
        {
            foreach (var i in n.Input.Where(i => !string.IsNullOrEmpty(i)).Distinct())
            {
                (map.TryGetValue(i, out var list) ? list : map[i] = []).Add(n);
            }
        }

        return map;
    }
}
