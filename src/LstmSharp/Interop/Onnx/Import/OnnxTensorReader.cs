using System.Buffers.Binary;
using Google.Protobuf;
using LstmSharp.Interop.Onnx.Proto;
using LstmSharp.Tensors;

namespace LstmSharp.Interop.Onnx;

/// <summary>
/// A constant of an ONNX graph (initializer, Constant node, bound input or folded value):
/// dims and either float values (FLOAT, DOUBLE, FLOAT16) or integer values (INT*, UINT*, BOOL).
/// </summary>
internal sealed class OnnxConstant
{
    public OnnxConstant(long[] dims, float[] floats)
    {
        Dims = dims;
        Floats = floats;
    }

    public OnnxConstant(long[] dims, long[] ints)
    {
        Dims = dims;
        Ints = ints;
    }

    public long[] Dims { get; }

    public float[]? Floats { get; }

    public long[]? Ints { get; }

    public bool IsFloat => Floats is not null;

    public int Count => Floats?.Length ?? Ints!.Length;

    public int Rank => Dims.Length;

    public double this[int i] => Floats is { } f ? f[i] : Ints![i];

    public long[] AsLongs() => Ints ?? Floats!.Select(v => (long)v).ToArray();

    public float[] AsFloats() => Floats ?? Ints!.Select(v => (float)v).ToArray();

    public string ShapeText => "[" + string.Join(", ", Dims) + "]";
}

/// <summary>
/// Reads ONNX <c>TensorProto</c>s. Every size is checked against the bytes actually present
/// before anything is allocated: dims must be non-negative with a product that fits, and
/// <c>raw_data</c> or the typed list must hold exactly that many elements.
/// </summary>
internal static class OnnxTensorReader
{
    /// <summary>Most elements a tensor may declare (2^31 - 1, the largest array).</summary>
    private const long MaxElements = int.MaxValue;

    public static OnnxConstant Read(TensorProto t, string? file, string what)
    {
        string name = $"{what} '{OnnxImportException.Shorten(t.Name)}'";
        if (t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0)
        {
            string location = t.ExternalData.FirstOrDefault(e => e.Key == "location")?.Value ?? "?";
            throw new OnnxUnsupportedException(file, $"{name} keeps its data in an external file ('{OnnxImportException.Shorten(location)}'); save the model with its weights inside (onnx.save(model, path, save_as_external_data=False)).");
        }

        if (t.Segment is not null)
        {
            throw new OnnxUnsupportedException(file, $"{name} is a segment of a larger tensor; segmented tensors are not supported.");
        }

        var dims = t.Dims.ToArray();
        long count = 1;
        foreach (long d in dims)
        {
            if (d < 0)
            {
                throw new OnnxFormatException(file, $"{name} has a negative dimension in dims [{string.Join(", ", dims)}].");
            }

            count = d == 0 || count == 0 ? 0 : count > MaxElements / d ? MaxElements + 1 : count * d;
            if (count > MaxElements)
            {
                throw new OnnxFormatException(file, $"{name} declares dims [{string.Join(", ", dims)}], more than {MaxElements} elements.");
            }
        }

        int n = (int)count;
        var type = (TensorProto.Types.DataType)t.DataType;
        int size = ElementSize(type);
        if (size == 0)
        {
            throw new OnnxUnsupportedException(file, $"{name} has data type {TypeName(t.DataType)}; supported: FLOAT, DOUBLE, FLOAT16, BFLOAT16, INT8/16/32/64, UINT8/16/32/64, BOOL.");
        }

        var raw = t.RawData;
        if (!raw.IsEmpty || HasNoTypedData(t))
        {
            if ((long)raw.Length != (long)n * size)
            {
                throw new OnnxFormatException(file, $"{name}: raw_data holds {raw.Length} bytes, {TypeName(t.DataType)} {Shape(dims)} needs {(long)n * size}.");
            }

            return FromRaw(raw.Span, type, dims, n);
        }

        return FromTyped(t, type, dims, n, file, name);
    }

    public static OnnxConstant ReadFile(string path, out string name)
    {
        var bytes = OnnxModelReader.ReadBytes(path);
        TensorProto t;
        try
        {
            t = TensorProto.Parser.ParseFrom(bytes);
        }
        catch (Exception e) when (OnnxModelReader.IsParseError(e))
        {
            throw new OnnxFormatException(path, $"not a serialized ONNX TensorProto ({e.Message})", e);
        }

        name = t.Name;
        return Read(t, path, "tensor");
    }

    /// <summary>A float LstmSharp tensor of the constant (integers converted).</summary>
    public static Tensor ToTensor(OnnxConstant c)
    {
        var shape = c.Dims.Select(d => (int)d).ToArray();
        return new Tensor(c.AsFloats(), shape);
    }

    /// <summary>The constant of a float LstmSharp tensor.</summary>
    public static OnnxConstant FromTensor(Tensor t) => new(t.ShapeArray.Select(d => (long)d).ToArray(), t.ToArray());

