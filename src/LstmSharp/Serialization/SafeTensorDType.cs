namespace LstmSharp.Serialization;

/// <summary>
/// Element types of the safetensors format, spelled in files as the enum member's name
/// (<c>"F32"</c>, <c>"BF16"</c>, ...). All are stored little-endian.
/// </summary>
/// <remarks>The 8-bit float types of the format (<c>F8_E4M3</c>, <c>F8_E5M2</c>) are not supported.</remarks>
public enum SafeTensorDType
{
    /// <summary>One byte per element, 0 or 1.</summary>
    BOOL,
    U8,
    I8,
    I16,
    U16,

    /// <summary>IEEE 754 half precision (<see cref="Half"/>).</summary>
    F16,

    /// <summary>bfloat16: the upper 16 bits of a float32.</summary>
    BF16,
    I32,
    U32,
    F32,
    I64,
    U64,
    F64,
}

/// <summary>Sizes and file spellings of <see cref="SafeTensorDType"/>.</summary>
public static class SafeTensorDTypes
{
    /// <summary>The header spellings, indexed by the element type: the members' names, whose values run 0, 1, 2, ... in declaration order.</summary>
    private static readonly string[] Spellings = Enum.GetNames<SafeTensorDType>();

    /// <summary>Bytes per element.</summary>
    public static int SizeOf(this SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.BOOL or SafeTensorDType.U8 or SafeTensorDType.I8 => 1,
        SafeTensorDType.I16 or SafeTensorDType.U16 or SafeTensorDType.F16 or SafeTensorDType.BF16 => 2,
        SafeTensorDType.I32 or SafeTensorDType.U32 or SafeTensorDType.F32 => 4,
        SafeTensorDType.I64 or SafeTensorDType.U64 or SafeTensorDType.F64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "SafeTensorDType: unknown element type."),
    };

    /// <summary>The spelling used in the header, e.g. <c>F32</c>.</summary>
    public static string FileName(this SafeTensorDType dtype) =>
        (uint)dtype < (uint)Spellings.Length
            ? Spellings[(int)dtype]
            : throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "SafeTensorDType: unknown element type.");

    /// <summary>Parses a header spelling; exact and case-sensitive, as the format is.</summary>
    public static bool TryParse(string? text, out SafeTensorDType dtype)
    {
        int i = Array.IndexOf(Spellings, text);
        dtype = i >= 0 ? (SafeTensorDType)i : default;
        return i >= 0;
    }
}
