using System.Globalization;
using LstmSharp.Interop.Onnx.Proto;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;

namespace LstmSharp.Interop.Onnx;

/// <summary>
/// Turns an ONNX graph into a <see cref="Functional"/> model. Values are of four kinds:
/// constants (initializers, Constant nodes, bound inputs, and everything computed from them
/// only, folded here), shapes of run-time tensors (partly symbolic: batch and time sizes are
/// known only when the model runs), zero tensors of such shapes (torch.onnx's initial states),
/// and run-time tensors, each a layer output kept batch-major with the position of the batch
/// axis in ONNX's layout remembered — so Transpose nodes around a recurrent node cost nothing,
/// and the model's inputs and outputs keep the graph's layout (<see cref="Model.InputBatchAxes"/>).
/// </summary>
internal sealed partial class OnnxImporter
{
    /// <summary>The symbol of the batch size in partly symbolic shapes.</summary>
    private const long BatchSymbol = -2;

    /// <summary>Most elements a folded constant may have (ConstantOfShape, Expand, Range...).</summary>
    private const long MaxFoldedElements = 1L << 24;

    private readonly string? file;
    private readonly GraphProto graph;
    private readonly long opset;
    private readonly Dictionary<string, Value> values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> uses = new(StringComparer.Ordinal);
    private readonly Dictionary<SymbolicTensor, PendingDense> pendingDense = new(ReferenceEqualityComparer.Instance);
    private long nextSymbol = -3;

    private OnnxImporter(string? file, GraphProto graph, long opset)
    {
        this.file = file;
        this.graph = graph;
        this.opset = opset;
    }

    public static Model Import(byte[] bytes, string? file, IReadOnlyDictionary<string, Tensor>? constants)
    {
        var model = OnnxModelReader.Parse(bytes, file);
        long opset = 0;
        foreach (var o in model.OpsetImport)
        {
            if (o.Domain is "" or "ai.onnx")
            {
                opset = o.Version;
            }
        }

        if (opset == 0)
        {
            // IR version 3 and later always declare the default opset; assume the oldest with RNNs.
            opset = 7;
        }

        var importer = new OnnxImporter(file, model.Graph, opset);
        return importer.Run(constants ?? new Dictionary<string, Tensor>(), model.Graph.Name);
    }

    private abstract class Value
    {
    }

    /// <summary>A constant tensor.</summary>
    private sealed class Const(OnnxConstant c) : Value
    {
        public OnnxConstant C { get; } = c;
    }

    /// <summary>A 0-D or 1-D integer tensor computed from run-time shapes: known entries &gt;= 0, symbols &lt; 0.</summary>
    private sealed class ShapeVal(long[] items, bool scalar) : Value
    {
        public long[] Items { get; } = items;

        public bool Scalar { get; } = scalar;
    }

    /// <summary>A tensor of zeros of a partly symbolic shape (ConstantOfShape with value 0).</summary>
    private sealed class Zeros(long[] dims) : Value
    {
        public long[] Dims { get; } = dims;
    }

    /// <summary>A run-time tensor: <see cref="T"/> is batch-major, <see cref="Dims"/> is its ONNX shape with the batch at <see cref="BatchAxis"/>.</summary>
    private sealed class Dyn(SymbolicTensor t, int batchAxis, long[] dims) : Value
    {
        public SymbolicTensor T { get; } = t;

        public int BatchAxis { get; } = batchAxis;

        public long[] Dims { get; } = dims;

        public int Rank => Dims.Length;
    }

    /// <summary>A Dense created for MatMul / Gemm whose bias may still come from a following Add.</summary>
    private sealed class PendingDense(Dense layer, string output)
    {
        public Dense Layer { get; } = layer;

        public string Output { get; } = output;
    }

