using LstmSharp.Interop.Onnx.Proto;

namespace LstmSharp.Interop.Onnx;

/// <summary>Constant folding: the ops exporters use to compute weights, shapes and indices, evaluated at import.</summary>
internal sealed partial class OnnxImporter
{
    private OnnxConstant Fold(NodeProto node, OnnxConstant?[] x)
    {
        OnnxConstant In(int i) => i < x.Length && x[i] is { } c ? c : throw Format($"node {NodeText(node)} lacks input {i}.");
        switch (node.OpType)
        {
            case "Identity":
            case "Dropout":
                return In(0);
            case "Cast":
            {
                var c = In(0);
                int to = (int)AttrInt(node, "to", 1);
                return OnnxTensorReader.IsFloatType(to)
                    ? new OnnxConstant(c.Dims, c.AsFloats())
                    : new OnnxConstant(c.Dims, c.Floats is { } f ? f.Select(v => float.IsFinite(v) ? (long)Math.Truncate(v) : 0L).ToArray() : c.Ints!);
            }

            case "Shape":
                return new OnnxConstant([In(0).Rank], SliceShape(node, In(0).Dims));
            case "Size":
                return new OnnxConstant([], [(long)In(0).Count]);
            case "Reshape":
                return WithDims(In(0), ReshapeDims(node, In(0).Dims, In(1).AsLongs(), AttrInt(node, "allowzero", 0) != 0));
            case "Flatten":
            {
                var c = In(0);
                int axis = (int)(AttrInt(node, "axis", 1) is var a && a < 0 ? a + c.Rank : a);
                long outer = c.Dims.Take(axis).Aggregate(1L, (p, d) => p * d);
                return WithDims(c, [outer, c.Count / Math.Max(1, outer)]);
            }

            case "Squeeze":
                return WithDims(In(0), SqueezeDims(node, In(0).Dims, SqueezeAxes(node, x)));
            case "Unsqueeze":
                return WithDims(In(0), UnsqueezeDims(node, In(0).Dims, UnsqueezeAxes(node, x)));
            case "Concat":
                return Concat(node, x.Where(c => c is not null).Select(c => c!).ToArray(), AttrInt(node, "axis", 0));
            case "Gather":
                return Gather(node, In(0), In(1), AttrInt(node, "axis", 0));
            case "Slice":
                return Slice(node, In(0), SliceParams(node, x, In(0).Rank));
            case "Transpose":
                return Transpose(node, In(0), AttrInts(node, "perm"));
            case "ConstantOfShape":
            {
                var dims = In(0).AsLongs();
                var value = Attr(node, "value")?.T is { } t ? OnnxTensorReader.Read(t, file, $"node {NodeText(node)} value") : new OnnxConstant([1], [0f]);
                long n = CheckedCount(node, dims);
                return value.IsFloat
                    ? new OnnxConstant(dims, Enumerable.Repeat(value.Count > 0 ? value.Floats![0] : 0f, (int)n).ToArray())
                    : new OnnxConstant(dims, Enumerable.Repeat(value.Count > 0 ? value.Ints![0] : 0L, (int)n).ToArray());
            }

            case "Range":
            {
                double start = In(0)[0], limit = In(1)[0], delta = In(2)[0];
                if (delta == 0)
                {
                    throw Format($"node {NodeText(node)}: Range delta is 0.");
                }

                double steps = Math.Max(0, Math.Ceiling((limit - start) / delta));
                long n = CheckedCount(node, [(long)Math.Min(steps, MaxFoldedElements + 1.0)]);
                return In(0).IsFloat
                    ? new OnnxConstant([n], Enumerable.Range(0, (int)n).Select(i => (float)(start + (i * delta))).ToArray())
                    : new OnnxConstant([n], Enumerable.Range(0, (int)n).Select(i => (long)(start + (i * delta))).ToArray());
            }

            case "Expand":
            {
                var c = In(0);
                var shape = Broadcast(node, c.Dims, In(1).AsLongs());
                return BroadcastTo(node, c, shape);
            }

            case "Add" or "Sub" or "Mul" or "Div" or "Equal" or "Less" or "Greater" or "Pow" or "Max" or "Min" when x.Length == 2:
                return Binary(node, In(0), In(1));
            case "Neg":
                return Map(In(0), v => -v);
            case "Sqrt":
                return Map(In(0), Math.Sqrt);
            case "Relu":
                return Map(In(0), v => Math.Max(v, 0));
            case "Sigmoid":
                return Map(In(0), v => 1 / (1 + Math.Exp(-v)));
            case "Tanh":
                return Map(In(0), Math.Tanh);
            case "Not":
                return Map(In(0), v => v == 0 ? 1 : 0);
            case "Where":
            {
                var shape = Broadcast(node, Broadcast(node, In(0).Dims, In(1).Dims), In(2).Dims);
                var cond = BroadcastTo(node, In(0), shape);
                var a = BroadcastTo(node, In(1), shape);
                var b = BroadcastTo(node, In(2), shape);
                return a.IsFloat || b.IsFloat
                    ? new OnnxConstant(shape, Enumerable.Range(0, cond.Count).Select(i => (float)(cond[i] != 0 ? a[i] : b[i])).ToArray())
                    : new OnnxConstant(shape, Enumerable.Range(0, cond.Count).Select(i => (long)(cond[i] != 0 ? a[i] : b[i])).ToArray());
            }

            default:
                throw UnsupportedNode(node, "this operator cannot be folded over constant inputs");
        }
    }

