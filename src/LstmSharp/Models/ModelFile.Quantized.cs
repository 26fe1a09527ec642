using LstmSharp.Kernels;
using LstmSharp.Serialization;
using LstmSharp.Training;

namespace LstmSharp.Models;

/// <summary>
/// Quantized weights in the model file: an int8 weight is an <c>I8</c> tensor under its path
/// plus its per-channel scales as <c>F32 [columns]</c> under <c>path + ".scale"</c>; a bf16
/// weight is a <c>BF16</c> tensor under its path. Float32 weights are stored as before, so a
/// float model's file is unchanged; the layer config's <c>quantization</c> key says which to expect.
/// </summary>
public abstract partial class Model
{
    /// <summary>Suffix of an int8 weight's scale tensor.</summary>
    internal const string ScaleSuffix = ".scale";

    private static IEnumerable<SafeTensor> StoredTensors(Parameter p)
    {
        switch (p.Quantized)
        {
            case null:
                yield return SafeTensor.FromTensor(p.Path, p.Value);
                break;
            case { Mode: QuantizationMode.Int8 } q:
                yield return new SafeTensor(p.Path, SafeTensorDType.I8, p.Value.Shape, q.Data.ToArray());
                yield return SafeTensor.FromSingles(p.Path + ScaleSuffix, q.Scales, [q.Columns]);
                break;
            case var q:
                yield return new SafeTensor(p.Path, SafeTensorDType.BF16, p.Value.Shape, q.Data.ToArray());
                break;
        }
    }

    private static SafeTensorDType StoredDType(Parameter p) => p.Quantized?.Mode switch
    {
        null => SafeTensorDType.F32,
        QuantizationMode.Int8 => SafeTensorDType.I8,
        _ => SafeTensorDType.BF16,
    };

    private static void CheckScaleEntry(Dictionary<string, SafeTensors.FileEntry> byName, string path, Parameter p)
    {
        if (p.Quantized is not { Mode: QuantizationMode.Int8 } q)
        {
            return;
        }

        string name = p.Path + ScaleSuffix;
        if (!byName.TryGetValue(name, out var e))
        {
            throw new ModelFormatException(path, name, $"the scales of int8 weight '{p.Path}' are missing from the file (expected F32 [{q.Columns}]).");
        }

        if (e.DType != SafeTensorDType.F32 || e.Shape.Length != 1 || e.Shape[0] != q.Columns)
        {
            throw new ModelFormatException(path, name, $"{e.DType.FileName()} {Tensors.Tensor.FormatShape(e.Shape)}, expected F32 [{q.Columns}].");
        }
    }

    /// <summary>Reads a quantized weight (and its scales) into <paramref name="q"/>, checks the values, and sets the float values it stands for.</summary>
    private static void ReadQuantized(FileStream stream, SafeTensors.FileLayout file, Dictionary<string, SafeTensors.FileEntry> byName, string path, Parameter p, QuantizedMatrix q)
    {
        ReadBytes(stream, file, byName[p.Path], path, q.Data);
        if (q.Mode == QuantizationMode.Int8)
        {
            ReadF32(stream, file, byName[p.Path + ScaleSuffix], path, q.Scales, allowNonFinite: true);
        }

        if (q.Problem() is { } problem)
        {
            throw new ModelFormatException(path, p.Path, $"{q.Mode.ToName()} weight: {problem}.");
        }

        q.Dequantize(p.Value.Span);
    }

    private static void ReadBytes(FileStream stream, SafeTensors.FileLayout file, SafeTensors.FileEntry entry, string path, Span<byte> destination)
    {
        ReadExactly(stream, file, entry, path, destination);
        if (!BitConverter.IsLittleEndian && entry.DType == SafeTensorDType.BF16)
        {
            var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(destination);
            System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(words, words);
        }
    }
}
