using LstmSharp.Serialization;
using LstmSharp.Tensors;

namespace LstmSharp.Interop.Torch;

/// <summary>One entry of a state dict: name, shape, source dtype and the values as float32, row-major.</summary>
public sealed class TorchTensor
{
    internal TorchTensor(string name, int[] shape, TorchDType dtype, float[] values)
    {
        Name = name;
        Shape = shape;
        DType = dtype;
        Values = values;
    }

    public string Name { get; }

    public int[] Shape { get; }

    /// <summary>The element type in the file (converted to float32 in <see cref="Values"/>).</summary>
    public TorchDType DType { get; }

    public float[] Values { get; }

    public override string ToString() => $"{Name} {Tensor.FormatShape(Shape)}";
}

/// <summary>
/// A PyTorch <c>state_dict</c> read without Python or libtorch: a <c>torch.save</c> zip
/// (<c>NAME/data.pkl</c>, a pickle read by an allow-list unpickler, and the storages in
/// <c>NAME/data/KEY</c>) or a safetensors file. Entries keep the file's order (module
/// registration order).
/// </summary>
public sealed class TorchStateDict
{
    private readonly Dictionary<string, TorchTensor> byName;

    private TorchStateDict(string source, IReadOnlyList<TorchTensor> tensors)
    {
        Source = source;
        Tensors = tensors;
        byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The file read.</summary>
    public string Source { get; }

    public IReadOnlyList<TorchTensor> Tensors { get; }

    public bool TryGet(string name, out TorchTensor tensor) => byName.TryGetValue(name, out tensor!);

    /// <summary>
    /// Reads a <c>.pt</c>/<c>.pth</c> zip written by <c>torch.save(model.state_dict())</c> or a
    /// <c>.safetensors</c> file. A damaged or hostile file ends in one <see cref="TorchFormatException"/>.
    /// </summary>
    public static TorchStateDict Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Exception Error(string problem) => new TorchFormatException(path, problem);
        Span<byte> head = stackalloc byte[8];
        using (var stream = ForeignFile.OpenWithHead(path, head, out int n, (problem, e) => new TorchFormatException(path, problem, e)))
        {
            if (BoundedZip.LooksLikeZip(head[..n]))
            {
                using var zip = BoundedZip.Open(stream, Error);
                return new TorchStateDict(path, ReadZip(zip, Error));
            }

            if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
            {
                throw Error("a pickle without the zip container (torch.save with _use_new_zipfile_serialization=False, or torch < 1.6); re-save it with a current torch.save");
            }

            try
            {
                var file = SafeTensors.Load(stream, path);
                return new TorchStateDict(path, file.Tensors.Select(FromSafeTensor).ToArray());
            }
            catch (ModelFormatException e)
            {
                throw new TorchFormatException(path, $"neither a torch.save zip nor a valid safetensors file: {e.Problem}", e);
            }
        }

        TorchTensor FromSafeTensor(SafeTensor t)
        {
            float[] values;
            try
            {
                values = t.ToSingleArray();
            }
            catch (Exception e) when (e is NotSupportedException or InvalidOperationException or ArgumentException)
            {
                throw new TorchFormatException(path, $"tensor '{t.Name}': {e.Message}", e);
            }

            var dtype = t.DType switch
            {
                SafeTensorDType.F64 => TorchDType.Float64,
                SafeTensorDType.F16 => TorchDType.Float16,
                SafeTensorDType.BF16 => TorchDType.BFloat16,
                _ => TorchDType.Float32,
            };
            return new TorchTensor(t.Name, t.ShapeArray, dtype, values);
        }
    }