    private long[] SliceShape(NodeProto node, long[] dims)
    {
        // Shape (opset 15) may take start / end attributes.
        long rank = dims.Length;
        long start = AttrInt(node, "start", 0), end = AttrInt(node, "end", rank);
        start = Math.Clamp(start < 0 ? start + rank : start, 0, rank);
        end = Math.Clamp(end < 0 ? end + rank : end, 0, rank);
        return dims.Skip((int)start).Take((int)Math.Max(0, end - start)).ToArray();
    }

    private long CheckedCount(NodeProto node, long[] dims)
    {
        long n = 1;
        foreach (long d in dims)
        {
            if (d < 0)
            {
                throw Format($"node {NodeText(node)}: negative dimension in [{string.Join(", ", dims)}].");
            }

            n = d == 0 || n == 0 ? 0 : n > MaxFoldedElements / d ? MaxFoldedElements + 1 : n * d;
            if (n > MaxFoldedElements)
            {
                throw Unsupported($"node {NodeText(node)} would create a constant of shape [{string.Join(", ", dims)}], more than {MaxFoldedElements} elements.", [NodeText(node)]);
            }
        }

        return n;
    }

    private OnnxConstant WithDims(OnnxConstant c, long[] dims)
    {
        long n = 1;
        foreach (long d in dims)
        {
            n *= d;
        }

        if (n != c.Count)
        {
            throw Format($"cannot give a constant of {c.Count} elements the shape [{string.Join(", ", dims)}].");
        }

        return c.Floats is { } f ? new OnnxConstant(dims, f) : new OnnxConstant(dims, c.Ints!);
    }

    private long[] ReshapeDims(NodeProto node, long[] input, long[] target, bool allowZero)
    {
        var dims = (long[])target.Clone();
        long known = 1;
        int infer = -1;
        long total = input.Aggregate(1L, (p, d) => p * d);
        for (int a = 0; a < dims.Length; a++)
        {
            if (dims[a] == 0 && !allowZero)
            {
                if (a >= input.Length)
                {
                    throw Format($"node {NodeText(node)}: shape entry {a} is 0 (copy) but the input has rank {input.Length}.");
                }

                dims[a] = input[a];
            }

            if (dims[a] == -1)
            {
                if (infer >= 0)
                {
                    throw Format($"node {NodeText(node)}: shape [{string.Join(", ", target)}] has two -1 entries.");
                }

                infer = a;
            }
            else if (dims[a] < 0)
            {
                throw Format($"node {NodeText(node)}: shape [{string.Join(", ", target)}] has entry {dims[a]}.");
            }
            else
            {
                known *= dims[a];
            }
        }

        if (infer >= 0)
        {
            if (known == 0 || total % known != 0)
            {
                throw Format($"node {NodeText(node)}: cannot reshape [{string.Join(", ", input)}] to [{string.Join(", ", target)}].");
            }

            dims[infer] = total / known;
        }

        return dims;
    }

