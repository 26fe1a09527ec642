using Google.Protobuf;
using LstmSharp.Interop.Onnx.Proto;

namespace LstmSharp.Interop.Onnx;

/// <summary>
/// Appends nodes, initializers and constants to an ONNX graph under unique names. Node and
/// tensor names start from the layer's name (<c>lstm_1/W</c>, <c>lstm_1/LSTM</c>), so a
/// graph viewer shows which layer each part came from.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly HashSet<string> names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> int64Constants = new(StringComparer.Ordinal);

    public GraphProto Graph { get; } = new();

    /// <summary>A name not used yet, <paramref name="wanted"/> itself when free.</summary>
    public string Unique(string wanted)
    {
        if (names.Add(wanted))
        {
            return wanted;
        }

        for (int i = 1; ; i++)
        {
            string candidate = $"{wanted}_{i}";
            if (names.Add(candidate))
            {
                return candidate;
            }
        }
    }

    /// <summary>Reserves a name that must stay exactly as given (graph inputs and outputs).</summary>
    public void Reserve(string name)
    {
        if (!names.Add(name))
        {
            throw new ArgumentException($"ONNX export: two graph inputs or outputs are named '{name}'.");
        }
    }

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Node(string op, string name, IEnumerable<string> inputs, params AttributeProto[] attributes) =>
        NodeN(op, name, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs (named after the node) and returns their names.</summary>
    public string[] NodeN(string op, string name, IEnumerable<string> inputs, int outputs, params AttributeProto[] attributes)
    {
        string nodeName = Unique(name);
        var node = new NodeProto { OpType = op, Name = nodeName };
        node.Input.AddRange(inputs);
        var outs = new string[outputs];
        for (int i = 0; i < outputs; i++)
        {
            outs[i] = Unique(outputs == 1 ? nodeName + ":0" : $"{nodeName}:{i}");
            node.Output.Add(outs[i]);
        }

        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return outs;
    }

    /// <summary>A node writing into a given output name (a graph output).</summary>
    public void NodeInto(string op, string name, IEnumerable<string> inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = Unique(name) };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
    }

    /// <summary>A float initializer (a weight).</summary>
    public string Weight(string name, long[] dims, ReadOnlySpan<float> values)
    {
        string n = Unique(name);
        Graph.Initializer.Add(OnnxTensorWriter.FromFloats(n, dims, values));
        return n;
    }

    /// <summary>A 1-D int64 constant (axes, shapes, starts), shared between nodes that need the same values.</summary>
    public string Int64s(params long[] values)
    {
        string key = string.Join(",", values);
        if (!int64Constants.TryGetValue(key, out var n))
        {
            n = Unique("const_i64_" + key.Replace(",", "_", StringComparison.Ordinal).Replace("-", "m", StringComparison.Ordinal));
            Graph.Initializer.Add(OnnxTensorWriter.FromInt64s(n, [values.Length], values));
            int64Constants[key] = n;
        }

        return n;
    }

    /// <summary>A float scalar constant.</summary>
    public string FloatScalar(string name, float value)
    {
        string n = Unique(name);
        Graph.Initializer.Add(OnnxTensorWriter.FromFloats(n, [], [value]));
        return n;
    }

    /// <summary>An int64 scalar constant.</summary>
    public string Int64Scalar(string name, long value)
    {
        string n = Unique(name);
        Graph.Initializer.Add(OnnxTensorWriter.FromInt64s(n, [], [value]));
        return n;
    }

    public static AttributeProto Attr(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attr(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Attr(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Attr(string name, long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto Attr(string name, float[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats };
        a.Floats.AddRange(values);
        return a;
    }

    public static AttributeProto Attr(string name, string[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Strings };
        a.Strings.AddRange(values.Select(ByteString.CopyFromUtf8));
        return a;
    }

    /// <summary>
    /// A tensor's type and shape for a graph input or output: the batch (at
    /// <paramref name="batchAxis"/>, 0 unless the model keeps a foreign layout) and unknown
    /// sizes become named dims. ONNX takes equal dim names as equal sizes, so only the first
    /// graph input's unknown dims are plain "time", "dim_3", ...; every other value's carry its
    /// name (<paramref name="ownDims"/>), since an encoder's and a decoder's steps, or a pooled
    /// output's, are independent.
    /// </summary>
    public static ValueInfoProto ValueInfo(string name, int elemType, IReadOnlyList<int> perSampleShape, int batchAxis = 0, bool ownDims = false)
    {
        string prefix = ownDims ? name + "_" : string.Empty;
        var dims = new List<TensorShapeProto.Types.Dimension>();
        for (int i = 0; i < perSampleShape.Count; i++)
        {
            dims.Add(perSampleShape[i] >= 0
                ? new TensorShapeProto.Types.Dimension { DimValue = perSampleShape[i] }
                : new TensorShapeProto.Types.Dimension { DimParam = prefix + (i == 0 ? "time" : $"dim_{i + 1}") });
        }

        dims.Insert(batchAxis, new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        var shape = new TensorShapeProto();
        shape.Dim.AddRange(dims);
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } },
        };
    }
}