    private Model Run(IReadOnlyDictionary<string, Tensor> constants, string graphName)
    {
        foreach (var init in graph.Initializer)
        {
            if (string.IsNullOrEmpty(init.Name))
            {
                throw Format("an initializer has no name.");
            }

            if (!values.TryAdd(init.Name, new Const(OnnxTensorReader.Read(init, file, "initializer"))))
            {
                throw Format($"two initializers are named '{Short(init.Name)}'.");
            }
        }

        if (graph.SparseInitializer.Count > 0)
        {
            throw Unsupported($"the graph has {graph.SparseInitializer.Count} sparse initializers; only dense tensors are supported.");
        }

        var graphInputNames = graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, tensor) in constants)
        {
            if (!graphInputNames.Contains(name))
            {
                throw new ArgumentException($"ONNX '{file ?? "<memory>"}': no graph input is named '{name}' (inputs: {string.Join(", ", graph.Input.Select(i => i.Name))}).", nameof(constants));
            }

            values[name] = new Const(OnnxTensorReader.FromTensor(tensor));
        }

        foreach (var node in graph.Node)
        {
            foreach (var i in node.Input)
            {
                uses[i] = uses.GetValueOrDefault(i) + 1;
            }
        }

        foreach (var o in graph.Output)
        {
            uses[o.Name] = uses.GetValueOrDefault(o.Name) + 1;
        }

        var modelInputs = new List<SymbolicTensor>();
        var inputAxes = new List<int>();
        foreach (var input in graph.Input)
        {
            if (values.ContainsKey(input.Name))
            {
                continue;
            }

            if (string.IsNullOrEmpty(input.Name))
            {
                throw Format("a graph input has no name.");
            }

            var (dims, elemType) = InputShape(input);
            if (dims.Length == 0)
            {
                // Found by afl-fuzz: a rank-0 input indexed its missing batch axis (IndexOutOfRangeException).
                throw Unsupported($"graph input '{Short(input.Name)}' is a scalar (rank 0); a model input needs a batch axis.");
            }

            int batchAxis = Math.Min(InferBatchAxis(input.Name, 0), dims.Length - 1);
            dims[batchAxis] = BatchSymbol;
            var perSample = dims.Where((_, a) => a != batchAxis).Select(d => d >= 0 ? checked((int)d) : -1).ToArray();
            if (perSample.Any(d => d == 0))
            {
                throw Unsupported($"graph input '{Short(input.Name)}' has a zero-sized dimension.");
            }

            if (!OnnxTensorReader.IsFloatType(elemType) && elemType is not (int)TensorProto.Types.DataType.Int64 and not (int)TensorProto.Types.DataType.Int32
                and not (int)TensorProto.Types.DataType.Uint8 and not (int)TensorProto.Types.DataType.Int8 and not (int)TensorProto.Types.DataType.Int16 and not (int)TensorProto.Types.DataType.Uint16 and not (int)TensorProto.Types.DataType.Bool)
            {
                throw Unsupported($"graph input '{Short(input.Name)}' has element type {OnnxTensorReader.TypeName(elemType)}; supported: floating point and integer tensors.");
            }

            var sym = Input.Create(perSample, SafeName(input.Name));
            modelInputs.Add(sym);
            inputAxes.Add(batchAxis);
            values[input.Name] = new Dyn(sym, batchAxis, dims);
        }

        if (modelInputs.Count == 0)
        {
            throw Unsupported("every graph input is a constant; the model needs at least one run-time input.");
        }

        foreach (var node in graph.Node)
        {
            try
            {
                ImportNode(node);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or OverflowException or KeyNotFoundException)
            {
                // A layer refused the sizes or values the node carries (e.g. a dimension of 0).
                throw new OnnxFormatException(file, $"node {NodeText(node)}: its values do not form a valid layer: {e.Message}", e);
            }
        }

        var outputs = new List<SymbolicTensor>();
        var outputAxes = new List<int>();
        foreach (var o in graph.Output)
        {
            var v = Get(o.Name, $"graph output '{Short(o.Name)}'");
            if (v is MaskVal mv)
            {
                throw Unsupported($"graph output '{Short(o.Name)}' is a padding mask computed from {mv.Padding.Text}; such outputs are not supported.");
            }

            if (v is not Dyn d)
            {
                throw Unsupported($"graph output '{Short(o.Name)}' does not depend on any graph input (it is {Describe(v)}); such outputs are not supported.");
            }

            outputs.Add(d.T);
            outputAxes.Add(d.BatchAxis);
        }

        if (outputs.Count == 0)
        {
            throw Format("the graph has no outputs.");
        }

        try
        {
            return new Functional(modelInputs, outputs, string.IsNullOrEmpty(graphName) ? null : SafeName(graphName)).WithBatchAxes(inputAxes, outputAxes);
        }
        catch (ArgumentException e)
        {
            throw Unsupported($"the graph does not form a model: {e.Message}");
        }
    }

    private (long[] Dims, int ElemType) InputShape(ValueInfoProto input)
    {
        if (input.Type?.TensorType is not { } tt)
        {
            throw Unsupported($"graph input '{Short(input.Name)}' is not a tensor.");
        }

        if (tt.Shape is null)
        {
            throw Unsupported($"graph input '{Short(input.Name)}' has no declared shape (its rank is needed).");
        }

        var dims = new long[tt.Shape.Dim.Count];
        for (int a = 0; a < dims.Length; a++)
        {
            var d = tt.Shape.Dim[a];
            dims[a] = d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0 ? d.DimValue : nextSymbol--;
            if (d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > int.MaxValue)
            {
                throw Format($"graph input '{Short(input.Name)}' declares dimension {d.DimValue}.");
            }
        }

        return (dims, tt.ElemType);
    }

    /// <summary>
    /// Which axis of a graph input holds the batch: found by following the value forward to a
    /// recurrent node (layout 0: axis 1 of X; layout 1: axis 0) through Transpose, Gather
    /// (embedding lookups) and elementwise nodes. Inputs that reach none are batch-major.
    /// </summary>
    private int InferBatchAxis(string name, int depth)
    {
        if (depth > 64)
        {
            return 0;
        }

        foreach (var node in graph.Node)
        {
            int index = node.Input.IndexOf(name);
            if (index < 0 || node.Output.Count == 0)
            {
                continue;
            }

            switch (node.OpType)
            {
                case "LSTM" or "GRU" or "RNN" when index is 0 or 5 or 6:
                    // X [T, B, F] and initial states [dirs, B, H]; layout 1: [B, T, F] and [B, dirs, H].
                    return AttrInt(node, "layout", 0) == 1 ? 0 : 1;
                case "LSTM" or "GRU" or "RNN" when index == 4:
                    return 0;
                case "Transpose" when index == 0:
                {
                    int rank = node.Attribute.FirstOrDefault(a => a.Name == "perm")?.Ints.Count ?? 0;
                    int outAxis = InferBatchAxis(node.Output[0], depth + 1);
                    var perm = node.Attribute.FirstOrDefault(a => a.Name == "perm")?.Ints;
                    if (perm is not null && outAxis < rank && perm[outAxis] >= 0 && perm[outAxis] < rank)
                    {
                        return (int)perm[outAxis];
                    }

                    break;
                }

                case "Gather" when index == 1:
                case "Identity" or "Cast" or "Dropout" or "Relu" or "Tanh" or "Sigmoid" when index == 0:
                    return InferBatchAxis(node.Output[0], depth + 1);
            }
        }

        return 0;
    }

    private void ImportNode(NodeProto node)
    {
        if (node.Domain is not ("" or "ai.onnx"))
        {
            throw UnsupportedNode(node, $"operator domain '{Short(node.Domain)}' is not the ONNX default domain");
        }

        var inputs = node.Input.Select(n => string.IsNullOrEmpty(n) ? null : Get(n, $"node {NodeText(node)} input '{Short(n)}'")).ToArray();
        if (node.Output.Count == 0)
        {
            throw Format($"node {NodeText(node)} has no outputs.");
        }

        Value[] results;
        if (node.OpType is "LSTM" or "GRU" or "RNN")
        {
            results = ImportRecurrent(node, inputs);
        }
        else if (node.OpType == "Constant")
        {
            results = [new Const(ConstantNode(node))];
        }
        else if (inputs.Any(v => v is MaskVal))
        {
            results = ImportMaskOp(node, inputs);
        }
        else if (inputs.All(v => v is null or Const))
        {
            results = [new Const(Fold(node, inputs.Select(v => ((Const?)v)?.C).ToArray()))];
        }
        else if (inputs.Any(v => v is Dyn))
        {
            results = ImportDynamic(node, inputs);
        }
        else
        {
            results = ImportShapeOp(node, inputs);
        }

        for (int k = 0; k < node.Output.Count && k < results.Length; k++)
        {
            if (!string.IsNullOrEmpty(node.Output[k]))
            {
                values[node.Output[k]] = results[k];
            }
        }
    }

    private Value Get(string name, string what) =>
        values.TryGetValue(name, out var v) ? v : throw Format($"{what} is used before it is defined (or never defined); nodes must be in topological order.");

    private OnnxConstant ConstantNode(NodeProto node)
    {
        var a = node.Attribute.FirstOrDefault() ?? throw Format($"node {NodeText(node)} (Constant) has no value attribute.");
        return a.Name switch
        {
            "value" when a.T is not null => OnnxTensorReader.Read(a.T, file, $"node {NodeText(node)} value"),
            "value_float" => new OnnxConstant([], [a.F]),
            "value_floats" => new OnnxConstant([a.Floats.Count], a.Floats.ToArray()),
            "value_int" => new OnnxConstant([], [a.I]),
            "value_ints" => new OnnxConstant([a.Ints.Count], a.Ints.ToArray()),
            _ => throw UnsupportedNode(node, $"Constant attribute '{Short(a.Name)}' is not supported"),
        };
    }

    // ---- helpers -------------------------------------------------------------------------

    private static string SafeName(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_').Take(60).ToArray();
        string s = new string(chars).Trim('_');
        return s.Length == 0 || !char.IsAsciiLetter(s[0]) ? "onnx_" + s : s;
    }

    private static string Short(string? name) => OnnxImportException.Shorten(name);

    private static string NodeText(NodeProto node) => $"'{Short(string.IsNullOrEmpty(node.Name) ? node.Output.FirstOrDefault() : node.Name)}' ({Short(node.OpType)})";

    private static string Describe(Value v) => v switch
    {
        Const c => $"a constant {c.C.ShapeText}",
        ShapeVal => "a shape",
        Zeros => "a zero tensor",
        MaskVal m => $"a padding mask of {m.Padding.Text}",
        _ => "a run-time tensor",
    };

    private OnnxFormatException Format(string problem) => new(file, problem);

    private OnnxUnsupportedException Unsupported(string problem, IReadOnlyList<string>? nodes = null) => new(file, problem, nodes);

    private OnnxUnsupportedException UnsupportedNode(NodeProto node, string why) =>
        new(file, $"cannot map node {NodeText(node)}: {why}.", [NodeText(node)]);

    private static AttributeProto? Attr(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);

    private static long AttrInt(NodeProto node, string name, long fallback) => Attr(node, name) is { } a ? a.I : fallback;

    private static float AttrFloat(NodeProto node, string name, float fallback) => Attr(node, name) is { } a ? a.F : fallback;

    private static string AttrString(NodeProto node, string name, string fallback) => Attr(node, name) is { } a ? a.S.ToStringUtf8() : fallback;

    private static long[]? AttrInts(NodeProto node, string name) => Attr(node, name)?.Ints.ToArray();

    private int NormAxis(NodeProto node, long axis, int rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
        {
            throw Format($"node {NodeText(node)}: axis {axis} is out of range for rank {rank}.");
        }

        return (int)a;
    }

    private static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