    private long[] SqueezeAxes(NodeProto node, OnnxConstant?[] x) =>
        opset >= 13 ? (x.Length > 1 && x[1] is { } a ? a.AsLongs() : []) : AttrInts(node, "axes") ?? [];

    private long[] UnsqueezeAxes(NodeProto node, OnnxConstant?[] x) =>
        opset >= 13 ? (x.Length > 1 && x[1] is { } a ? a.AsLongs() : throw Format($"node {NodeText(node)} (Unsqueeze) lacks its axes input.")) : AttrInts(node, "axes") ?? throw Format($"node {NodeText(node)} (Unsqueeze) lacks its axes attribute.");

    private long[] SqueezeDims(NodeProto node, long[] dims, long[] axes)
    {
        if (axes.Length == 0)
        {
            return dims.Where(d => d != 1).ToArray();
        }

        var drop = axes.Select(a => NormAxis(node, a, dims.Length)).ToHashSet();
        foreach (int a in drop)
        {
            if (dims[a] != 1)
            {
                throw Format($"node {NodeText(node)}: cannot squeeze axis {a} of size {dims[a]}.");
            }
        }

        return dims.Where((_, a) => !drop.Contains(a)).ToArray();
    }

    private long[] UnsqueezeDims(NodeProto node, long[] dims, long[] axes)
    {
        int rank = dims.Length + axes.Length;
        var add = axes.Select(a => NormAxis(node, a, rank)).ToHashSet();
        if (add.Count != axes.Length)
        {
            throw Format($"node {NodeText(node)}: repeated axes [{string.Join(", ", axes)}].");
        }

        var result = new long[rank];
        int src = 0;
        for (int a = 0; a < rank; a++)
        {
            result[a] = add.Contains(a) ? 1 : dims[src++];
        }

        return result;
    }

    private OnnxConstant Concat(NodeProto node, OnnxConstant[] parts, long axis)
    {
        if (parts.Length == 0)
        {
            throw Format($"node {NodeText(node)} (Concat) has no inputs.");
        }

        int rank = parts[0].Rank;
        int ax = NormAxis(node, axis, Math.Max(rank, 1));
        foreach (var p in parts)
        {
            if (p.Rank != rank || p.Dims.Where((d, a) => a != ax && d != parts[0].Dims[a]).Any())
            {
                throw Format($"node {NodeText(node)} (Concat): shapes {string.Join(", ", parts.Select(q => q.ShapeText))} differ off axis {ax}.");
            }
        }

        var dims = (long[])parts[0].Dims.Clone();
        dims[ax] = parts.Sum(p => p.Dims[ax]);
        CheckedCount(node, dims);
        long outer = dims.Take(ax).Aggregate(1L, (p, d) => p * d);
        bool isFloat = parts.Any(p => p.IsFloat);
        var data = new List<double>();
        for (long o = 0; o < outer; o++)
        {
            foreach (var p in parts)
            {
                long block = p.Dims.Skip(ax).Aggregate(1L, (q, d) => q * d);
                for (long i = 0; i < block; i++)
                {
                    data.Add(p[(int)((o * block) + i)]);
                }
            }
        }

        return isFloat ? new OnnxConstant(dims, data.Select(v => (float)v).ToArray()) : new OnnxConstant(dims, data.Select(v => (long)v).ToArray());
    }

    private OnnxConstant Gather(NodeProto node, OnnxConstant data, OnnxConstant indices, long axis)
    {
        int ax = NormAxis(node, axis, Math.Max(data.Rank, 1));
        long n = data.Dims[ax];
        long outer = data.Dims.Take(ax).Aggregate(1L, (p, d) => p * d);
        long inner = data.Dims.Skip(ax + 1).Aggregate(1L, (p, d) => p * d);
        var idx = indices.AsLongs().Select(i => i < 0 ? i + n : i).ToArray();
        if (idx.Any(i => i < 0 || i >= n))
        {
            throw Format($"node {NodeText(node)} (Gather): an index is out of range for axis {ax} of size {n}.");
        }

        long[] dims = [.. data.Dims.Take(ax), .. indices.Dims, .. data.Dims.Skip(ax + 1)];
        CheckedCount(node, dims);
        var picked = new List<int>();
        for (long o = 0; o < outer; o++)
        {
            foreach (long i in idx)
            {
                for (long k = 0; k < inner; k++)
                {
                    picked.Add((int)((((o * n) + i) * inner) + k));
                }
            }
        }

        return data.Floats is { } f ? new OnnxConstant(dims, picked.Select(p => f[p]).ToArray()) : new OnnxConstant(dims, picked.Select(p => data.Ints![p]).ToArray());
    }

