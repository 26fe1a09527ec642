using System.Text.Json.Nodes;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// The entry of a model (Keras <c>Input(shape=...)</c>): declares the per-sample shape (batch
/// excluded, -1 = unknown size) and an optional fixed batch size, and passes tensors through
/// after checking them against it.
/// </summary>
public sealed class InputLayer : Layer
{
    public InputLayer(int[] shape, int? batchSize = null, string? name = null)
        : base(name, shape ?? throw new ArgumentNullException(nameof(shape), "InputLayer: shape is null."))
    {
        if (batchSize is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"{Describe()}: batchSize must be positive or null, got {batchSize}.");
        }

        BatchSize = batchSize;
        SupportsMasking = true;
        Build(shape);
    }

    /// <summary>The declared per-sample shape.</summary>
    public int[] Shape => InputShape!;

    public static InputLayer FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        return new InputLayer(b.InputShape ?? throw new ArgumentException("InputLayer: config lacks 'batch_input_shape'."), b.BatchSize, b.Name);
    }

    protected override Tensor Call(Tensor input, Tensor? mask, bool training)
    {
        if (BatchSize is { } batch && input.Dim(0) != batch)
        {
            throw ShapeError(Tensor.FormatShape([batch, .. Shape]), input.Shape);
        }

        return input;
    }
}
