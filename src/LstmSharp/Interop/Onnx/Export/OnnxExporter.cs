using LstmSharp.Interop.Onnx.Proto;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using static LstmSharp.Interop.Onnx.OnnxGraphBuilder;

namespace LstmSharp.Interop.Onnx;

/// <summary>A tensor of the graph being written: its name, per-sample shape (batch excluded, -1 unknown), mask and element type.</summary>
/// <param name="Name">The ONNX value name.</param>
/// <param name="Shape">Per-sample shape, batch excluded.</param>
/// <param name="Mask">Name of a float 0/1 mask [batch, time], or null.</param>
/// <param name="IsInt64">True for int64 token ids (an Embedding's graph input).</param>
internal sealed record OnnxValue(string Name, int[] Shape, string? Mask = null, bool IsInt64 = false);

/// <summary>
/// Walks a Sequential or functional model in call order and writes each layer as ONNX nodes
/// (see <see cref="OnnxExport"/> for the graph's conventions). Recurrent layers are in
/// <c>OnnxExporter.Recurrent.cs</c>.
/// </summary>
internal sealed partial class OnnxExporter
{
    private const long BoolType = (long)TensorProto.Types.DataType.Bool;
    private const long FloatType = (long)TensorProto.Types.DataType.Float;
    private const long Int32Type = (long)TensorProto.Types.DataType.Int32;
    private const long Int64Type = (long)TensorProto.Types.DataType.Int64;

    private static readonly string SupportedLayers =
        "Dense, Activation, Dropout, Embedding, Masking, Flatten, Reshape, RepeatVector, Concatenate, Add, TimeDistributed, AxisSlice, ReverseTime, LSTM, GRU, SimpleRNN, Bidirectional, RNN(OnnxRecurrentCell), SequenceLengthMask, Conv1D, MaxPooling1D, AveragePooling1D, GlobalMaxPooling1D, GlobalAveragePooling1D, SpatialDropout1D, LayerNormalization, BatchNormalization, Attention, AdditiveAttention, MultiHeadAttention";

    private readonly Model model;
    private readonly OnnxExportOptions options;
    private readonly OnnxGraphBuilder g = new();
    private readonly Dictionary<string, string> lengthsOfMask = new(StringComparer.Ordinal);

    public OnnxExporter(Model model, OnnxExportOptions options)
    {
        this.model = model;
        this.options = options;
    }