    /// <summary>Per-axis (start, end, step) of a Slice node, clamped for an axis of unknown size later.</summary>
    private (int Axis, long Start, long End, long Step)[] SliceParams(NodeProto node, OnnxConstant?[] x, int rank)
    {
        long[] starts, ends, axes, steps;
        if (opset >= 10)
        {
            starts = x.Length > 1 && x[1] is { } s ? s.AsLongs() : throw Format($"node {NodeText(node)} (Slice) lacks starts.");
            ends = x.Length > 2 && x[2] is { } e ? e.AsLongs() : throw Format($"node {NodeText(node)} (Slice) lacks ends.");
            axes = x.Length > 3 && x[3] is { } a ? a.AsLongs() : Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
            steps = x.Length > 4 && x[4] is { } st ? st.AsLongs() : Enumerable.Repeat(1L, starts.Length).ToArray();
        }
        else
        {
            starts = AttrInts(node, "starts") ?? throw Format($"node {NodeText(node)} (Slice) lacks starts.");
            ends = AttrInts(node, "ends") ?? throw Format($"node {NodeText(node)} (Slice) lacks ends.");
            axes = AttrInts(node, "axes") ?? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
            steps = Enumerable.Repeat(1L, starts.Length).ToArray();
        }

        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
        {
            throw Format($"node {NodeText(node)} (Slice): starts, ends, axes and steps differ in length.");
        }

        return starts.Select((s, i) => (NormAxis(node, axes[i], rank), s, ends[i], steps[i])).ToArray();
    }

    private static (long First, long Count) Resolve(long start, long end, long step, long n)
    {
        // ONNX Slice clamping (positive step only; callers refuse others).
        start = start < 0 ? start + n : start;
        end = end < 0 ? end + n : end;
        start = Math.Clamp(start, 0, n);
        end = Math.Clamp(end, 0, n);
        return (start, Math.Max(0, (end - start + step - 1) / step));
    }

    private OnnxConstant Slice(NodeProto node, OnnxConstant c, (int Axis, long Start, long End, long Step)[] ps)
    {
        var dims = (long[])c.Dims.Clone();
        var first = new long[c.Rank];
        var step = Enumerable.Repeat(1L, c.Rank).ToArray();
        foreach (var (axis, s, e, st) in ps)
        {
            if (st <= 0)
            {
                throw UnsupportedNode(node, $"Slice step {st} (only positive steps are supported)");
            }

            (first[axis], dims[axis]) = Resolve(s, e, st, c.Dims[axis]);
            step[axis] = st;
        }

        long n = CheckedCount(node, dims);
        var index = new long[c.Rank];
        var picked = new int[n];
        for (long k = 0; k < n; k++)
        {
            long rem = k, flat = 0, stride = 1;
            for (int a = c.Rank - 1; a >= 0; a--)
            {
                index[a] = rem % dims[a];
                rem /= dims[a];
            }

            for (int a = c.Rank - 1; a >= 0; a--)
            {
                flat += (first[a] + (index[a] * step[a])) * stride;
                stride *= c.Dims[a];
            }

            picked[k] = (int)flat;
        }

        return c.Floats is { } f ? new OnnxConstant(dims, picked.Select(p => f[p]).ToArray()) : new OnnxConstant(dims, picked.Select(p => c.Ints![p]).ToArray());
    }

