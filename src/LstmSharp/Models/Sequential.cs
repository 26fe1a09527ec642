using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Tensors;

namespace LstmSharp.Models;

/// <summary>
/// A linear stack of layers (Keras <c>Sequential</c>). The first layer's <c>inputShape</c>
/// (batch excluded) fixes the shapes of the rest, so <see cref="Model.Summary"/> and
/// <see cref="Model.CountParams"/> work before any data is seen. Masks flow from one layer to
/// the next (e.g. from <c>Embedding(maskZero: true)</c> into an LSTM).
/// </summary>
public sealed class Sequential : Model
{
    private readonly List<Layer> layers = [];

    public Sequential(string? name = null)
        : base(name)
    {
    }

    public Sequential(IEnumerable<Layer> layers, string? name = null)
        : base(name)
    {
        foreach (var l in layers)
        {
            Add(l);
        }
    }

    public override IReadOnlyList<Layer> Layers => layers;

    public override int InputCount => 1;

    protected override string DefaultNamePrefix => "sequential";

    /// <summary>Appends a layer (Keras <c>model.add</c>).</summary>
    public void Add(Layer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layers.Contains(layer))
        {
            throw new ArgumentException($"Sequential '{Name}': {layer} was already added.");
        }

        if (layers.Count > 0 && layer.InputShape is not null && layer is not InputLayer)
        {
            // Keras ignores input_shape on later layers; a mismatch would be a silent bug, so check it.
            var expected = OutputShapeOf(layers.Count);
            if (expected is not null && !layer.InputShape.SequenceEqual(expected))
            {
                throw new ArgumentException($"Sequential '{Name}': {layer} declares inputShape {Tensor.FormatShape(layer.InputShape)}, but the previous layer outputs {Tensor.FormatShape(expected)}.");
            }
        }

        layers.Add(layer);
    }

    protected override IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> inputs, bool training)
    {
        if (layers.Count == 0)
        {
            throw new InvalidOperationException($"Sequential '{Name}': no layers; Add some first.");
        }

        var x = inputs[0];
        Tensor? mask = null;
        foreach (var layer in layers)
        {
            var outputs = layer.Apply([x], [mask], training, out var masks);
            if (outputs.Count != 1)
            {
                throw new InvalidOperationException($"Sequential '{Name}': {layer} returns {outputs.Count} tensors (return_state?); a Sequential model needs one output per layer — use a functional model.");
            }

            x = outputs[0];
            mask = masks[0];
        }

        return [x];
    }

    protected override int[]? DeclaredInputShape => layers.Count == 0 ? null : layers[0].InputShape ?? layers[0].BuiltInputShapes?[0];

    protected override void EnsureBuilt()
    {
        if (layers.Count == 0 || layers.All(l => l.Built))
        {
            return;
        }

        var shape = layers[0].InputShape ?? layers[0].BuiltInputShapes?[0]
            ?? throw new InvalidOperationException($"Sequential '{Name}': the first layer has no input shape, so the model cannot be built yet; give {layers[0]} an inputShape (input_shape in a config) or call Build(inputShape).");
        BuildFrom(shape);
    }

    /// <summary>
    /// Builds every layer for samples of <paramref name="inputShape"/> (without the batch axis), as Keras's
    /// <c>model.build</c>: for a model whose first layer was given no input shape.
    /// </summary>
    public void Build(params int[] inputShape)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        if (layers.Count == 0)
        {
            throw new InvalidOperationException($"Sequential '{Name}': no layers; Add some first.");
        }

        if (inputShape.Length == 0 || inputShape.Any(d => d <= 0))
        {
            throw new ArgumentException($"Sequential '{Name}' Build: expected a sample shape of positive sizes (without the batch axis), got {Tensor.FormatShape(inputShape)}.", nameof(inputShape));
        }

        if ((layers[0].InputShape ?? layers[0].BuiltInputShapes?[0]) is { } known && !known.SequenceEqual(inputShape))
        {
            throw new ArgumentException($"Sequential '{Name}' Build: {layers[0]} already expects samples of shape {Tensor.FormatShape(known)}, got {Tensor.FormatShape(inputShape)}.", nameof(inputShape));
        }

        BuildFrom(inputShape);
    }

    private void BuildFrom(int[] shape)
    {
        foreach (var layer in layers)
        {
            if (!layer.Built)
            {
                layer.Build(shape);
            }

            shape = layer.ComputeOutputShape(shape);
        }
    }

    protected override IReadOnlyList<SummaryRow> SummaryRows()
    {
        var rows = new List<SummaryRow>();
        var shape = layers[0].InputShape ?? layers[0].BuiltInputShapes![0];
        foreach (var layer in layers)
        {
            shape = layer.ComputeOutputShape(shape);
            if (layer is InputLayer)
            {
                continue;
            }

            rows.Add(new SummaryRow(layer.Name, layer.ClassName, SummaryTable.FormatShape([null, .. shape.Select(d => d < 0 ? (int?)null : d)]), layer.CountParams()));
        }

        return rows;
    }

    public override JsonObject GetConfig()
    {
        var config = new JsonObject
        {
            ["name"] = Name,
            ["layers"] = new JsonArray(layers.Select(l => (JsonNode)LayerRegistry.ToEntry(l)).ToArray()),
        };

        // Keras's Sequential does the same: a model built by Build (or from data) keeps its input shape in the file.
        if (layers.Count > 0 && layers[0].InputShape is null && layers[0].BuiltInputShapes?[0] is { } built)
        {
            config["build_input_shape"] = LayerConfig.ShapeToJson([-1, .. built]);
        }

        return new JsonObject { ["class_name"] = "Sequential", ["config"] = config };
    }

    internal static new Sequential FromConfig(JsonObject config)
    {
        var model = new Sequential(config["name"]?.GetValue<string>());
        var list = config["layers"] as JsonArray ?? throw new ArgumentException("Sequential config: missing 'layers' array.");
        foreach (var entry in list)
        {
            model.Add(LayerRegistry.FromEntry(entry));
        }

        if (config.GetShapeOrNull("build_input_shape") is { Length: > 1 } built && model.layers.Count > 0 && model.layers[0].InputShape is null)
        {
            model.Build(built[1..]);
        }

        return model;
    }

    private int[]? OutputShapeOf(int count)
    {
        var shape = layers[0].InputShape;
        if (shape is null)
        {
            return null;
        }

        for (int i = 0; i < count; i++)
        {
            shape = layers[i].ComputeOutputShape(shape);
        }

        return shape;
    }
}