    public ModelProto Export()
    {
        if (options.Opset < OnnxExport.MinOpset || options.Opset > OnnxExport.MaxOpset)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"ONNX export of model '{model.Name}': Opset must be in {OnnxExport.MinOpset}..{OnnxExport.MaxOpset}, got {options.Opset}.");
        }

        // Builds every layer from the declared shapes, or says why it cannot.
        _ = model.Parameters;
        switch (model)
        {
            case Sequential s:
                ExportSequential(s);
                break;
            case Functional f:
                ExportFunctional(f);
                break;
            default:
                throw new NotSupportedException($"ONNX export of model '{model.Name}': {model.GetType().Name} models are not supported; export a Sequential or Functional model.");
        }

        foreach (var (name, value) in stateOutputs)
        {
            AddGraphOutput(name, value);
        }

        g.Graph.Name = options.GraphName ?? model.Name;
        g.Graph.DocString = "Exported by LstmSharp. Masks become sequence_lens and must be right-padding (ones, then zeros).";
        var proto = new ModelProto
        {
            IrVersion = IrVersion(options.Opset),
            ProducerName = "LstmSharp",
            ProducerVersion = OnnxExport.ProducerVersion,
            Graph = g.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = options.Opset });
        return proto;
    }

    /// <summary>The oldest IR version that allows the opset (so older runtimes still load the file).</summary>
    private static long IrVersion(int opset) => opset switch
    {
        <= 14 => 7,
        <= 18 => 8,
        <= 20 => 9,
        _ => 10,
    };

    private void ExportSequential(Sequential s)
    {
        var layers = s.Layers;
        if (layers.Count == 0)
        {
            throw new InvalidOperationException($"ONNX export of Sequential '{s.Name}': the model has no layers.");
        }

        var shape = layers[0].InputShape ?? layers[0].BuiltInputShapes?[0]
            ?? throw new InvalidOperationException($"ONNX export of Sequential '{s.Name}': the input shape is unknown; give the first layer an inputShape or call the model once.");
        string name = layers[0] is InputLayer il ? il.Name : "input";
        var firstReal = layers.FirstOrDefault(l => l is not InputLayer);
        var value = AddGraphInput(name, shape, firstReal is Embedding, BatchAxis(s.InputBatchAxes, 0));
        foreach (var layer in layers)
        {
            var outs = Emit(layer, [value]);
            if (outs.Length != 1)
            {
                throw new NotSupportedException($"ONNX export of Sequential '{s.Name}': {layer} returns {outs.Length} tensors; a Sequential model needs one per layer.");
            }

            value = outs[0];
        }

        AddGraphOutput("output", value, BatchAxis(s.OutputBatchAxes, 0));
    }

    private void ExportFunctional(Functional f)
    {
        var values = new Dictionary<SymbolicTensor, OnnxValue>(ReferenceEqualityComparer.Instance);
        var nodes = f.GraphNodes;
        foreach (var input in f.InputTensors)
        {
            var consumers = nodes.Where(n => n.Inputs.Any(t => ReferenceEquals(t, input))).ToArray();
            bool tokens = consumers.Length > 0 && consumers.All(n => n.Layer is Embedding);
            values[input] = AddGraphInput(input.Node.Layer.Name, input.Shape, tokens, BatchAxis(f.InputBatchAxes, values.Count));
        }

        foreach (var node in nodes)
        {
            if (node.Layer is InputLayer)
            {
                continue;
            }

            var outs = Emit(node.Layer, node.Inputs.Select(t => values[t]).ToArray());
            for (int k = 0; k < node.Outputs.Length; k++)
            {
                values[node.Outputs[k]] = outs[k];
            }
        }

        var outputs = f.OutputTensors;
        for (int i = 0; i < outputs.Count; i++)
        {
            var t = outputs[i];
            string name = t.Node.Outputs.Length == 1 ? t.Node.Layer.Name : $"{t.Node.Layer.Name}/output_{t.Index}";
            if (outputs.Take(i).Any(o => ReferenceEquals(o, t)))
            {
                name = $"{name}/copy_{i}";
            }

            AddGraphOutput(name, values[t], BatchAxis(f.OutputBatchAxes, i));
        }
    }

    /// <summary>Where the samples are in model input/output <paramref name="index"/> (0 unless the model keeps a foreign layout, e.g. an imported seq-first graph).</summary>
    private static int BatchAxis(IReadOnlyList<int> axes, int index) => index < axes.Count ? axes[index] : 0;

    /// <summary>The Transpose permutation that moves axis <paramref name="from"/> to <paramref name="to"/>, the others keeping their order.</summary>
    private static long[] MoveAxis(int rank, int from, int to)
    {
        var order = Enumerable.Range(0, rank).Select(a => (long)a).ToList();
        order.RemoveAt(from);
        order.Insert(to, from);
        return order.ToArray();
    }

    private OnnxValue AddGraphInput(string name, int[] shape, bool tokens, int batchAxis = 0)
    {
        g.Reserve(name);
        g.Graph.Input.Add(ValueInfo(name, tokens ? OnnxTensorWriter.Int64 : OnnxTensorWriter.Float, shape, batchAxis, ownDims: g.Graph.Input.Count > 0));
        if (batchAxis == 0)
        {
            return new OnnxValue(name, shape, null, tokens);
        }

        // Layers see batch-major tensors, as inside LstmSharp.
        string moved = g.Node("Transpose", name + "/BatchFirst", [name], Attr("perm", MoveAxis(shape.Length + 1, batchAxis, 0)));
        return new OnnxValue(moved, shape, null, tokens);
    }

    private void AddGraphOutput(string name, OnnxValue value, int batchAxis = 0)
    {
        g.Reserve(name);
        if (batchAxis == 0)
        {
            g.NodeInto("Identity", name + "/identity", [value.Name], name);
        }
        else
        {
            g.NodeInto("Transpose", name + "/BatchBack", [value.Name], name, Attr("perm", MoveAxis(value.Shape.Length + 1, 0, batchAxis)));
        }

        g.Graph.Output.Add(ValueInfo(name, value.IsInt64 ? OnnxTensorWriter.Int64 : OnnxTensorWriter.Float, value.Shape, batchAxis, ownDims: true));
    }

    /// <summary>Writes one layer call; returns its outputs in the layer's order.</summary>
    private OnnxValue[] Emit(Layer layer, OnnxValue[] ins)
    {
        if (layer is InputLayer)
        {
            return ins;
        }

        var shapes = layer.ComputeOutputShapes(ins.Select(v => v.Shape).ToArray());
        switch (layer)
        {
            case Dense d:
                return [new OnnxValue(EmitDense(d, One(layer, ins)), shapes[0], ins[0].Mask)];
            case Activation a:
                return [new OnnxValue(EmitActivation(a.Function, One(layer, ins).Name, a.Name), shapes[0], ins[0].Mask)];
            case Dropout:
                return [One(layer, ins)];
            case Embedding e:
                return [EmitEmbedding(e, One(layer, ins), shapes[0])];
            case Masking m:
                return [EmitMasking(m, One(layer, ins), shapes[0])];
            case Flatten:
                return [new OnnxValue(g.Node("Flatten", layer.Name + "/Flatten", [One(layer, ins).Name], Attr("axis", 1L)), shapes[0])];
            case Reshape r:
                return [new OnnxValue(g.Node("Reshape", layer.Name + "/Reshape", [One(layer, ins).Name, g.Int64s([0, .. r.TargetShape.Select(d => (long)d)])]), shapes[0])];
            case RepeatVector rv:
                {
                    string u = g.Node("Unsqueeze", layer.Name + "/Unsqueeze", [One(layer, ins).Name, g.Int64s(1)]);
                    return [new OnnxValue(g.Node("Tile", layer.Name + "/Tile", [u, g.Int64s(1, rv.N, 1)]), shapes[0])];
                }

            case Concatenate c:
                return [EmitConcatenate(c, ins, shapes[0])];
            case Add:
                return [EmitAdd(layer, ins, shapes[0])];
            case TimeDistributed td:
                return [EmitTimeDistributed(td, One(layer, ins), shapes[0])];
            case RecurrentLayer rnn:
                return EmitRecurrentLayer(rnn, ins, shapes);
            case Bidirectional b:
                return EmitBidirectional(b, ins, shapes);
            case RNN { Cell: OnnxRecurrentCell cell } cellRnn:
                return EmitCellRnn(cellRnn, cell, ins, shapes);
            case SequenceLengthMask lengthMask:
                return [EmitSequenceLengthMask(lengthMask, ins, shapes[0])];
            case AxisSlice a:
                {
                    var x = One(layer, ins);
                    string y = g.Node("Slice", a.Name + "/Slice", [x.Name, g.Int64s(a.Start), g.Int64s(a.Stop), g.Int64s(a.Axis)]);
                    if (!a.KeepAxis)
                    {
                        y = g.Node("Squeeze", a.Name + "/Squeeze", [y, g.Int64s(a.Axis)]);
                    }

                    return [new OnnxValue(y, shapes[0])];
                }

            case ReverseTime rt:
                {
                    var x = One(layer, ins);
                    string? mask = x.Mask is null ? null : ReverseTimeAxis(x.Mask, rt.Name + "/mask");
                    return [new OnnxValue(ReverseTimeAxis(x.Name, rt.Name), shapes[0], mask)];
                }

            case AttentionBase attention:
                return EmitAttention(attention, ins, shapes);
            case MultiHeadAttention mha:
                return EmitMultiHeadAttention(mha, ins, shapes);
            case var conv when IsConvolutional(conv):
                return [EmitConvolutional(conv, One(layer, ins), shapes[0])];
            default:
                throw new NotSupportedException($"ONNX export: {layer} has no ONNX mapping (class {layer.ClassName}); supported layers: {SupportedLayers}.");
        }
    }

    private static OnnxValue One(Layer layer, OnnxValue[] ins) => ins.Length == 1
        ? ins[0]
        : throw new NotSupportedException($"ONNX export: {layer} is called on {ins.Length} inputs; expected 1.");

    private string EmitDense(Dense d, OnnxValue x)
    {
        var kernel = d.Kernel!.Value;
        string w = g.Weight(d.Name + "/kernel", [kernel.Dim(0), kernel.Dim(1)], kernel.Span);
        string? b = d.Bias is { } bias ? g.Weight(d.Name + "/bias", [bias.Value.Length], bias.Value.Span) : null;
        string y;
        if (x.Shape.Length == 1)
        {
            y = g.Node("Gemm", d.Name + "/Gemm", b is null ? [x.Name, w] : [x.Name, w, b]);
        }
        else
        {
            y = g.Node("MatMul", d.Name + "/MatMul", [x.Name, w]);
            if (b is not null)
            {
                y = g.Node("Add", d.Name + "/Add", [y, b]);
            }
        }

        return EmitActivation(d.Activation, y, d.Name);
    }

    /// <summary>A Keras activation by name after <paramref name="x"/> (linear writes nothing).</summary>
    private string EmitActivation(string? function, string x, string owner)
    {
        string f = (function ?? "linear").ToLowerInvariant();
        return f switch
        {
            "" or "linear" or "none" => x,
            "sigmoid" => g.Node("Sigmoid", owner + "/Sigmoid", [x]),
            "tanh" => g.Node("Tanh", owner + "/Tanh", [x]),
            "relu" => g.Node("Relu", owner + "/Relu", [x]),
            "elu" => g.Node("Elu", owner + "/Elu", [x], Attr("alpha", 1f)),
            "softsign" => g.Node("Softsign", owner + "/Softsign", [x]),
            "softplus" => g.Node("Softplus", owner + "/Softplus", [x]),
            "hard_sigmoid" or "hardsigmoid" => g.Node("HardSigmoid", owner + "/HardSigmoid", [x], Attr("alpha", 1f / 6f), Attr("beta", 0.5f)),
            "softmax" => g.Node("Softmax", owner + "/Softmax", [x], Attr("axis", -1L)),
            _ => throw new NotSupportedException($"ONNX export of '{owner}': activation '{function}' has no ONNX mapping."),
        };
    }

    private OnnxValue EmitEmbedding(Embedding e, OnnxValue x, int[] shape)
    {
        var table = e.Embeddings.Value;
        string w = g.Weight(e.Name + "/embeddings", [table.Dim(0), table.Dim(1)], table.Span);
        string ids = x.IsInt64 ? x.Name : g.Node("Cast", e.Name + "/CastIds", [x.Name], Attr("to", Int64Type));
        string y = g.Node("Gather", e.Name + "/Gather", [w, ids], Attr("axis", 0L));
        string? mask = null;
        if (e.MaskZero)
        {
            string eq = g.Node("Equal", e.Name + "/IsPadding", [ids, g.Int64Scalar(e.Name + "/zero", 0)]);
            string not = g.Node("Not", e.Name + "/NotPadding", [eq]);
            mask = g.Node("Cast", e.Name + "/Mask", [not], Attr("to", FloatType));
        }

        return new OnnxValue(y, shape, mask);
    }

    private OnnxValue EmitMasking(Masking m, OnnxValue x, int[] shape)
    {
        string eq = g.Node("Equal", m.Name + "/IsMaskValue", [x.Name, g.FloatScalar(m.Name + "/mask_value", m.MaskValue)]);
        string ne = g.Node("Cast", m.Name + "/Differs", [g.Node("Not", m.Name + "/Not", [eq])], Attr("to", FloatType));
        string count = g.Node("ReduceSum", m.Name + "/CountDiffering", [ne, g.Int64s(-1)], Attr("keepdims", 0L));
        string any = g.Node("Greater", m.Name + "/AnyDiffering", [count, g.FloatScalar(m.Name + "/zero", 0f)]);
        string mask = g.Node("Cast", m.Name + "/Mask", [any], Attr("to", FloatType));
        string y = g.Node("Mul", m.Name + "/ZeroMasked", [x.Name, g.Node("Unsqueeze", m.Name + "/MaskPerFeature", [mask, g.Int64s(-1)])]);
        return new OnnxValue(y, shape, mask);
    }

    private OnnxValue EmitConcatenate(Concatenate c, OnnxValue[] ins, int[] shape)
    {
        int rank = ins[0].Shape.Length + 1;
        int axis = c.Axis < 0 ? c.Axis + rank : c.Axis;
        string y = g.Node("Concat", c.Name + "/Concat", ins.Select(v => v.Name), Attr("axis", (long)axis));
        string? mask = null;
        if (ins.Any(v => v.Mask is not null))
        {
            if (axis != rank - 1 || rank < 3)
            {
                throw new NotSupportedException($"ONNX export: {c} joins masked inputs along axis {c.Axis}; only masks of inputs joined along the feature axis (the last) are exported.");
            }

            // Keras: a step is kept when any input keeps it; an input without a mask keeps every step.
            if (ins.All(v => v.Mask is not null))
            {
                mask = ins.Length == 1 ? ins[0].Mask : g.Node("Max", c.Name + "/MaskAny", ins.Select(v => v.Mask!));
            }
        }

        return new OnnxValue(y, shape, mask);
    }

    private OnnxValue EmitAdd(Layer layer, OnnxValue[] ins, int[] shape)
    {
        string y = ins.Length == 1 ? ins[0].Name : g.Node("Sum", layer.Name + "/Sum", ins.Select(v => v.Name));
        var masks = ins.Where(v => v.Mask is not null).Select(v => v.Mask!).ToArray();
        string? mask = masks.Length switch
        {
            0 => null,
            1 => masks[0],
            _ => masks.Skip(1).Aggregate(masks[0], (a, m) => g.Node("Mul", layer.Name + "/MaskAll", [a, m])),
        };
        return new OnnxValue(y, shape, mask);
    }

    private OnnxValue EmitTimeDistributed(TimeDistributed td, OnnxValue x, int[] shape)
    {
        if (td.Inner is Dense or Activation or Dropout)
        {
            // Position-wise layers apply to [batch, time, ...] as they are.
            var y = Emit(td.Inner, [x with { Mask = null }])[0];
            return new OnnxValue(y.Name, shape, x.Mask);
        }

        if (td.Inner is RecurrentLayer or Bidirectional || x.Shape.Skip(1).Any(d => d < 0))
        {
            throw new NotSupportedException($"ONNX export: {td} wraps {td.Inner} on per-step shape {LstmSharp.Tensors.Tensor.FormatShape(x.Shape)}; only layers of fixed per-step shape without time are exported.");
        }

        // Fold time into the batch, run the inner layer, unfold.
        string folded = g.Node("Reshape", td.Name + "/FoldTime", [x.Name, g.Int64s([-1, .. x.Shape.Skip(1).Select(d => (long)d)])]);
        var inner = Emit(td.Inner, [new OnnxValue(folded, x.Shape.Skip(1).ToArray(), null, x.IsInt64)])[0];
        string batchTime = g.Node("Slice", td.Name + "/BatchTime", [g.Node("Shape", td.Name + "/Shape", [x.Name]), g.Int64s(0), g.Int64s(2)]);
        string target = g.Node("Concat", td.Name + "/UnfoldShape", [batchTime, g.Int64s(inner.Shape.Select(d => (long)d).ToArray())], Attr("axis", 0L));
        string unfolded = g.Node("Reshape", td.Name + "/UnfoldTime", [inner.Name, target]);
        return new OnnxValue(unfolded, shape, x.Mask, inner.IsInt64);
    }
}
