using System.Text.Json;
using System.Text.Json.Nodes;
using LstmSharp.Interop.Torch;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Serialization;
using LstmSharp.Tensors;
using LstmSharp.Training;
using PureHDF;

namespace LstmSharp.Interop.Keras;

/// <summary>
/// Reads Keras models without Python or TensorFlow: Keras 3's <c>.keras</c> (a zip of
/// <c>config.json</c>, <c>metadata.json</c> and <c>model.weights.h5</c>, whose weights sit at
/// <c>layers/&lt;snake_case class&gt;[_k]/vars/i</c>, a recurrent layer's under <c>.../cell/vars</c>,
/// Bidirectional's under <c>forward_layer</c>/<c>backward_layer</c>) and the legacy HDF5 file of
/// tf.keras 2 (<c>model_config</c> attribute; weights under <c>model_weights/&lt;layer&gt;</c>,
/// ordered by the <c>layer_names</c> and <c>weight_names</c> attributes). HDF5 is read with
/// PureHDF; every failure of a damaged file ends in one <see cref="KerasFormatException"/>.
/// </summary>
public static class KerasImport
{
    /// <summary>Largest dataset read (elements): weights must fit a float[] anyway.</summary>
    private const long MaxElements = 1L << 28;

    private static readonly byte[] Hdf5Signature = [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Rebuilds the model in <paramref name="path"/> (.keras or legacy .h5) with its weights.</summary>
    public static Model LoadKeras(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return Load(path);
        }
        catch (Exception e) when (e is not (KerasFormatException or StackOverflowException))
        {
            // Whatever a damaged file trips over inside a parser is still "this file is damaged"; that
            // includes PureHDF asking for an array beyond .NET's limits from a corrupted size field.
            throw new KerasFormatException(path, $"the file is damaged or not what Keras writes ({e.GetType().Name}: {e.Message})", e);
        }
    }

    private static Model Load(string path)
    {
        Exception Error(string problem) => new KerasFormatException(path, problem);
        byte[] head = new byte[8];
        using (var stream = ForeignFile.OpenWithHead(path, head, out int n, (problem, e) => new KerasFormatException(path, problem, e)))
        {
            if (BoundedZip.LooksLikeZip(head.AsSpan(0, n)))
            {
                using var zip = BoundedZip.Open(stream, Error);
                return LoadKeras3(zip, Error);
            }

            if (n == 8 && head.AsSpan().SequenceEqual(Hdf5Signature))
            {
                return Hdf5(stream, Error, h5 => LoadLegacy(h5, Error));
            }

            throw Error("neither a .keras zip nor an HDF5 file (no PK or \\x89HDF signature)");
        }
    }

