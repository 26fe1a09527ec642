using LstmSharp.Interop.Onnx.Proto;
using LstmSharp.Layers;
using LstmSharp.Models;

namespace LstmSharp.Interop.Onnx;

/// <summary>Nodes on run-time tensors become layers: Transpose and Squeeze move the batch axis or reshape, MatMul/Gemm(+Add) become Dense, Gather of a table an Embedding.</summary>
internal sealed partial class OnnxImporter
{
    private Value[] ImportDynamic(NodeProto node, Value?[] x)
    {
        Value In(int i) => i < x.Length && x[i] is { } v ? v : throw Format($"node {NodeText(node)} lacks input {i}.");
        OnnxConstant ConstIn(int i) => In(i) is Const c ? c.C : throw UnsupportedNode(node, $"input {i} must be a constant, got {Describe(In(i))}");
        OnnxConstant?[] ConstInputs() => x.Select(v => v is Const c ? c.C : null).ToArray();
        switch (node.OpType)
        {
            case "Identity" or "Cast" or "Dropout" when In(0) is Dyn d:
                return [d];
            case "Shape" when In(0) is Dyn d:
                return [MakeShape(SliceShape(node, d.Dims), false)];
            case "Transpose" when In(0) is Dyn d:
                return [TransposeDyn(node, d, AttrInts(node, "perm"))];
            case "Squeeze" when In(0) is Dyn d:
                return [ReshapeDyn(node, d, SqueezeDims(node, d.Dims, SqueezeAxes(node, ConstInputs())), "squeeze")];
            case "Unsqueeze" when In(0) is Dyn d:
                return [ReshapeDyn(node, d, UnsqueezeDims(node, d.Dims, UnsqueezeAxes(node, ConstInputs())), "unsqueeze")];
            case "Reshape" when In(0) is Dyn d:
            {
                long[] target = In(1) switch
                {
                    Const c => c.C.AsLongs(),
                    ShapeVal s => s.Items,
                    _ => throw UnsupportedNode(node, "the target shape is not a constant or a shape"),
                };
                return [ReshapeDyn(node, d, SymbolicReshape(node, d.Dims, target, AttrInt(node, "allowzero", 0) != 0), "reshape")];
            }

            case "Flatten" when In(0) is Dyn d:
            {
                int axis = NormAxis(node, AttrInt(node, "axis", 1), d.Rank + 1);
                if (d.BatchAxis != 0 || axis != 1)
                {
                    throw UnsupportedNode(node, $"Flatten at axis {axis} of a tensor whose batch is axis {d.BatchAxis}");
                }

                return [Wrap(new Flatten(), d, [BatchSymbol, d.Dims.Skip(1).All(v => v >= 0) ? d.Dims.Skip(1).Aggregate(1L, (p, v) => p * v) : nextSymbol--])];
            }

            case "Gather" when In(0) is Const table && In(1) is Dyn ids:
                return [EmbeddingDyn(node, table.C, ids)];
            case "Gather" when In(0) is Dyn d && In(1) is Const idx:
            {
                int axis = NormAxis(node, AttrInt(node, "axis", 0), d.Rank);
                if (idx.C.Rank > 1 || idx.C.Count != 1)
                {
                    throw UnsupportedNode(node, "Gather of a run-time tensor with more than one index");
                }

                long i = idx.C.AsLongs()[0];
                return [SliceDyn(node, d, axis, i, i == -1 ? long.MaxValue : i + 1, keepAxis: idx.C.Rank == 1)];
            }

            case "Slice" when In(0) is Dyn d:
            {
                Dyn result = d;
                foreach (var (axis, start, end, step) in SliceParams(node, ConstInputs(), d.Rank))
                {
                    if (step != 1)
                    {
                        throw UnsupportedNode(node, $"Slice with step {step} of a run-time tensor");
                    }

                    result = SliceDyn(node, result, axis, start, end, keepAxis: true);
                }

                return [result];
            }

            case "Concat" when x.All(v => v is Dyn):
                return [ConcatDyn(node, x.Select(v => (Dyn)v!).ToArray(), AttrInt(node, "axis", 0))];
            case "MatMul" when In(0) is Dyn d && In(1) is Const w:
                return [DenseDyn(node, d, w.C, null, transposeB: false, alpha: 1f, beta: 1f)];
            case "Gemm" when In(0) is Dyn d && In(1) is Const w:
            {
                if (AttrInt(node, "transA", 0) != 0)
                {
                    throw UnsupportedNode(node, "Gemm with transA=1 on a run-time tensor");
                }

                OnnxConstant? c = x.Length > 2 && x[2] is not null ? ConstIn(2) : null;
                return [DenseDyn(node, d, w.C, c, AttrInt(node, "transB", 0) != 0, AttrFloat(node, "alpha", 1f), AttrFloat(node, "beta", 1f))];
            }

            case "Equal" when In(0) is Dyn d && In(1) is Const v:
                return [CompareToConstant(node, d, v.C)];
            case "Equal" when In(1) is Dyn d && In(0) is Const v:
                return [CompareToConstant(node, d, v.C)];
            case "Add" when In(0) is Dyn d && In(1) is Const b:
                return [AddBias(node, d, b.C)];
            case "Add" when In(1) is Dyn d && In(0) is Const b:
                return [AddBias(node, d, b.C)];
            case "Add" when In(0) is Dyn a && In(1) is Dyn b:
                return [Elementwise(node, new Add(), a, b)];
            case "Sigmoid" or "Tanh" or "Relu" or "HardSigmoid" or "Elu" or "Softsign" or "Softplus" when In(0) is Dyn d:
            {
                if (node.OpType == "HardSigmoid" && (Math.Abs(AttrFloat(node, "alpha", 0.2f) - (1f / 6f)) > 1e-7f || AttrFloat(node, "beta", 0.5f) != 0.5f))
                {
                    throw UnsupportedNode(node, "HardSigmoid layer with alpha other than 1/6 or beta other than 0.5 (LstmSharp's hard_sigmoid is Keras 3's x/6 + 1/2)");
                }

                if (node.OpType == "Elu" && AttrFloat(node, "alpha", 1f) != 1f)
                {
                    throw UnsupportedNode(node, $"Elu layer with alpha={Fmt(AttrFloat(node, "alpha", 1f))} (LstmSharp's elu is Keras's, alpha 1)");
                }

                return [Wrap(new Activation(node.OpType.ToLowerInvariant()), d, d.Dims)];
            }

            case "Softmax" or "LogSoftmax" when In(0) is Dyn d:
            {
                long axis = AttrInt(node, "axis", opset >= 13 ? -1 : 1);
                int ax = NormAxis(node, axis, d.Rank);
                if (ax != d.Rank - 1 || ax == d.BatchAxis)
                {
                    throw UnsupportedNode(node, $"{node.OpType} over axis {axis} of a rank-{d.Rank} tensor (only the last axis is supported)");
                }

                return [Wrap(new Activation(node.OpType == "Softmax" ? "softmax" : "log_softmax"), d, d.Dims)];
            }

            default:
                throw UnsupportedNode(node, $"no layer for {Short(node.OpType)} on {string.Join(", ", x.Select(v => v is null ? "nothing" : Describe(v)))}");
        }
    }

