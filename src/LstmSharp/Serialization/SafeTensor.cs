using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LstmSharp.Tensors;

namespace LstmSharp.Serialization;

/// <summary>
/// One named tensor of a safetensors file: its element type, shape and raw little-endian
/// row-major bytes. Tensors read from a file share the file's buffer (no copy); the
/// <c>To*</c> methods convert to typed arrays or a <see cref="Tensor"/>.
/// </summary>
public sealed class SafeTensor
{
    private readonly int[] shape;

    /// <summary>
    /// A tensor from raw bytes, which must be little-endian, row-major and exactly
    /// <c>product(shape) · sizeof(dtype)</c> long.
    /// </summary>
    public SafeTensor(string name, SafeTensorDType dtype, ReadOnlySpan<int> shape, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0)
        {
            throw new ArgumentException("SafeTensor: the name must not be empty.", nameof(name));
        }

        if (name == SafeTensors.MetadataKey)
        {
            throw new ArgumentException($"SafeTensor: '{SafeTensors.MetadataKey}' is reserved for the header's metadata and cannot name a tensor.", nameof(name));
        }

        int size = dtype.SizeOf();
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"SafeTensor '{name}': negative dimension in shape {Tensor.FormatShape(shape)}.", nameof(shape));
            }

            count *= d;
            if (count > Array.MaxLength)
            {
                throw new ArgumentException($"SafeTensor '{name}': shape {Tensor.FormatShape(shape)} has more elements than an array can hold.", nameof(shape));
            }
        }

        if (count * size != data.Length)
        {
            throw new ArgumentException($"SafeTensor '{name}': {dtype.FileName()} {Tensor.FormatShape(shape)} needs {count * size} bytes, got {data.Length}.", nameof(data));
        }

        Name = name;
        DType = dtype;
        this.shape = shape.ToArray();
        ElementCount = (int)count;
        Data = data;
    }

    public string Name { get; }

    public SafeTensorDType DType { get; }

    /// <summary>The shape; do not modify.</summary>
    public ReadOnlySpan<int> Shape => shape;

    /// <summary>A copy of the shape.</summary>
    public int[] ShapeArray => (int[])shape.Clone();

    public int ElementCount { get; }

    /// <summary>Raw element bytes, little-endian, row-major.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>An F32 tensor with <paramref name="tensor"/>'s shape and values (copied).</summary>
    public static SafeTensor FromTensor(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return FromSingles(name, tensor.Span, tensor.Shape);
    }

    public static SafeTensor FromSingles(string name, ReadOnlySpan<float> values, ReadOnlySpan<int> shape) =>
        new(name, SafeTensorDType.F32, shape, Encode(values));

    public static SafeTensor FromDoubles(string name, ReadOnlySpan<double> values, ReadOnlySpan<int> shape) =>
        new(name, SafeTensorDType.F64, shape, Encode(values));

    public static SafeTensor FromInt32s(string name, ReadOnlySpan<int> values, ReadOnlySpan<int> shape) =>
        new(name, SafeTensorDType.I32, shape, Encode(values));

    public static SafeTensor FromInt64s(string name, ReadOnlySpan<long> values, ReadOnlySpan<int> shape) =>
        new(name, SafeTensorDType.I64, shape, Encode(values));

    public static SafeTensor FromBytes(string name, ReadOnlySpan<byte> values, ReadOnlySpan<int> shape) =>
        new(name, SafeTensorDType.U8, shape, values.ToArray());

    public static SafeTensor FromHalves(string name, ReadOnlySpan<Half> values, ReadOnlySpan<int> shape) =>
        new(name, SafeTensorDType.F16, shape, Encode(values));

    /// <summary>Stores float32 values as bfloat16, rounding to nearest even (NaN stays NaN).</summary>
    public static SafeTensor FromSinglesAsBFloat16(string name, ReadOnlySpan<float> values, ReadOnlySpan<int> shape)
    {
        var bits = new ushort[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            bits[i] = ToBFloat16Bits(values[i]);
        }

        return new(name, SafeTensorDType.BF16, shape, Encode<ushort>(bits));
    }

    /// <summary>The values as a float32 tensor of the same shape. F16 and BF16 widen exactly; other types throw.</summary>
    public Tensor ToTensor()
    {
        var t = Tensor.FromArray(ToSingleArray(), shape);
        t.Name = Name;
        return t;
    }

    /// <summary>Values of an F32, F16 or BF16 tensor (exact widening).</summary>
    public float[] ToSingleArray()
    {
        var bytes = Data.Span;
        switch (DType)
        {
            case SafeTensorDType.F32:
                return Decode<float>(bytes);
            case SafeTensorDType.F16:
            {
                var h = Decode<Half>(bytes);
                var r = new float[h.Length];
                for (int i = 0; i < h.Length; i++)
                {
                    r[i] = (float)h[i];
                }

                return r;
            }

            case SafeTensorDType.BF16:
            {
                var b = Decode<ushort>(bytes);
                var r = new float[b.Length];
                for (int i = 0; i < b.Length; i++)
                {
                    r[i] = BitConverter.UInt32BitsToSingle((uint)b[i] << 16);
                }

                return r;
            }

            default:
                throw WrongType("ToSingleArray", "F32, F16 or BF16");
        }
    }

    /// <summary>Values of an F64, F32, F16 or BF16 tensor (exact widening).</summary>
    public double[] ToDoubleArray()
    {
        if (DType == SafeTensorDType.F64)
        {
            return Decode<double>(Data.Span);
        }

        if (DType is SafeTensorDType.F32 or SafeTensorDType.F16 or SafeTensorDType.BF16)
        {
            var f = ToSingleArray();
            var r = new double[f.Length];
            for (int i = 0; i < f.Length; i++)
            {
                r[i] = f[i];
            }

            return r;
        }

        throw WrongType("ToDoubleArray", "F64, F32, F16 or BF16");
    }

    /// <summary>Values of an I32 tensor, or of a narrower integer/BOOL tensor widened.</summary>
    public int[] ToInt32Array()
    {
        if (DType == SafeTensorDType.I32)
        {
            return Decode<int>(Data.Span);
        }

        if (DType is SafeTensorDType.I16 or SafeTensorDType.U16 or SafeTensorDType.I8 or SafeTensorDType.U8 or SafeTensorDType.BOOL)
        {
            var r = new int[ElementCount];
            for (int i = 0; i < r.Length; i++)
            {
                r[i] = (int)IntegerAt(i);
            }

            return r;
        }

        throw WrongType("ToInt32Array", "I32, I16, U16, I8, U8 or BOOL");
    }

    /// <summary>Values of an I64 tensor, or of a narrower integer/BOOL tensor widened.</summary>
    public long[] ToInt64Array()
    {
        if (DType == SafeTensorDType.I64)
        {
            return Decode<long>(Data.Span);
        }

        if (DType is SafeTensorDType.I32 or SafeTensorDType.U32 or SafeTensorDType.I16 or SafeTensorDType.U16 or SafeTensorDType.I8 or SafeTensorDType.U8 or SafeTensorDType.BOOL)
        {
            var r = new long[ElementCount];
            for (int i = 0; i < r.Length; i++)
            {
                r[i] = IntegerAt(i);
            }

            return r;
        }

        throw WrongType("ToInt64Array", "I64, I32, U32, I16, U16, I8, U8 or BOOL");
    }

    /// <summary>Values of a U64 tensor.</summary>
    public ulong[] ToUInt64Array() =>
        DType == SafeTensorDType.U64 ? Decode<ulong>(Data.Span) : throw WrongType("ToUInt64Array", "U64");

    /// <summary>Values of a U8 or BOOL tensor.</summary>
    public byte[] ToByteArray() =>
        DType is SafeTensorDType.U8 or SafeTensorDType.BOOL ? Data.ToArray() : throw WrongType("ToByteArray", "U8 or BOOL");

    /// <summary>Values of an F16 tensor.</summary>
    public Half[] ToHalfArray() =>
        DType == SafeTensorDType.F16 ? Decode<Half>(Data.Span) : throw WrongType("ToHalfArray", "F16");

    public override string ToString() => $"{Name} {DType.FileName()} {Tensor.FormatShape(shape)}";

    internal static ushort ToBFloat16Bits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            // Truncating could clear every mantissa bit and turn a NaN into infinity; force a quiet NaN.
            return (ushort)((bits >> 16) | 0x0040);
        }

        uint roundingBias = 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)((bits + roundingBias) >> 16);
    }

    private long IntegerAt(int i)
    {
        var b = Data.Span;
        return DType switch
        {
            SafeTensorDType.BOOL or SafeTensorDType.U8 => b[i],
            SafeTensorDType.I8 => (sbyte)b[i],
            SafeTensorDType.I16 => BinaryPrimitives.ReadInt16LittleEndian(b[(2 * i)..]),
            SafeTensorDType.U16 => BinaryPrimitives.ReadUInt16LittleEndian(b[(2 * i)..]),
            SafeTensorDType.I32 => BinaryPrimitives.ReadInt32LittleEndian(b[(4 * i)..]),
            SafeTensorDType.U32 => BinaryPrimitives.ReadUInt32LittleEndian(b[(4 * i)..]),
            _ => throw WrongType("IntegerAt", "an integer type"),
        };
    }

    private InvalidOperationException WrongType(string method, string accepted) =>
        new($"SafeTensor '{Name}': {method} needs {accepted}, the tensor is {DType.FileName()}.");

    private static byte[] Encode<T>(ReadOnlySpan<T> values)
        where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            ReverseEach(bytes, Unsafe.SizeOf<T>());
        }

        return bytes;
    }

    private static T[] Decode<T>(ReadOnlySpan<byte> bytes)
        where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        var values = new T[bytes.Length / size];
        var dst = MemoryMarshal.AsBytes(values.AsSpan());
        bytes.CopyTo(dst);
        if (!BitConverter.IsLittleEndian)
        {
            ReverseEach(dst, size);
        }

        return values;
    }

    private static void ReverseEach(Span<byte> bytes, int size)
    {
        for (int i = 0; i + size <= bytes.Length; i += size)
        {
            bytes.Slice(i, size).Reverse();
        }
    }
}
