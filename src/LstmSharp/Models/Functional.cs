using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Tensors;

namespace LstmSharp.Models;

/// <summary>
/// A placeholder for a batch of tensors in a functional model (Keras's symbolic <c>KerasTensor</c>):
/// it knows its per-sample shape and which layer call produced it. Made by <see cref="Input.Create"/>
/// and by applying layers to other symbolic tensors.
/// </summary>
public sealed class SymbolicTensor
{
    internal SymbolicTensor(GraphNode node, int index, int[] shape)
    {
        Node = node;
        Index = index;
        Shape = shape;
    }

    /// <summary>Per-sample shape (batch excluded; -1 = unknown).</summary>
    public int[] Shape { get; }

    internal GraphNode Node { get; }

    internal int Index { get; }

    public override string ToString() => $"SymbolicTensor {SummaryTable.FormatShape([null, .. Shape.Select(d => d < 0 ? (int?)null : d)])} from {Node.Layer}";
}

/// <summary>One call of a layer in a functional graph.</summary>
internal sealed class GraphNode
{
    public GraphNode(Layer layer, SymbolicTensor[] inputs, int[][] outputShapes)
    {
        Layer = layer;
        Inputs = inputs;
        Outputs = outputShapes.Select((s, i) => new SymbolicTensor(this, i, s)).ToArray();
    }

    public Layer Layer { get; }

    public SymbolicTensor[] Inputs { get; }

    public SymbolicTensor[] Outputs { get; }
}

/// <summary>Keras <c>keras.Input(shape)</c>: the entry point of a functional model.</summary>
public static class Input
{
    /// <summary>A symbolic input of per-sample <paramref name="shape"/> (batch excluded; -1 = variable, e.g. time).</summary>
    public static SymbolicTensor Create(int[] shape, string? name = null, int? batchSize = null)
    {
        var layer = new InputLayer(shape, batchSize, name);
        return new GraphNode(layer, [], [layer.Shape]).Outputs[0];
    }
}

/// <summary>Applying layers to symbolic tensors builds the graph of a functional model.</summary>
public static class FunctionalApi
{
    /// <summary>Calls a single-output layer on symbolic inputs (Keras <c>layer(x)</c>).</summary>
    public static SymbolicTensor Apply(this Layer layer, params SymbolicTensor[] inputs)
    {
        var outputs = layer.ApplyAll(inputs);
        if (outputs.Length != 1)
        {
            throw new InvalidOperationException($"{layer}: returns {outputs.Length} tensors; use ApplyAll to get all of them.");
        }

        return outputs[0];
    }

    /// <summary>Calls a layer on symbolic inputs and returns all its outputs (e.g. LSTM with returnState: [output, h, c]).</summary>
    public static SymbolicTensor[] ApplyAll(this Layer layer, params SymbolicTensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Length == 0)
        {
            throw new ArgumentException($"{layer}: called on no inputs.");
        }

        var shapes = inputs.Select(t => t.Shape).ToArray();
        if (!layer.Built)
        {
            layer.Build(shapes);
        }

        var outputShapes = layer.ComputeOutputShapes(shapes).ToArray();
        return new GraphNode(layer, inputs, outputShapes).Outputs;
    }
}

/// <summary>
/// A model defined by a graph of layer calls from <see cref="Input"/>s to outputs (Keras's
/// functional API), e.g. an encoder-decoder whose encoder LSTM's final states initialise the
/// decoder LSTM. Layers may be shared between calls.
/// </summary>
public sealed class Functional : Model
{
    private readonly SymbolicTensor[] inputs;
    private readonly SymbolicTensor[] outputs;
    private readonly List<GraphNode> nodes = [];
    private readonly List<Layer> layers = [];
    private int[] inputBatchAxes;
    private int[] outputBatchAxes;

    public Functional(SymbolicTensor input, SymbolicTensor output, string? name = null)
        : this([input], [output], name)
    {
    }

    public Functional(IReadOnlyList<SymbolicTensor> inputs, IReadOnlyList<SymbolicTensor> outputs, string? name = null)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        if (inputs.Count == 0 || outputs.Count == 0)
        {
            throw new ArgumentException($"Functional '{Name}': needs at least one input and one output.");
        }

