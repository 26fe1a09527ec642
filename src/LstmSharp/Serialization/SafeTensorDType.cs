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
    public static string FileName(this SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.BOOL => "BOOL",
        SafeTensorDType.U8 => "U8",
        SafeTensorDType.I8 => "I8",
        SafeTensorDType.I16 => "I16",
        SafeTensorDType.U16 => "U16",
        SafeTensorDType.F16 => "F16",
        SafeTensorDType.BF16 => "BF16",
        SafeTensorDType.I32 => "I32",
        SafeTensorDType.U32 => "U32",
        SafeTensorDType.F32 => "F32",
        SafeTensorDType.I64 => "I64",
        SafeTensorDType.U64 => "U64",
        SafeTensorDType.F64 => "F64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "SafeTensorDType: unknown element type."),
    };

    /// <summary>Parses a header spelling; exact and case-sensitive, as the format is.</summary>
    public static bool TryParse(string? text, out SafeTensorDType dtype)
    {
        switch (text)
        {
            case "BOOL": dtype = SafeTensorDType.BOOL; return true;
            case "U8": dtype = SafeTensorDType.U8; return true;
            case "I8": dtype = SafeTensorDType.I8; return true;
            case "I16": dtype = SafeTensorDType.I16; return true;
            case "U16": dtype = SafeTensorDType.U16; return true;
            case "F16": dtype = SafeTensorDType.F16; return true;
            case "BF16": dtype = SafeTensorDType.BF16; return true;
            case "I32": dtype = SafeTensorDType.I32; return true;
            case "U32": dtype = SafeTensorDType.U32; return true;
            case "F32": dtype = SafeTensorDType.F32; return true;
            case "I64": dtype = SafeTensorDType.I64; return true;
            case "U64": dtype = SafeTensorDType.U64; return true;
            case "F64": dtype = SafeTensorDType.F64; return true;
            default: dtype = default; return false;
        }
    }
}
