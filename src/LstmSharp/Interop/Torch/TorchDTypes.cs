using System.Buffers.Binary;

namespace LstmSharp.Interop.Torch;

/// <summary>Element types of PyTorch storages (the <c>torch.FloatStorage</c> family).</summary>
public enum TorchDType
{
    Float32,
    Float64,
    Float16,
    BFloat16,
    Int64,
    Int32,
    Int16,
    Int8,
    UInt8,
    Bool,
}

internal static class TorchDTypes
{
    public static readonly IReadOnlyList<string> StorageNames =
        ["FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage", "IntStorage", "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage"];

    public static TorchDType? FromStorage(string name) => name switch
    {
        "FloatStorage" => TorchDType.Float32,
        "DoubleStorage" => TorchDType.Float64,
        "HalfStorage" => TorchDType.Float16,
        "BFloat16Storage" => TorchDType.BFloat16,
        "LongStorage" => TorchDType.Int64,
        "IntStorage" => TorchDType.Int32,
        "ShortStorage" => TorchDType.Int16,
        "CharStorage" => TorchDType.Int8,
        "ByteStorage" => TorchDType.UInt8,
        "BoolStorage" => TorchDType.Bool,
        _ => null,
    };

    public static int Size(this TorchDType t) => t switch
    {
        TorchDType.Float64 or TorchDType.Int64 => 8,
        TorchDType.Float32 or TorchDType.Int32 => 4,
        TorchDType.Float16 or TorchDType.BFloat16 or TorchDType.Int16 => 2,
        _ => 1,
    };

    public static bool IsFloat(this TorchDType t) => t is TorchDType.Float32 or TorchDType.Float64 or TorchDType.Float16 or TorchDType.BFloat16;

    /// <summary>Element <paramref name="index"/> of a little-endian storage, as a float.</summary>
    public static float Read(this TorchDType t, ReadOnlySpan<byte> storage, long index)
    {
        int i = checked((int)(index * t.Size()));
        return t switch
        {
            TorchDType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(storage[i..]),
            TorchDType.Float64 => (float)BinaryPrimitives.ReadDoubleLittleEndian(storage[i..]),
            TorchDType.Float16 => (float)BinaryPrimitives.ReadHalfLittleEndian(storage[i..]),
            TorchDType.BFloat16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(storage[i..]) << 16),
            TorchDType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(storage[i..]),
            TorchDType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(storage[i..]),
            TorchDType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(storage[i..]),
            TorchDType.Int8 => (sbyte)storage[i],
            _ => storage[i],
        };
    }
}