    private static Model LoadKeras3(BoundedZip zip, Func<string, Exception> error)
    {
        var config = ParseJson(zip.Read("config.json", 64L << 20), "config.json", error);
        if (zip.Contains("metadata.json"))
        {
            var meta = ParseJson(zip.Read("metadata.json", 1 << 20), "metadata.json", error);
            if (KerasConfig.Str(meta, "keras_version") is { } version && !version.StartsWith('3'))
            {
                throw error($"metadata.json says Keras {version}; the .keras layout read here is Keras 3's");
            }
        }

        if (!zip.Contains("model.weights.h5"))
        {
            throw error("the archive has no model.weights.h5" + (zip.Contains("model.weights.npz") ? " (npz weights are not supported)" : string.Empty));
        }

        var built = KerasConfig.ToModel(config, error);
        _ = built.Model.Parameters; // build
        // PureHDF reads the entry as BoundedZip delivered it (size, ratio and total checked; never a stream over the raw zip).
        using var weights = new MemoryStream(zip.Read("model.weights.h5"), writable: false);
        var writes = Hdf5(weights, error, h5 =>
        {
            var list = new List<(Parameter, float[])>();
            var used = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var (cls, layer) in built.Layers)
            {
                string snake = KerasConfig.Snake(cls);
                int k = used.TryGetValue(snake, out int c) ? c + 1 : 0;
                used[snake] = k;
                string path = "layers/" + (k == 0 ? snake : $"{snake}_{k}");
                foreach (var (sub, owner, parameters) in Keras3Groups(layer))
                {
                    ReadVars(h5, path + sub, owner, parameters, error, list);
                }
            }

            return list;
        });
        Apply(writes);
        return built.Model;
    }

    /// <summary>
    /// Where saving_lib puts each part's variables, relative to the layer's path: the part, who owns
    /// them (for messages) and the parameters in Keras's order. saving_lib names a sub-layer after the
    /// attribute that holds it (MultiHeadAttention's query_dense, key_dense, value_dense, output_dense).
    /// </summary>
    internal static IEnumerable<(string Sub, string Owner, IReadOnlyList<Parameter> Parameters)> Keras3Groups(Layer layer) => layer switch
    {
        Bidirectional b => [Part("/forward_layer/cell", b.Forward), Part("/backward_layer/cell", b.Backward)],
        RecurrentLayer r => [Part("/cell", r)],
        TimeDistributed t => [Part("/layer", t.Inner)],
        MultiHeadAttention m =>
        [
            Part("/query_dense", m, m.QueryKernel, m.QueryBias),
            Part("/key_dense", m, m.KeyKernel, m.KeyBias),
            Part("/value_dense", m, m.ValueKernel, m.ValueBias),
            Part("/output_dense", m, m.OutputKernel, m.OutputBias),
        ],
        _ => [Part(string.Empty, layer)],
    };

    private static (string, string, IReadOnlyList<Parameter>) Part(string sub, Layer target) => (sub, $"{target.ClassName} '{target.Name}'", target.Parameters);

    private static (string, string, IReadOnlyList<Parameter>) Part(string sub, Layer owner, params Parameter?[] parameters) =>
        (sub, $"{owner.ClassName} '{owner.Name}'{sub}", parameters.OfType<Parameter>().ToArray());

    private static void ReadVars(IH5Group h5, string path, string owner, IReadOnlyList<Parameter> ps, Func<string, Exception> error, List<(Parameter, float[])> writes)
    {
        if (ps.Count == 0)
        {
            return;
        }

        string varsPath = path + "/vars";
        if (!Exists(h5, varsPath))
        {
            throw error($"model.weights.h5 has no group '{varsPath}' for {owner} ({ps.Count} weights)");
        }

        var vars = h5.Group(varsPath);
        int count = vars.Children().Count();
        if (count != ps.Count)
        {
            throw error($"'{varsPath}' holds {count} variables, {owner} has {ps.Count} ({string.Join(", ", ps.Select(p => p.Name))})");
        }

        for (int i = 0; i < ps.Count; i++)
        {
            writes.Add((ps[i], ReadFloats(vars.Dataset(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), $"{varsPath}/{i}", ps[i], error)));
        }
    }

    private static Model LoadLegacy(IH5Group h5, Func<string, Exception> error)
    {
        if (!h5.AttributeExists("model_config"))
        {
            throw error(h5.AttributeExists("layer_names")
                ? "a weights-only HDF5 file (save_weights); it holds no model_config to rebuild the model from"
                : "an HDF5 file without the model_config attribute of a Keras model");
        }

        var config = ParseJson(System.Text.Encoding.UTF8.GetBytes(ReadString(h5.Attribute("model_config"), error)), "model_config", error);
        var built = KerasConfig.ToModel(config, error);
        _ = built.Model.Parameters;
        if (!Exists(h5, "model_weights"))
        {
            throw error("the file has no model_weights group");
        }

        var weights = h5.Group("model_weights");
        var names = ReadStrings(weights, "layer_names", error);
        var byName = built.Layers.ToDictionary(l => l.Layer.Name, l => l.Layer, StringComparer.Ordinal);
        var writes = new List<(Parameter, float[])>();
        var loaded = new HashSet<Layer>();
        foreach (string name in names)
        {
            if (!byName.TryGetValue(name, out var layer))
            {
                if (Exists(weights, name) && ReadStrings(weights.Group(name), "weight_names", error).Length == 0)
                {
                    continue; // an InputLayer or a layer without weights
                }

                throw error($"model_weights lists layer '{name}', which the model_config does not have");
            }

            var ps = layer.Parameters;
            var group = Exists(weights, name) ? weights.Group(name) : throw error($"model_weights has no group '{name}'");
            var weightNames = ReadStrings(group, "weight_names", error);
            if (weightNames.Length != ps.Count)
            {
                throw error($"model_weights/{name} has {weightNames.Length} weights ({string.Join(", ", weightNames)}), {layer.ClassName} '{name}' has {ps.Count} ({string.Join(", ", ps.Select(p => p.Path))})");
            }

            for (int i = 0; i < ps.Count; i++)
            {
                if (!Exists(group, weightNames[i]))
                {
                    throw error($"model_weights/{name} names weight '{weightNames[i]}', which is not in the file");
                }

                writes.Add((ps[i], ReadFloats(group.Dataset(weightNames[i]), $"model_weights/{name}/{weightNames[i]}", ps[i], error)));
            }

            loaded.Add(layer);
        }

        var missing = built.Layers.Select(l => l.Layer).Where(l => l.Parameters.Count > 0 && !loaded.Contains(l)).ToArray();
        if (missing.Length > 0)
        {
            throw error($"model_weights has no weights for layer(s) {string.Join(", ", missing.Select(l => $"'{l.Name}'"))}");
        }

        Apply(writes);
        return built.Model;
    }

    private static void Apply(List<(Parameter P, float[] Values)> writes)
    {
        foreach (var (p, values) in writes)
        {
            values.CopyTo(p.Value.Span);
        }
    }

    private static float[] ReadFloats(IH5Dataset ds, string where, Parameter target, Func<string, Exception> error)
    {
        var dims = ds.Space.Dimensions;
        long count = 1;
        foreach (ulong d in dims)
        {
            if (d > (ulong)MaxElements)
            {
                throw error($"dataset '{where}' claims dimensions [{string.Join(", ", dims)}]");
            }

            count *= (long)d;
            if (count > MaxElements)
            {
                throw error($"dataset '{where}' claims dimensions [{string.Join(", ", dims)}]");
            }
        }

        var shape = dims.Select(d => (int)d).ToArray();
        if (!shape.SequenceEqual(target.Value.Shape))
        {
            throw error($"dataset '{where}' is {Tensor.FormatShape(shape)}, the model's weight '{target.Path}' is {Tensor.FormatShape(target.Value.Shape)}");
        }

        if (ds.Type.Class != H5DataTypeClass.FloatingPoint || ds.Type.Size is not (4 or 8))
        {
            throw error($"dataset '{where}' holds {ds.Type.Class} of {ds.Type.Size} bytes; weights are float32 or float64");
        }

        if (ds.Type.Size == 8)
        {
            return ds.Read<double[]>().Select(v => (float)v).ToArray();
        }

        return ds.Read<float[]>();
    }

    private static string[] ReadStrings(IH5Object obj, string attribute, Func<string, Exception> error)
    {
        if (!obj.AttributeExists(attribute))
        {
            throw error($"'{obj.Name}' lacks the {attribute} attribute");
        }

        var a = obj.Attribute(attribute);
        ulong n = a.Space.Dimensions.Aggregate(1UL, (x, y) => x * y);
        if (n == 0 || a.Space.Dimensions.Length == 0 && a.Type.Class != H5DataTypeClass.String)
        {
            return [];
        }

        if (a.Type.Class is not (H5DataTypeClass.String or H5DataTypeClass.VariableLength) || n > 100_000)
        {
            throw error($"attribute {attribute} of '{obj.Name}' is not a list of strings");
        }

        return a.Read<string[]>().Select(s => s.TrimEnd('\0')).ToArray();
    }

    private static string ReadString(IH5Attribute a, Func<string, Exception> error)
    {
        // h5py writes a Python str as a variable-length string, numpy bytes as fixed-length.
        if (a.Type.Class is not (H5DataTypeClass.String or H5DataTypeClass.VariableLength))
        {
            throw error($"attribute {a.Name} is not a string");
        }

        return a.Space.Dimensions.Length == 0 ? a.Read<string>() : string.Concat(a.Read<string[]>());
    }

    private static bool Exists(IH5Group g, string path)
    {
        var parts = path.Split('/');
        var current = g;
        for (int i = 0; i < parts.Length; i++)
        {
            if (!current.LinkExists(parts[i]))
            {
                return false;
            }

            if (i < parts.Length - 1)
            {
                if (current.Get(parts[i]) is not IH5Group next)
                {
                    return false;
                }

                current = next;
            }
        }

        return true;
    }

    private static JsonObject ParseJson(byte[] bytes, string what, Func<string, Exception> error)
    {
        try
        {
            return JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { MaxDepth = 256 }) as JsonObject ?? throw error($"{what} is not a JSON object");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            throw error($"{what} is not valid JSON ({e.Message})");
        }
    }

    /// <summary>Runs <paramref name="body"/> on the HDF5 file in <paramref name="stream"/>; PureHDF's own failures on a damaged file become the documented exception.</summary>
    private static T Hdf5<T>(Stream stream, Func<string, Exception> error, Func<IH5Group, T> body)
    {
        // PureHDF allocates from size fields before it reads: check them all against the file first.
        Hdf5Preflight.Check(stream, error);
        try
        {
            using var h5 = H5File.Open(stream, leaveOpen: true);
            return body(h5);
        }
        catch (KerasFormatException)
        {
            throw;
        }
        catch (Exception e) when (e is not (StackOverflowException or AccessViolationException))
        {
            throw error($"the HDF5 data is damaged or not what Keras writes ({e.GetType().Name}: {e.Message})");
        }
    }
}
