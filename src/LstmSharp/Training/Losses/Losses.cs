using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Text.Json.Nodes;
using LstmSharp.Tensors;

namespace LstmSharp.Training;

/// <summary>Losses by Keras name, the fused softmax + cross-entropy, and class weights.</summary>
public static class Losses
{
    private static readonly string[] Names =
    [
        "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
        "mean_squared_error (mse)", "mean_absolute_error (mae)",
    ];

    /// <summary>
    /// The loss with Keras name (or class name) <paramref name="name"/>, e.g.
    /// <c>binary_crossentropy</c>, <c>mse</c>, <c>SparseCategoricalCrossentropy</c>.
    /// </summary>
    public static Loss Get(string name, bool fromLogits = false)
    {
        ArgumentNullException.ThrowIfNull(name);
        Loss? loss = name.ToLowerInvariant() switch
        {
            "categorical_crossentropy" or "categoricalcrossentropy" => new CategoricalCrossentropy(fromLogits),
            "sparse_categorical_crossentropy" or "sparsecategoricalcrossentropy" => new SparseCategoricalCrossentropy(fromLogits),
            "binary_crossentropy" or "binarycrossentropy" => new BinaryCrossentropy(fromLogits),
            "mean_squared_error" or "meansquarederror" or "mse" => new MeanSquaredError(),
            "mean_absolute_error" or "meanabsoluteerror" or "mae" => new MeanAbsoluteError(),
            _ => null,
        };
        if (loss is null)
        {
            throw new ArgumentException($"Losses.Get: unknown loss '{name}'; valid names: {string.Join(", ", Names)}.", nameof(name));
        }

        if (fromLogits && !loss.FromLogits)
        {
            throw new ArgumentException($"Losses.Get: loss '{loss.Name}' has no from_logits form.", nameof(fromLogits));
        }

        return loss;
    }

    /// <summary>Rebuilds a loss from <see cref="ILoss.GetConfig"/>'s output.</summary>
    public static Loss FromConfig(JsonObject config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string className = Config.String(config, "class_name", "Losses.FromConfig");
        var inner = config["config"] as JsonObject;
        bool fromLogits = inner?["from_logits"]?.GetValue<bool>() ?? false;
        return Get(className, fromLogits);
    }

    private static readonly CategoricalCrossentropy CategoricalFromLogits = new(fromLogits: true);
    private static readonly SparseCategoricalCrossentropy SparseFromLogits = new(fromLogits: true);

    /// <summary>
    /// Fused softmax + (sparse) categorical cross-entropy, for a model that ends in
    /// <c>Dense → softmax</c>: from logits <c>x [..., C]</c> returns the loss of
    /// <c>p = softmax(x)</c>, writes <c>p</c> into <paramref name="probabilities"/> (the model's
    /// output) and <c>∂L/∂x = w_n (p − y) / N</c> into <paramref name="dLogits"/> when given.
    /// </summary>
    /// <remarks>
    /// The value is the from-logits cross-entropy; it equals the clipped probability form
    /// except where some target class has <c>p &lt; 1e-7</c>, where Keras's clip caps the loss at
    /// about 16.1 and this form does not (it is what Keras's TensorFlow backend computes too).
    /// </remarks>
    public static double SoftmaxCrossEntropy(Tensor logits, Tensor yTrue, bool sparse, Tensor? probabilities, Tensor? dLogits, ReadOnlySpan<float> sampleWeights = default)
    {
        Loss loss = sparse ? SparseFromLogits : CategoricalFromLogits;
        double value = loss.Compute(logits, yTrue, dLogits, sampleWeights);
        if (probabilities is not null)
        {
            if (!probabilities.SameShape(logits))
            {
                throw new ArgumentException($"Losses.SoftmaxCrossEntropy: probabilities must have the shape of logits {Tensor.FormatShape(logits.Shape)}, got {Tensor.FormatShape(probabilities.Shape)}.", nameof(probabilities));
            }

            int c = logits.Dim(-1);
            var x = logits.Span;
            var p = probabilities.Span;
            for (int r = 0; r < x.Length; r += c)
            {
                var pr = p.Slice(r, c);
                Crossentropy.ExpShifted(x.Slice(r, c), pr, "SoftmaxCrossEntropy", r / c, out double sumExp);
                TensorPrimitives.Multiply(pr, (float)(1.0 / sumExp), pr);
            }
        }

        return value;
    }

    /// <summary>
    /// Keras's <c>class_weight</c> in <c>fit</c>: one weight per sample, looked up by the sample's
    /// class — <c>argmax</c> of a one-hot row (<c>[B, C]</c>, C &gt; 1), or the rounded value of
    /// a class-index / binary target (<c>[B]</c> or <c>[B, 1]</c>).
    /// </summary>
    public static void ClassWeightsToSampleWeights(Tensor yTrue, IReadOnlyDictionary<int, float> classWeight, Span<float> sampleWeights)
    {
        ArgumentNullException.ThrowIfNull(yTrue);
        ArgumentNullException.ThrowIfNull(classWeight);
        if (yTrue.Rank == 0 || yTrue.Rank > 2)
        {
            throw new ArgumentException($"class_weight: supported for targets of rank 1 or 2 ([B], [B, 1], [B, C]), got {Tensor.FormatShape(yTrue.Shape)}; use sample weights for sequence targets.", nameof(yTrue));
        }

        int b = yTrue.Dim(0);
        if (sampleWeights.Length != b)
        {
            throw new ArgumentException($"class_weight: sampleWeights must have {b} elements (one per sample), got {sampleWeights.Length}.", nameof(sampleWeights));
        }

        int width = yTrue.Rank == 2 ? yTrue.Dim(1) : 1;
        var y = yTrue.Span;
        for (int n = 0; n < b; n++)
        {
            var row = y.Slice(n * width, width);
            int cls = width > 1 ? TensorPrimitives.IndexOfMax(row) : (int)MathF.Round(row[0]);
            if (!classWeight.TryGetValue(cls, out float w))
            {
                throw new ArgumentException($"class_weight: no weight for class {cls} (sample {n}); keys given: {string.Join(", ", classWeight.Keys.Order())}.", nameof(classWeight));
            }

            sampleWeights[n] = w;
        }
    }
}