    private Dyn Wrap(Layer layer, Dyn input, long[] dims, int? batchAxis = null) =>
        new(layer.Apply(input.T), batchAxis ?? input.BatchAxis, dims);

    /// <summary>The batch-major per-sample shape of ONNX dims with the batch at <paramref name="batchAxis"/>.</summary>
    private static int[] PerSample(long[] dims, int batchAxis) =>
        dims.Where((_, a) => a != batchAxis).Select(d => d >= 0 ? (int)d : -1).ToArray();

    private Dyn TransposeDyn(NodeProto node, Dyn d, long[]? permAttr)
    {
        var perm = permAttr?.Select(a => NormAxis(node, a, d.Rank)).ToArray() ?? Enumerable.Range(0, d.Rank).Reverse().ToArray();
        if (perm.Length != d.Rank || perm.Distinct().Count() != d.Rank)
        {
            throw Format($"node {NodeText(node)} (Transpose): perm is not a permutation of {d.Rank} axes.");
        }

        int newBatch = Array.IndexOf(perm, d.BatchAxis);
        var others = perm.Where(a => a != d.BatchAxis).ToArray();
        for (int i = 1; i < others.Length; i++)
        {
            if (others[i] < others[i - 1])
            {
                throw UnsupportedNode(node, $"Transpose perm [{string.Join(", ", perm)}] reorders axes other than the batch (axis {d.BatchAxis})");
            }
        }

        // Only the batch moves: the batch-major tensor is unchanged, its ONNX layout is not.
        return new Dyn(d.T, newBatch, perm.Select(a => d.Dims[a]).ToArray());
    }

