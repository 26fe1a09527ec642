using LstmSharp.Interop.Onnx.Proto;

namespace LstmSharp.Interop.Onnx;

/// <summary>
/// Shapes of run-time tensors (Shape → Gather → Unsqueeze → Concat, as torch.onnx writes them)
/// and the zero tensors built from them (ConstantOfShape): the initial states of a recurrent
/// node exported from PyTorch without <c>h0</c>.
/// </summary>
internal sealed partial class OnnxImporter
{
    private Value[] ImportShapeOp(NodeProto node, Value?[] x)
    {
        Value In(int i) => i < x.Length && x[i] is { } v ? v : throw Format($"node {NodeText(node)} lacks input {i}.");
        OnnxConstant ConstIn(int i) => In(i) is Const c ? c.C : throw UnsupportedNode(node, $"input {i} must be a constant, got {Describe(In(i))}");
        var first = In(0);
        switch (node.OpType)
        {
            case "Identity" or "Cast" when first is ShapeVal or Zeros:
                return [first];
            case "Gather" when first is ShapeVal s:
            {
                var idx = ConstIn(1);
                var items = idx.AsLongs().Select(i => i < 0 ? i + s.Items.Length : i).ToArray();
                if (items.Any(i => i < 0 || i >= s.Items.Length))
                {
                    throw Format($"node {NodeText(node)}: index out of range for a shape of {s.Items.Length} entries.");
                }

                return [MakeShape(items.Select(i => s.Items[i]).ToArray(), idx.Rank == 0)];
            }

            case "Unsqueeze" when first is ShapeVal s && s.Scalar:
                return [MakeShape(s.Items, false)];
            case "Squeeze" when first is ShapeVal s && s.Items.Length == 1:
                return [MakeShape(s.Items, true)];
            case "Concat" when first is ShapeVal or Const:
            {
                var items = new List<long>();
                foreach (var v in x)
                {
                    items.AddRange(v switch
                    {
                        ShapeVal s => s.Items,
                        Const c when !c.C.IsFloat && c.C.Rank <= 1 => c.C.Ints!,
                        _ => throw UnsupportedNode(node, $"Concat of a shape with {(v is null ? "nothing" : Describe(v))}"),
                    });
                }

                return [MakeShape(items.ToArray(), false)];
            }

            case "Slice" when first is ShapeVal s:
            {
                var ps = SliceParams(node, x.Select(v => v is Const c ? c.C : null).ToArray(), 1);
                var (_, start, end, step) = ps.Single();
                if (step != 1)
                {
                    throw UnsupportedNode(node, "a strided slice of a shape");
                }

                var (f, n) = Resolve(start, end, 1, s.Items.Length);
                return [MakeShape(s.Items.Skip((int)f).Take((int)n).ToArray(), false)];
            }

            case "ConstantOfShape" when first is ShapeVal s:
            {
                var value = Attr(node, "value")?.T is { } t ? OnnxTensorReader.Read(t, file, $"node {NodeText(node)} value") : new OnnxConstant([1], [0f]);
                if (value.Count != 1 || value[0] != 0)
                {
                    throw UnsupportedNode(node, "ConstantOfShape of a run-time shape with a non-zero value");
                }

                return [new Zeros(s.Items)];
            }

            case "Expand" when first is Const c && In(1) is ShapeVal s:
                if (c.C.Count == 0 || Enumerable.Range(0, c.C.Count).Any(i => c.C[i] != 0))
                {
                    throw UnsupportedNode(node, "Expand of a non-zero constant to a run-time shape");
                }

                return [new Zeros(s.Items)];
            case "Add" or "Mul" or "Sub" or "Div" when x.Length == 2:
                return [ShapeArithmetic(node, In(0), In(1))];
            case "Slice" when first is Zeros z:
            {
                var ps = SliceParams(node, x.Select(v => v is Const c ? c.C : null).ToArray(), z.Dims.Length);
                var dims = (long[])z.Dims.Clone();
                foreach (var (axis, start, end, step) in ps)
                {
                    if (dims[axis] < 0 || step <= 0)
                    {
                        if (start == 0 && end >= int.MaxValue && step == 1)
                        {
                            continue;
                        }

                        throw UnsupportedNode(node, "a slice of a zero tensor along an axis of run-time size");
                    }

                    dims[axis] = Resolve(start, end, step, dims[axis]).Count;
                }

                return [new Zeros(dims)];
            }

            case "Gather" when first is Zeros z && ConstIn(1) is { } idx:
            {
                int axis = NormAxis(node, AttrInt(node, "axis", 0), z.Dims.Length);
                long[] dims = [.. z.Dims.Take(axis), .. idx.Dims, .. z.Dims.Skip(axis + 1)];
                return [new Zeros(dims)];
            }

            case "Concat" when x.Length > 0 && x.All(v => v is Zeros):
            {
                // tf2onnx joins the zero initial states of a bidirectional node's two directions
                // (rnn_utils.process_single_init_node): zeros of the joined shape.
                var parts = x.Select(v => ((Zeros)v!).Dims).ToArray();
                int rank = parts[0].Length;
                int axis = NormAxis(node, AttrInt(node, "axis", 0), rank);
                if (parts.Any(d => d.Length != rank || Enumerable.Range(0, rank).Any(a => a != axis && d[a] != parts[0][a])))
                {
                    throw UnsupportedNode(node, $"Concat along axis {axis} of zero tensors whose other dimensions differ or are not known to agree");
                }

                var dims = (long[])parts[0].Clone();
                dims[axis] = parts.All(d => d[axis] >= 0) ? parts.Sum(d => d[axis]) : nextSymbol--;
                return [new Zeros(dims)];
            }

            case "Squeeze" when first is Zeros z:
                return [new Zeros(SqueezeDims(node, z.Dims, SqueezeAxes(node, x.Select(v => v is Const c ? c.C : null).ToArray())))];
            case "Unsqueeze" when first is Zeros z:
                return [new Zeros(UnsqueezeDims(node, z.Dims, UnsqueezeAxes(node, x.Select(v => v is Const c ? c.C : null).ToArray())))];
            case "Transpose" when first is Zeros z:
            {
                var perm = AttrInts(node, "perm")?.Select(a => NormAxis(node, a, z.Dims.Length)).ToArray() ?? Enumerable.Range(0, z.Dims.Length).Reverse().ToArray();
                return [new Zeros(perm.Select(a => z.Dims[a]).ToArray())];
            }

            default:
                throw UnsupportedNode(node, $"{Short(node.OpType)} of {string.Join(", ", x.Select(v => v is null ? "nothing" : Describe(v)))}");
        }
    }