        foreach (var i in inputs)
        {
            if (i.Node.Layer is not InputLayer)
            {
                throw new ArgumentException($"Functional '{Name}': input {i} is not made by Input.Create.");
            }
        }

        this.inputs = inputs.ToArray();
        this.outputs = outputs.ToArray();
        inputBatchAxes = new int[this.inputs.Length];
        outputBatchAxes = new int[this.outputs.Length];
        var visited = new HashSet<GraphNode>(ReferenceEqualityComparer.Instance);
        foreach (var o in this.outputs)
        {
            Visit(o.Node, visited, new HashSet<GraphNode>(ReferenceEqualityComparer.Instance));
        }

        foreach (var node in nodes)
        {
            if (node.Layer is InputLayer && !this.inputs.Any(i => ReferenceEquals(i.Node, node)))
            {
                throw new ArgumentException($"Functional '{Name}': the outputs depend on {node.Layer}, which is not among the model's inputs.");
            }

            if (node.Layer is not InputLayer && !layers.Contains(node.Layer))
            {
                layers.Add(node.Layer);
            }
        }
    }

    public override IReadOnlyList<Layer> Layers => layers;

    public override int InputCount => inputs.Length;

    protected override int[]? DeclaredInputShape => inputs.Length == 1 ? inputs[0].Shape : null;

    /// <inheritdoc/>
    /// <remarks>Settable once at construction (an importer keeping a foreign layout sets it); one entry per input, each at most the input's rank.</remarks>
    public override IReadOnlyList<int> InputBatchAxes => inputBatchAxes;

    /// <inheritdoc/>
    public override IReadOnlyList<int> OutputBatchAxes => outputBatchAxes;

    /// <summary>Sets <see cref="InputBatchAxes"/> and <see cref="OutputBatchAxes"/> (one entry per input / output, each in [0, per-sample rank]).</summary>
    public Functional WithBatchAxes(IReadOnlyList<int> inputAxes, IReadOnlyList<int> outputAxes)
    {
        inputBatchAxes = CheckAxes(inputAxes, inputs, "input");
        outputBatchAxes = CheckAxes(outputAxes, outputs, "output");
        return this;
    }

    private int[] CheckAxes(IReadOnlyList<int> axes, SymbolicTensor[] tensors, string what)
    {
        ArgumentNullException.ThrowIfNull(axes);
        if (axes.Count != tensors.Length)
        {
            throw new ArgumentException($"Functional '{Name}': expected {tensors.Length} {what} batch axes, got {axes.Count}.");
        }

        for (int i = 0; i < axes.Count; i++)
        {
            if (axes[i] < 0 || axes[i] > tensors[i].Shape.Length)
            {
                throw new ArgumentException($"Functional '{Name}': {what} {i} has {tensors[i].Shape.Length + 1} axes, so its batch axis must be in [0, {tensors[i].Shape.Length}], got {axes[i]}.");
            }
        }

        return axes.ToArray();
    }

    /// <summary>The model's input tensors (for exporters that walk the graph).</summary>
    internal IReadOnlyList<SymbolicTensor> InputTensors => inputs;

    /// <summary>The model's output tensors.</summary>
    internal IReadOnlyList<SymbolicTensor> OutputTensors => outputs;

    /// <summary>Every layer call, inputs first, each after the calls it reads from.</summary>
    internal IReadOnlyList<GraphNode> GraphNodes => nodes;

    /// <summary>Per-sample shapes of the inputs.</summary>
    public IReadOnlyList<int[]> InputShapes => inputs.Select(i => i.Shape).ToArray();

    /// <summary>Per-sample shapes of the outputs.</summary>
    public IReadOnlyList<int[]> OutputShapes => outputs.Select(o => o.Shape).ToArray();

    protected override string DefaultNamePrefix => "functional";

    protected override bool IsFunctional => true;

    protected override IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> batch, bool training)
    {
        var values = new Dictionary<SymbolicTensor, (Tensor Value, Tensor? Mask)>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < inputs.Length; i++)
        {
            var layer = (InputLayer)inputs[i].Node.Layer;
            values[inputs[i]] = (layer.Apply(batch[i], training), null);
        }

        foreach (var node in nodes)
        {
            if (node.Layer is InputLayer)
            {
                continue;
            }

            var ins = node.Inputs.Select(t => values[t]).ToArray();
            var outs = node.Layer.Apply(ins.Select(v => v.Value).ToArray(), ins.Select(v => v.Mask).ToArray(), training, out var masks);
            for (int k = 0; k < node.Outputs.Length; k++)
            {
                values[node.Outputs[k]] = (outs[k], k < masks.Count ? masks[k] : null);
            }
        }

        return outputs.Select(o => values[o].Value).ToArray();
    }

    protected override void EnsureBuilt()
    {
        // Layers are built as the graph is constructed.
    }

    protected override IReadOnlyList<SummaryRow> SummaryRows()
    {
        var rows = new List<SummaryRow>();
        foreach (var node in nodes)
        {
            string shape = node.Outputs.Length == 1
                ? FormatShape(node.Outputs[0].Shape)
                : "[" + string.Join(", ", node.Outputs.Select(o => FormatShape(o.Shape))) + "]";
            string connected = string.Join(", ", node.Inputs.Select(t => $"{t.Node.Layer.Name}[{NodeIndexOf(t.Node)}][{t.Index}]"));
            long count = node.Layer is InputLayer || IsRepeatCall(node) ? 0 : node.Layer.CountParams();
            rows.Add(new SummaryRow(node.Layer.Name, node.Layer.ClassName, shape, count, connected));
        }

        return rows;
    }

    public override JsonObject GetConfig()
    {
        var layerEntries = new JsonArray();
        var seen = new HashSet<Layer>(ReferenceEqualityComparer.Instance);
        foreach (var node in nodes.Where(n => seen.Add(n.Layer)))
        {
            layerEntries.Add(LayerRegistry.ToEntry(node.Layer));
        }

        var nodeEntries = new JsonArray();
        foreach (var node in nodes)
        {
            nodeEntries.Add(new JsonObject
            {
                ["layer"] = node.Layer.Name,
                ["inputs"] = new JsonArray(node.Inputs.Select(t => (JsonNode)Ref(t)).ToArray()),
            });
        }

        var result = new JsonObject
        {
            ["class_name"] = "Functional",
            ["config"] = new JsonObject
            {
                ["name"] = Name,
                ["layers"] = layerEntries,
                ["nodes"] = nodeEntries,
                ["inputs"] = new JsonArray(inputs.Select(t => (JsonNode)Ref(t)).ToArray()),
                ["outputs"] = new JsonArray(outputs.Select(t => (JsonNode)Ref(t)).ToArray()),
            },
        };
        if (inputBatchAxes.Any(a => a != 0) || outputBatchAxes.Any(a => a != 0))
        {
            var c = (JsonObject)result["config"]!;
            c["input_batch_axes"] = new JsonArray(inputBatchAxes.Select(a => (JsonNode)a).ToArray());
            c["output_batch_axes"] = new JsonArray(outputBatchAxes.Select(a => (JsonNode)a).ToArray());
        }

        return result;
    }

    internal static new Functional FromConfig(JsonObject config)
    {
        var layerList = config["layers"] as JsonArray ?? throw new ArgumentException("Functional config: missing 'layers'.");
        var byName = new Dictionary<string, Layer>(StringComparer.Ordinal);
        foreach (var entry in layerList)
        {
            var layer = LayerRegistry.FromEntry(entry);
            if (!byName.TryAdd(layer.Name, layer))
            {
                throw new ArgumentException($"Functional config: two layers are named '{layer.Name}'.");
            }
        }

        var nodeList = config["nodes"] as JsonArray ?? throw new ArgumentException("Functional config: missing 'nodes'.");
        var built = new List<SymbolicTensor[]>();
        foreach (var n in nodeList)
        {
            var obj = n as JsonObject ?? throw new ArgumentException("Functional config: a node is not an object.");
            string layerName = OptionalString(obj, "layer", "a node's") ?? throw new ArgumentException("Functional config: a node has no 'layer'.");
            var layer = byName.TryGetValue(layerName, out var l) ? l : throw new ArgumentException($"Functional config: node refers to unknown layer '{layerName}'.");
            var ins = (obj["inputs"] switch
            {
                null => new JsonArray(),
                JsonArray a => a,
                var other => throw new ArgumentException($"Functional config: node '{layerName}' has inputs {Short(other)}, expected a list of [node, index]."),
            }).Select(r => Resolve(r, built)).ToArray();
            if (layer is InputLayer input)
            {
                built.Add(new GraphNode(input, [], [input.Shape]).Outputs);
            }
            else
            {
                built.Add(layer.ApplyAll(ins));
            }
        }

        var modelInputs = (config["inputs"] as JsonArray ?? throw new ArgumentException("Functional config: missing 'inputs'.")).Select(r => Resolve(r, built)).ToArray();
        var modelOutputs = (config["outputs"] as JsonArray ?? throw new ArgumentException("Functional config: missing 'outputs'.")).Select(r => Resolve(r, built)).ToArray();
        var model = new Functional(modelInputs, modelOutputs, OptionalString(config, "name", "the model's"));
        if (config["input_batch_axes"] is JsonArray ia && config["output_batch_axes"] is JsonArray oa)
        {
            model.WithBatchAxes(Integers(ia, "input_batch_axes"), Integers(oa, "output_batch_axes"));
        }

        return model;
    }

    private static SymbolicTensor Resolve(JsonNode? reference, List<SymbolicTensor[]> built)
    {
        // Checked shape by shape: a hostile file may put anything (null, text, 1e300) where an index belongs.
        if (reference is not JsonArray { Count: >= 2 } arr || !TryIndex(arr[0], out int node) || !TryIndex(arr[1], out int index))
        {
            throw new ArgumentException($"Functional config: a tensor reference is {Short(reference)}, expected [node, index] (two non-negative integers).");
        }

        if ((uint)node >= (uint)built.Count || (uint)index >= (uint)built[node].Length)
        {
            throw new ArgumentException($"Functional config: tensor reference [{node}, {index}] points outside the {built.Count} nodes defined before it.");
        }

        return built[node][index];
    }

    private static bool TryIndex(JsonNode? n, out int value)
    {
        value = -1;
        return n is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number && v.TryGetValue(out value) && value >= 0;
    }

    private static string? OptionalString(JsonObject obj, string key, string what) => obj[key] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String => v.GetValue<string>(),
        var other => throw new ArgumentException($"Functional config: {what} '{key}' is {Short(other)}, expected a string."),
    };

    private static int[] Integers(JsonArray list, string key) => list
        .Select(n => n is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number && v.TryGetValue(out int i)
            ? i
            : throw new ArgumentException($"Functional config: '{key}' holds {Short(n)}, expected integers."))
        .ToArray();

    private static string Short(JsonNode? node)
    {
        string text = node?.ToJsonString() ?? "null";
        return text.Length <= 60 ? text : text[..60] + "...";
    }

    private static string FormatShape(int[] shape) => SummaryTable.FormatShape([null, .. shape.Select(d => d < 0 ? (int?)null : d)]);

    private JsonArray Ref(SymbolicTensor t) => new(nodes.IndexOf(t.Node), t.Index);

    private int NodeIndexOf(GraphNode node) => nodes.Where(n => ReferenceEquals(n.Layer, node.Layer)).ToList().IndexOf(node);

    private bool IsRepeatCall(GraphNode node) => NodeIndexOf(node) > 0;

    private void Visit(GraphNode node, HashSet<GraphNode> done, HashSet<GraphNode> path)
    {
        if (done.Contains(node))
        {
            return;
        }

        if (!path.Add(node))
        {
            throw new ArgumentException($"Functional '{Name}': the graph has a cycle through {node.Layer}.");
        }

        foreach (var i in node.Inputs)
        {
            Visit(i.Node, done, path);
        }

        path.Remove(node);
        done.Add(node);
        nodes.Add(node);
    }
}