    /// <summary>ONNX Reshape target dims, with 0 = copy and -1 = inferred, resolved symbolically.</summary>
    private long[] SymbolicReshape(NodeProto node, long[] input, long[] target, bool allowZero)
    {
        var dims = new long[target.Length];
        int infer = -1;
        for (int a = 0; a < target.Length; a++)
        {
            long t = target[a];
            if (t == 0 && !allowZero)
            {
                dims[a] = a < input.Length ? input[a] : throw Format($"node {NodeText(node)}: shape entry {a} copies an axis the input (rank {input.Length}) lacks.");
            }
            else if (t == -1)
            {
                infer = infer < 0 ? a : throw Format($"node {NodeText(node)}: shape has two -1 entries.");
                dims[a] = -1;
            }
            else
            {
                dims[a] = t;
            }
        }

        if (infer >= 0)
        {
            // Cancel the symbols and sizes shared by input and output; what remains is the inferred size.
            var rest = input.ToList();
            long known = 1;
            for (int a = 0; a < dims.Length; a++)
            {
                if (a == infer)
                {
                    continue;
                }

                if (rest.Remove(dims[a]))
                {
                    continue;
                }

                known *= dims[a] > 0 ? dims[a] : throw UnsupportedNode(node, "a reshape whose -1 depends on run-time sizes");
            }

            if (rest.Any(d => d < 0))
            {
                dims[infer] = rest.Count == 1 && known == 1 ? rest[0] : nextSymbol--;
            }
            else
            {
                long total = rest.Aggregate(1L, (p, d) => p * d);
                dims[infer] = known > 0 && total % known == 0 ? total / known : throw Format($"node {NodeText(node)}: cannot reshape [{string.Join(", ", input)}] to [{string.Join(", ", target)}].");
            }
        }

        return dims;
    }

    /// <summary>
    /// A reshape that keeps the batch axis and every axis before it: in batch-major form, a
    /// per-sample Reshape of the axes after the batch (the axes before it are unchanged).
    /// </summary>
    private Dyn ReshapeDyn(NodeProto node, Dyn d, long[] dims, string what)
    {
        // Axes of size 1 before the batch may come and go (the data's order is unchanged); any
        // other change before the batch would mix samples.
        int b = Array.IndexOf(dims, BatchSymbol);
        if (b < 0 || dims.Count(v => v == BatchSymbol) != 1
            || !dims.Take(b).Where(v => v != 1).SequenceEqual(d.Dims.Take(d.BatchAxis).Where(v => v != 1)))
        {
            throw UnsupportedNode(node, $"a {what} from [{Text(d.Dims)}] to [{Text(dims)}] that merges or splits the batch axis");
        }

        var perSample = PerSample(dims, b);
        if (perSample.Count(v => v < 0) > 1)
        {
            throw UnsupportedNode(node, $"a {what} to [{Text(dims)}], with more than one run-time size besides the batch");
        }

        var current = d.T.Shape;
        if (current.SequenceEqual(perSample))
        {
            return new Dyn(d.T, b, dims);
        }

        if (d.T.Node.Layer is Reshape && d.T.Node.Inputs[0] is var before && before.Shape.SequenceEqual(perSample))
        {
            // A reshape undone (the [T, 1, H] view of a one-direction Y squeezed back): the tensor
            // before it, which also keeps its mask. At most one size is unknown, so equal shapes are equal sizes.
            return new Dyn(before, b, dims);
        }

        return new Dyn(new Reshape(perSample).Apply(d.T), b, dims);
    }

