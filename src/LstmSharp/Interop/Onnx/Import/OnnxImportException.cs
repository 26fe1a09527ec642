namespace LstmSharp.Interop.Onnx;

/// <summary>
/// The one exception ONNX import throws for a file it cannot turn into a model: either the
/// file is not valid ONNX (<see cref="OnnxFormatException"/>: truncated, hostile, inconsistent)
/// or it is valid but uses operators or patterns LstmSharp has no layer for
/// (<see cref="OnnxUnsupportedException"/>). The message names the file and the problem.
/// </summary>
public abstract class OnnxImportException : IOException
{
    private protected OnnxImportException(string? fileName, string problem, Exception? inner)
        : base($"ONNX '{fileName ?? "<memory>"}': {problem}", inner)
    {
        FileName = fileName;
        Problem = problem;
    }

    /// <summary>The file being read (null for an in-memory model).</summary>
    public string? FileName { get; }

    /// <summary>The problem alone, without the file prefix.</summary>
    public string Problem { get; }

    /// <summary>Shortens names taken from a file: a hostile file can hold megabyte-long ones.</summary>
    internal static string Shorten(string? name) => name is null ? "<null>" : name.Length <= 120 ? name : name[..120] + "...";
}

/// <summary>The file is not valid ONNX: truncated, not a protobuf ModelProto, or inconsistent (sizes, shapes, references).</summary>
public sealed class OnnxFormatException : OnnxImportException
{
    public OnnxFormatException(string? fileName, string problem, Exception? inner = null)
        : base(fileName, problem, inner)
    {
    }
}

/// <summary>The file is valid ONNX but holds operators, attributes or patterns that do not map onto LstmSharp layers; <see cref="Nodes"/> lists them.</summary>
public sealed class OnnxUnsupportedException : OnnxImportException
{
    public OnnxUnsupportedException(string? fileName, string problem, IReadOnlyList<string>? nodes = null)
        : base(fileName, problem, null)
    {
        Nodes = nodes ?? [];
    }

    /// <summary>The nodes concerned, as "name (OpType)".</summary>
    public IReadOnlyList<string> Nodes { get; }
}
