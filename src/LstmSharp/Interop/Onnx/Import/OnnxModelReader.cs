using Google.Protobuf;
using LstmSharp.Interop.Onnx.Proto;

namespace LstmSharp.Interop.Onnx;

/// <summary>Reads an ONNX file into its protobuf <c>ModelProto</c>, turning every parse failure into an <see cref="OnnxFormatException"/>.</summary>
internal static class OnnxModelReader
{
    /// <summary>Protobuf messages are limited to 2 GiB; a larger file is not a single ONNX model.</summary>
    private const long MaxFileBytes = int.MaxValue;

    public static byte[] ReadBytes(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"ONNX '{path}': file not found.", path);
        }

        if (info.Length > MaxFileBytes)
        {
            throw new OnnxFormatException(path, $"the file holds {info.Length} bytes; a protobuf message (and so an ONNX model with its weights inside) is at most {MaxFileBytes}.");
        }

        return File.ReadAllBytes(path);
    }

    public static ModelProto Parse(byte[] bytes, string? file)
    {
        if (bytes.Length == 0)
        {
            throw new OnnxFormatException(file, "the file is empty.");
        }

        ModelProto model;
        try
        {
            // Parsing from an array bounds every length-delimited field by the bytes present
            // (a length past the end is "truncated"), and nesting by the recursion limit.
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (Exception e) when (IsParseError(e))
        {
            throw new OnnxFormatException(file, $"not a valid ONNX protobuf ModelProto ({e.Message})", e);
        }

        if (model.Graph is null)
        {
            throw new OnnxFormatException(file, "the ModelProto has no graph (is this an ONNX model file?).");
        }

        return model;
    }

    internal static bool IsParseError(Exception e) => e is InvalidProtocolBufferException or ArgumentException or InvalidOperationException or OverflowException or IndexOutOfRangeException;
}
