using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using LstmSharp.Interop.Onnx.Proto;

namespace LstmSharp.Interop.Onnx;

/// <summary>
/// Writes ONNX <c>TensorProto</c>s: dims plus the values in <c>raw_data</c>, little-endian as
/// the ONNX specification requires (on a big-endian machine the bytes are swapped).
/// </summary>
internal static class OnnxTensorWriter
{
    public const int Float = (int)TensorProto.Types.DataType.Float;
    public const int Int32 = (int)TensorProto.Types.DataType.Int32;
    public const int Int64 = (int)TensorProto.Types.DataType.Int64;

    /// <summary>A float32 tensor named <paramref name="name"/> of shape <paramref name="dims"/>.</summary>
    public static TensorProto FromFloats(string name, ReadOnlySpan<long> dims, ReadOnlySpan<float> values)
    {
        CheckCount(name, dims, values.Length);
        var bytes = new byte[values.Length * sizeof(float)];
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(values).CopyTo(bytes);
        }
        else
        {
            for (int i = 0; i < values.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
            }
        }

        return Make(name, Float, dims, bytes);
    }

    /// <summary>An int64 tensor (shapes, axes, indices).</summary>
    public static TensorProto FromInt64s(string name, ReadOnlySpan<long> dims, ReadOnlySpan<long> values)
    {
        CheckCount(name, dims, values.Length);
        var bytes = new byte[values.Length * sizeof(long)];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * sizeof(long)), values[i]);
        }

        return Make(name, Int64, dims, bytes);
    }

    private static TensorProto Make(string name, int dataType, ReadOnlySpan<long> dims, byte[] bytes)
    {
        var t = new TensorProto { Name = name, DataType = dataType, RawData = ByteString.CopyFrom(bytes) };
        foreach (long d in dims)
        {
            t.Dims.Add(d);
        }

        return t;
    }

    private static void CheckCount(string name, ReadOnlySpan<long> dims, int count)
    {
        long expected = 1;
        foreach (long d in dims)
        {
            expected *= d;
        }

        if (expected != count)
        {
            throw new ArgumentException($"ONNX tensor '{name}': dims [{string.Join(", ", dims.ToArray())}] hold {expected} values, got {count}.");
        }
    }
}
