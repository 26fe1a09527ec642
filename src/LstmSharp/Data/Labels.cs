using LstmSharp.Tensors;

namespace LstmSharp.Data;

/// <summary>Label encodings (Keras's <c>to_categorical</c>).</summary>
public static class Labels
{
    /// <summary>
    /// One-hot encodes class indices: row i of the [n, numClasses] result is 1 at column
    /// <c>labels[i]</c> and 0 elsewhere. <paramref name="numClasses"/> null means max label + 1.
    /// </summary>
    public static Tensor ToCategorical(ReadOnlySpan<int> labels, int? numClasses = null)
    {
        int classes;
        if (numClasses is int c)
        {
            if (c < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(numClasses), c, $"Labels.ToCategorical: numClasses must be >= 1, got {c}.");
            }

            classes = c;
        }
        else
        {
            classes = 0;
            foreach (int label in labels)
            {
                classes = Math.Max(classes, label + 1);
            }
        }

        var result = new Tensor(labels.Length, classes);
        var data = result.Span;
        for (int i = 0; i < labels.Length; i++)
        {
            int label = labels[i];
            if ((uint)label >= (uint)classes)
            {
                throw new ArgumentOutOfRangeException(nameof(labels), label, $"Labels.ToCategorical: labels[{i}] = {label}, expected 0..{classes - 1} for numClasses = {classes}.");
            }

            data[(i * classes) + label] = 1f;
        }

        return result;
    }
}