    private static List<TorchTensor> ReadZip(BoundedZip zip, Func<string, Exception> error)
    {
        var pickles = zip.Names.Where(n => n.EndsWith("/data.pkl", StringComparison.Ordinal) && n.IndexOf('/') == n.Length - "/data.pkl".Length).ToArray();
        if (pickles.Length != 1)
        {
            throw error(pickles.Length == 0
                ? "the zip has no '<name>/data.pkl' entry; is it a torch.save file?"
                : $"the zip has {pickles.Length} '<name>/data.pkl' entries, expected one");
        }

        string prefix = pickles[0][..^"data.pkl".Length];
        if (zip.Contains(prefix + "byteorder"))
        {
            string order = System.Text.Encoding.ASCII.GetString(zip.Read(prefix + "byteorder", 16)).Trim();
            if (order != "little")
            {
                throw error($"storages are '{order}'-endian; only little-endian files are read");
            }
        }

        object? root = StatePickle.Load(zip.Read(pickles[0], 256L << 20), error);
        if (root is not StatePickle.PickleDict dict)
        {
            throw error("data.pkl does not hold a dict; save model.state_dict(), not the model object");
        }

        var storages = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var tensors = new List<TorchTensor>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in dict.Items)
        {
            if (key is not string name)
            {
                throw error("a state_dict key is not a string");
            }

            if (!seen.Add(name))
            {
                throw error($"the state_dict names '{name}' twice");
            }

            if (value is not StatePickle.TensorRef t)
            {
                throw error($"state_dict entry '{name}' is not a tensor");
            }

            tensors.Add(Materialize(name, t, zip, prefix, storages, error));
        }

        return tensors;
    }

    private static TorchTensor Materialize(string name, StatePickle.TensorRef t, BoundedZip zip, string prefix, Dictionary<string, byte[]> storages, Func<string, Exception> error)
    {
        var s = t.Storage;
        int item = s.DType.Size();
        if (s.Count < 0 || s.Count > BoundedZip.MaxEntryBytes / item)
        {
            throw error($"tensor '{name}': storage '{s.Key}' claims {s.Count} elements");
        }

        if (t.Size.Length != t.Stride.Length)
        {
            throw error($"tensor '{name}': size has {t.Size.Length} dimensions, stride {t.Stride.Length}");
        }

        long count = 1;
        long last = t.Offset;
        for (int d = 0; d < t.Size.Length; d++)
        {
            if (t.Size[d] < 0 || t.Size[d] > int.MaxValue || t.Stride[d] < 0 || t.Stride[d] > int.MaxValue)
            {
                throw error($"tensor '{name}': size {Format(t.Size)} / stride {Format(t.Stride)} out of range");
            }

            count *= t.Size[d];
            if (count > s.Count)
            {
                break;
            }

            last += (t.Size[d] - 1) * t.Stride[d];
        }

        if (t.Offset < 0 || (count > 0 && (count > s.Count || last >= s.Count)))
        {
            throw error($"tensor '{name}': size {Format(t.Size)}, stride {Format(t.Stride)} at offset {t.Offset} reach past its storage '{s.Key}' of {s.Count} {s.DType} elements");
        }

        if (!storages.TryGetValue(s.Key, out var bytes))
        {
            string entry = prefix + "data/" + s.Key;
            bytes = zip.Read(entry, s.Count * item);
            storages[s.Key] = bytes;
        }

        if (bytes.LongLength != s.Count * item)
        {
            throw error($"tensor '{name}': storage '{s.Key}' holds {bytes.LongLength} bytes, {s.Count} {s.DType} elements need {s.Count * item}");
        }

        var shape = t.Size.Select(v => (int)v).ToArray();
        var values = new float[count];
        var index = new long[shape.Length];
        for (long i = 0; i < count; i++)
        {
            long at = t.Offset;
            for (int d = 0; d < shape.Length; d++)
            {
                at += index[d] * t.Stride[d];
            }

            values[i] = s.DType.Read(bytes, at);
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d])
                {
                    break;
                }

                index[d] = 0;
            }
        }

        return new TorchTensor(name, shape, s.DType, values);
    }

    private static string Format(long[] v) => "(" + string.Join(", ", v) + ")";
}