    internal static string TypeName(int type) => Enum.IsDefined((TensorProto.Types.DataType)type)
        ? ((TensorProto.Types.DataType)type).ToString().ToUpperInvariant()
        : type.ToString(System.Globalization.CultureInfo.InvariantCulture);

    internal static bool IsFloatType(int type) => (TensorProto.Types.DataType)type is TensorProto.Types.DataType.Float
        or TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16;

    private static string Shape(long[] dims) => "[" + string.Join(", ", dims) + "]";

    private static bool HasNoTypedData(TensorProto t) =>
        t.FloatData.Count == 0 && t.Int32Data.Count == 0 && t.Int64Data.Count == 0 && t.DoubleData.Count == 0 && t.Uint64Data.Count == 0;

    private static int ElementSize(TensorProto.Types.DataType type) => type switch
    {
        TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Uint32 => 4,
        TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Uint64 => 8,
        TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16 or TensorProto.Types.DataType.Int16 or TensorProto.Types.DataType.Uint16 => 2,
        TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Bool => 1,
        _ => 0,
    };

    private static OnnxConstant FromRaw(ReadOnlySpan<byte> raw, TensorProto.Types.DataType type, long[] dims, int n)
    {
        switch (type)
        {
            case TensorProto.Types.DataType.Float:
            {
                var f = new float[n];
                for (int i = 0; i < n; i++)
                {
                    f[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(i * 4, 4));
                }

                return new OnnxConstant(dims, f);
            }

            case TensorProto.Types.DataType.Double:
            {
                var f = new float[n];
                for (int i = 0; i < n; i++)
                {
                    f[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw.Slice(i * 8, 8));
                }

                return new OnnxConstant(dims, f);
            }

            case TensorProto.Types.DataType.Float16:
            case TensorProto.Types.DataType.Bfloat16:
            {
                var f = new float[n];
                for (int i = 0; i < n; i++)
                {
                    f[i] = HalfBits(BinaryPrimitives.ReadUInt16LittleEndian(raw.Slice(i * 2, 2)), type);
                }

                return new OnnxConstant(dims, f);
            }

            default:
            {
                var v = new long[n];
                for (int i = 0; i < n; i++)
                {
                    v[i] = type switch
                    {
                        TensorProto.Types.DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(raw.Slice(i * 8, 8)),
                        TensorProto.Types.DataType.Uint64 => (long)BinaryPrimitives.ReadUInt64LittleEndian(raw.Slice(i * 8, 8)),
                        TensorProto.Types.DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(raw.Slice(i * 4, 4)),
                        TensorProto.Types.DataType.Uint32 => BinaryPrimitives.ReadUInt32LittleEndian(raw.Slice(i * 4, 4)),
                        TensorProto.Types.DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(raw.Slice(i * 2, 2)),
                        TensorProto.Types.DataType.Uint16 => BinaryPrimitives.ReadUInt16LittleEndian(raw.Slice(i * 2, 2)),
                        TensorProto.Types.DataType.Int8 => (sbyte)raw[i],
                        _ => raw[i],
                    };
                }

                return new OnnxConstant(dims, v);
            }
        }
    }

    private static OnnxConstant FromTyped(TensorProto t, TensorProto.Types.DataType type, long[] dims, int n, string? file, string name)
    {
        int present = type switch
        {
            TensorProto.Types.DataType.Float => t.FloatData.Count,
            TensorProto.Types.DataType.Double => t.DoubleData.Count,
            TensorProto.Types.DataType.Int64 => t.Int64Data.Count,
            TensorProto.Types.DataType.Uint64 or TensorProto.Types.DataType.Uint32 => t.Uint64Data.Count,
            _ => t.Int32Data.Count,
        };
        if (present != n)
        {
            throw new OnnxFormatException(file, $"{name}: holds {present} values, {TypeName(t.DataType)} {Shape(dims)} needs {n}.");
        }

        switch (type)
        {
            case TensorProto.Types.DataType.Float:
                return new OnnxConstant(dims, t.FloatData.ToArray());
            case TensorProto.Types.DataType.Double:
                return new OnnxConstant(dims, t.DoubleData.Select(d => (float)d).ToArray());
            case TensorProto.Types.DataType.Float16:
            case TensorProto.Types.DataType.Bfloat16:
                return new OnnxConstant(dims, t.Int32Data.Select(b => HalfBits((ushort)b, type)).ToArray());
            case TensorProto.Types.DataType.Int64:
                return new OnnxConstant(dims, t.Int64Data.ToArray());
            case TensorProto.Types.DataType.Uint64:
            case TensorProto.Types.DataType.Uint32:
                return new OnnxConstant(dims, t.Uint64Data.Select(u => (long)u).ToArray());
            default:
                return new OnnxConstant(dims, t.Int32Data.Select(i => (long)i).ToArray());
        }
    }

    private static float HalfBits(ushort bits, TensorProto.Types.DataType type) => type == TensorProto.Types.DataType.Bfloat16
        ? BitConverter.Int32BitsToSingle(bits << 16)
        : (float)BitConverter.UInt16BitsToHalf(bits);
}