    private Value MakeShape(long[] items, bool scalar) => items.All(i => i >= 0)
        ? new Const(scalar ? new OnnxConstant([], items) : new OnnxConstant([items.Length], items))
        : new ShapeVal(items, scalar);

    private Value ShapeArithmetic(NodeProto node, Value a, Value b)
    {
        long[] Items(Value v) => v switch
        {
            ShapeVal s => s.Items,
            Const c when !c.C.IsFloat && c.C.Rank <= 1 => c.C.Ints!,
            _ => throw UnsupportedNode(node, $"arithmetic on {Describe(v)} and a shape"),
        };

        var x = Items(a);
        var y = Items(b);
        if (x.Length != y.Length && x.Length != 1 && y.Length != 1)
        {
            throw Format($"node {NodeText(node)}: shapes of {x.Length} and {y.Length} entries do not broadcast.");
        }

        int n = Math.Max(x.Length, y.Length);
        var r = new long[n];
        for (int i = 0; i < n; i++)
        {
            long p = x[x.Length == 1 ? 0 : i], q = y[y.Length == 1 ? 0 : i];
            if (p < 0 || q < 0)
            {
                // An unknown size times or plus a known one is still unknown, but not the batch.
                if ((node.OpType == "Mul" && (p == 1 || q == 1)) || (node.OpType is "Add" or "Sub" && (p == 0 || q == 0)) || (node.OpType == "Div" && q == 1))
                {
                    r[i] = p < 0 ? p : q;
                    continue;
                }

                r[i] = nextSymbol--;
                continue;
            }

            r[i] = node.OpType switch
            {
                "Add" => p + q,
                "Sub" => p - q,
                "Mul" => p * q,
                _ => q == 0 ? throw Format($"node {NodeText(node)}: division by zero.") : p / q,
            };
        }

        bool scalar = (a as ShapeVal)?.Scalar ?? (b as ShapeVal)?.Scalar ?? false;
        return MakeShape(r, scalar && n == 1);
    }
}