    private OnnxConstant Transpose(NodeProto node, OnnxConstant c, long[]? perm)
    {
        int rank = c.Rank;
        var p = perm?.Select(a => NormAxis(node, a, rank)).ToArray() ?? Enumerable.Range(0, rank).Reverse().ToArray();
        if (p.Length != rank || p.Distinct().Count() != rank)
        {
            throw Format($"node {NodeText(node)} (Transpose): perm [{string.Join(", ", perm ?? [])}] is not a permutation of {rank} axes.");
        }

        var dims = p.Select(a => c.Dims[a]).ToArray();
        var srcStride = new long[rank];
        long s = 1;
        for (int a = rank - 1; a >= 0; a--)
        {
            srcStride[a] = s;
            s *= c.Dims[a];
        }

        var picked = new int[c.Count];
        var index = new long[rank];
        for (long k = 0; k < c.Count; k++)
        {
            long rem = k, flat = 0;
            for (int a = rank - 1; a >= 0; a--)
            {
                index[a] = rem % dims[a];
                rem /= dims[a];
            }

            for (int a = 0; a < rank; a++)
            {
                flat += index[a] * srcStride[p[a]];
            }

            picked[k] = (int)flat;
        }

        return c.Floats is { } f ? new OnnxConstant(dims, picked.Select(q => f[q]).ToArray()) : new OnnxConstant(dims, picked.Select(q => c.Ints![q]).ToArray());
    }

    private long[] Broadcast(NodeProto node, long[] a, long[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var dims = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            long db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
            {
                throw Format($"node {NodeText(node)}: shapes [{string.Join(", ", a)}] and [{string.Join(", ", b)}] do not broadcast.");
            }

            dims[i] = da == 1 ? db : da;
        }

        CheckedCount(node, dims);
        return dims;
    }

    private OnnxConstant BroadcastTo(NodeProto node, OnnxConstant c, long[] dims)
    {
        long n = CheckedCount(node, dims);
        int rank = dims.Length, offset = rank - c.Rank;
        var picked = new int[n];
        var index = new long[rank];
        for (long k = 0; k < n; k++)
        {
            long rem = k, flat = 0, stride = 1;
            for (int a = rank - 1; a >= 0; a--)
            {
                index[a] = rem % dims[a];
                rem /= dims[a];
            }

            for (int a = c.Rank - 1; a >= 0; a--)
            {
                long d = c.Dims[a];
                flat += (d == 1 ? 0 : index[a + offset]) * stride;
                stride *= d;
            }

            picked[k] = (int)flat;
        }

        return c.Floats is { } f ? new OnnxConstant(dims, picked.Select(q => f[q]).ToArray()) : new OnnxConstant(dims, picked.Select(q => c.Ints![q]).ToArray());
    }

    private OnnxConstant Binary(NodeProto node, OnnxConstant a, OnnxConstant b)
    {
        var dims = Broadcast(node, a.Dims, b.Dims);
        var x = BroadcastTo(node, a, dims);
        var y = BroadcastTo(node, b, dims);
        bool isFloat = a.IsFloat || b.IsFloat;
        Func<double, double, double> f = node.OpType switch
        {
            "Add" => (p, q) => p + q,
            "Sub" => (p, q) => p - q,
            "Mul" => (p, q) => p * q,
            "Div" => isFloat ? (p, q) => p / q : (p, q) => q == 0 ? throw Format($"node {NodeText(node)}: integer division by zero.") : Math.Truncate(p / q),
            "Pow" => Math.Pow,
            "Max" => Math.Max,
            "Min" => Math.Min,
            "Equal" => (p, q) => p == q ? 1 : 0,
            "Less" => (p, q) => p < q ? 1 : 0,
            _ => (p, q) => p > q ? 1 : 0,
        };
        bool logical = node.OpType is "Equal" or "Less" or "Greater";
        if (isFloat && !logical)
        {
            // float32 arithmetic as ONNX Runtime does it, not double rounded once.
            Func<float, float, float> g = node.OpType switch
            {
                "Add" => (p, q) => p + q,
                "Sub" => (p, q) => p - q,
                "Mul" => (p, q) => p * q,
                "Div" => (p, q) => p / q,
                _ => (p, q) => (float)f(p, q),
            };
            var xf = x.AsFloats();
            var yf = y.AsFloats();
            return new OnnxConstant(dims, Enumerable.Range(0, xf.Length).Select(i => g(xf[i], yf[i])).ToArray());
        }

        return new OnnxConstant(dims, Enumerable.Range(0, x.Count).Select(i => (long)f(x[i], y[i])).ToArray());
    }

    private static OnnxConstant Map(OnnxConstant c, Func<double, double> f) => c.IsFloat
        ? new OnnxConstant(c.Dims, c.Floats!.Select(v => (float)f(v)).ToArray())
        : new OnnxConstant(c.Dims, c.Ints!.Select(v => (long)f(v)).ToArray());
}
