using LstmSharp.Tensors;

namespace LstmSharp.Serialization;

/// <summary>The validated content of a safetensors file: its tensors (in data order) and metadata.</summary>
public sealed class SafeTensorsFile
{
    private readonly Dictionary<string, SafeTensor> byName;

    internal SafeTensorsFile(string? source, IReadOnlyList<SafeTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Source = source;
        Tensors = tensors;
        Metadata = metadata;
        byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The file name or stream description given when reading, used in error messages.</summary>
    public string? Source { get; }

    /// <summary>The tensors in the order of their bytes in the file.</summary>
    public IReadOnlyList<SafeTensor> Tensors { get; }

    /// <summary>The header's <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public bool Contains(string name) => byName.ContainsKey(name);

    public bool TryGet(string name, out SafeTensor tensor) => byName.TryGetValue(name, out tensor!);

    /// <summary>The tensor called <paramref name="name"/>; a missing tensor is a format problem of the file.</summary>
    public SafeTensor Get(string name)
    {
        if (byName.TryGetValue(name, out var t))
        {
            return t;
        }

        var some = Tensors.Take(8).Select(x => $"'{x.Name}'");
        string more = Tensors.Count > 8 ? ", ..." : string.Empty;
        throw new ModelFormatException(Source, name, $"no such tensor in the file (it has {Tensors.Count}: {string.Join(", ", some)}{more}).");
    }

    /// <summary>
    /// The float32 tensor called <paramref name="name"/> (F32, or F16/BF16 widened). When
    /// <paramref name="expectedShape"/> is given, the stored shape must equal it.
    /// </summary>
    public Tensor GetTensor(string name, params int[]? expectedShape)
    {
        var t = Get(name);
        if (t.DType is not (SafeTensorDType.F32 or SafeTensorDType.F16 or SafeTensorDType.BF16))
        {
            throw new ModelFormatException(Source, name, $"dtype is {t.DType.FileName()}, expected F32 (or F16/BF16).");
        }

        if (expectedShape is { Length: > 0 } && !t.Shape.SequenceEqual(expectedShape))
        {
            throw new ModelFormatException(Source, name, $"shape is {Tensor.FormatShape(t.Shape)}, expected {Tensor.FormatShape(expectedShape)}.");
        }

        return t.ToTensor();
    }
}