    private static string Text(long[] dims) => string.Join(", ", dims.Select(v => v == BatchSymbol ? "batch" : v < 0 ? "?" : v.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private Dyn SliceDyn(NodeProto node, Dyn d, int axis, long start, long end, bool keepAxis)
    {
        if (axis == d.BatchAxis)
        {
            if (start == 0 && end >= int.MaxValue && keepAxis)
            {
                return d;
            }

            throw UnsupportedNode(node, "a slice of the batch axis");
        }

        long n = d.Dims[axis];
        if (n >= 0)
        {
            var (first, count) = Resolve(start, end, 1, n);
            if (first == 0 && count == n && keepAxis)
            {
                return d;
            }

            (start, end) = (first, first + count);
        }
        else if (start == 0 && end >= int.MaxValue && keepAxis)
        {
            return d;
        }

        int lsAxis = axis < d.BatchAxis ? axis + 1 : axis;
        var dims = d.Dims.ToList();
        if (keepAxis)
        {
            // On an axis of run-time size, [-1:] and [k:k+1] are one position (tf2onnx's first and
            // last time steps of a bidirectional node's directions); others stay unknown.
            dims[axis] = n >= 0 ? end - start : (start == -1 && end >= int.MaxValue) || (start >= 0 && end == start + 1) ? 1 : nextSymbol--;
        }
        else
        {
            dims.RemoveAt(axis);
        }

        var layer = new AxisSlice(lsAxis, (int)Math.Clamp(start, int.MinValue, int.MaxValue), (int)Math.Clamp(end, int.MinValue, int.MaxValue), keepAxis);
        return new Dyn(layer.Apply(d.T), !keepAxis && axis < d.BatchAxis ? d.BatchAxis - 1 : d.BatchAxis, dims.ToArray());
    }

    private Dyn ConcatDyn(NodeProto node, Dyn[] parts, long axis)
    {
        var d = parts[0];
        int ax = NormAxis(node, axis, d.Rank);
        if (parts.Any(p => p.BatchAxis != d.BatchAxis || p.Rank != d.Rank) || ax == d.BatchAxis)
        {
            throw UnsupportedNode(node, $"Concat along axis {ax} of tensors whose batch axes are {string.Join(", ", parts.Select(p => p.BatchAxis))}");
        }

        int lsAxis = ax < d.BatchAxis ? ax + 1 : ax;
        var dims = (long[])d.Dims.Clone();
        dims[ax] = parts.All(p => p.Dims[ax] >= 0) ? parts.Sum(p => p.Dims[ax]) : nextSymbol--;
        if (lsAxis == d.T.Shape.Length && Rejoined(parts.Select(p => p.T).ToArray()) is { } whole)
        {
            return new Dyn(whole, d.BatchAxis, dims);
        }

        var sym = new Concatenate(lsAxis).Apply(parts.Select(p => p.T).ToArray());
        return new Dyn(sym, d.BatchAxis, dims);
    }

    /// <summary>
    /// Directions 0..n-1 of a recurrent node's Y picked one by one (AxisSlice of the [.., n, H]
    /// view) and joined again on the features: the layers' own [.., n·H] sequence, which keeps its mask.
    /// </summary>
    private static SymbolicTensor? Rejoined(SymbolicTensor[] parts)
    {
        if (parts[0].Node.Layer is not AxisSlice { KeepAxis: false } first || parts[0].Node.Inputs[0] is not { Node.Layer: Reshape } view)
        {
            return null;
        }

        for (int i = 0; i < parts.Length; i++)
        {
            if (parts[i].Node.Layer is not AxisSlice { KeepAxis: false } a || a.Axis != first.Axis || a.Start != i || a.Stop != i + 1 || !ReferenceEquals(parts[i].Node.Inputs[0], view))
            {
                return null;
            }
        }

        // The view is [..., n, H] with the directions second to last; its input [..., n·H].
        var whole = view.Node.Inputs[0];
        int[] v = view.Shape;
        return first.Axis == v.Length - 1 && v[^2] == parts.Length && v[^1] > 0 && whole.Shape.Length == v.Length - 1
            && whole.Shape[^1] == parts.Length * v[^1] && whole.Shape[..^1].SequenceEqual(v[..^2]) ? whole : null;
    }

    private Dyn Elementwise(NodeProto node, Layer layer, Dyn a, Dyn b)
    {
        if (a.BatchAxis != b.BatchAxis || a.Rank != b.Rank || !a.T.Shape.SequenceEqual(b.T.Shape))
        {
            throw UnsupportedNode(node, $"{node.OpType} of tensors shaped [{Text(a.Dims)}] and [{Text(b.Dims)}] (broadcasting between run-time tensors is not supported)");
        }

        return new Dyn(layer.Apply(a.T, b.T), a.BatchAxis, a.Dims);
    }

    private Dyn EmbeddingDyn(NodeProto node, OnnxConstant table, Dyn ids)
    {
        if (AttrInt(node, "axis", 0) != 0 || table.Rank != 2 || !table.IsFloat)
        {
            throw UnsupportedNode(node, $"Gather of a constant {table.ShapeText} by run-time indices other than an embedding lookup (axis 0 of a float [vocabulary, dim] table)");
        }

        int vocab = checked((int)table.Dims[0]), dim = checked((int)table.Dims[1]);
        var layer = new Embedding(vocab, dim);
        var sym = layer.Apply(ids.T);
        table.Floats!.CopyTo(layer.Embeddings.Value.Span);
        return new Dyn(sym, ids.BatchAxis, [.. ids.Dims, dim]);
    }

    private Dyn DenseDyn(NodeProto node, Dyn d, OnnxConstant w, OnnxConstant? c, bool transposeB, float alpha, float beta)
    {
        if (w.Rank != 2 || !w.IsFloat)
        {
            throw UnsupportedNode(node, $"{node.OpType} by a constant {w.ShapeText} (a float matrix is needed)");
        }

        int k = (int)(transposeB ? w.Dims[1] : w.Dims[0]), n = (int)(transposeB ? w.Dims[0] : w.Dims[1]);
        if (d.BatchAxis == d.Rank - 1 || d.Dims[^1] != k)
        {
            throw UnsupportedNode(node, $"{node.OpType} of [{Text(d.Dims)}] by [{(transposeB ? $"{n}, {k}" : $"{k}, {n}")}] (the last axis must be the {k} features, not the batch)");
        }

        bool hasBias = c is not null && beta != 0;
        var layer = new Dense(n, useBias: true);
        var sym = layer.Apply(d.T);
        var kernel = layer.Kernel!.Value.Span;
        var src = w.Floats!;
        for (int i = 0; i < k; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float v = transposeB ? src[(j * k) + i] : src[(i * n) + j];
                kernel[(i * n) + j] = alpha == 1f ? v : alpha * v;
            }
        }

        var bias = layer.Bias!.Value.Span;
        bias.Clear();
        if (hasBias)
        {
            var cb = BiasVector(node, c!, n);
            for (int j = 0; j < n; j++)
            {
                bias[j] = beta == 1f ? cb[j] : beta * cb[j];
            }
        }

        string output = node.Output[0];
        if (!hasBias)
        {
            pendingDense[sym] = new PendingDense(layer, output);
        }

        return new Dyn(sym, d.BatchAxis, [.. d.Dims[..^1], n]);
    }

    private float[] BiasVector(NodeProto node, OnnxConstant c, int n)
    {
        if (!c.IsFloat || c.Count != n && c.Count != 1 || c.Dims.Take(Math.Max(0, c.Rank - 1)).Any(v => v != 1))
        {
            throw UnsupportedNode(node, $"a bias {c.ShapeText} for {n} features (one value per feature is needed)");
        }

        return c.Count == n ? c.Floats! : Enumerable.Repeat(c.Floats![0], n).ToArray();
    }

    private Dyn AddBias(NodeProto node, Dyn d, OnnxConstant b)
    {
        // torch.onnx writes Linear on 3-D inputs as MatMul then Add: the Add is the Dense's bias.
        if (pendingDense.TryGetValue(d.T, out var pending) && uses.GetValueOrDefault(pending.Output) == 1)
        {
            var bias = BiasVector(node, b, pending.Layer.Units);
            bias.CopyTo(pending.Layer.Bias!.Value.Span);
            pendingDense.Remove(d.T);
            return d;
        }

        throw UnsupportedNode(node, "Add of a constant to a run-time tensor that is not the output of a MatMul used only here");
    }
}
