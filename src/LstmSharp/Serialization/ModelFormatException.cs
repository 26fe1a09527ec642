namespace LstmSharp.Serialization;

/// <summary>
/// A model or safetensors file that does not follow the format (an <see cref="IOException"/>,
/// as <see cref="InvalidDataException"/> is sealed). The message names the file,
/// the tensor (when one is concerned) and the problem, e.g.
/// <c>safetensors 'model.safetensors', tensor 'lstm/kernel': data_offsets [0, 12] hold 12 bytes, F32 [2, 3] needs 24.</c>
/// </summary>
public sealed class ModelFormatException : IOException
{
    public ModelFormatException(string? fileName, string? tensorName, string problem)
        : base(Compose(fileName, tensorName, problem))
    {
        FileName = fileName;
        TensorName = tensorName;
        Problem = problem;
    }

    public ModelFormatException(string? fileName, string? tensorName, string problem, Exception inner)
        : base(Compose(fileName, tensorName, problem), inner)
    {
        FileName = fileName;
        TensorName = tensorName;
        Problem = problem;
    }

    /// <summary>The file (or stream description) being read.</summary>
    public string? FileName { get; }

    /// <summary>The tensor concerned, or null for a file-level problem.</summary>
    public string? TensorName { get; }

    /// <summary>The problem alone, without the file and tensor prefix.</summary>
    public string Problem { get; }

    private static string Compose(string? fileName, string? tensorName, string problem)
    {
        string where = $"safetensors '{fileName ?? "<memory>"}'";
        return tensorName is null ? $"{where}: {problem}" : $"{where}, tensor '{Shorten(tensorName)}': {problem}";
    }

    // A hostile file can hold megabyte-long names; the message only needs enough to recognise one.
    private static string Shorten(string name) => name.Length <= 200 ? name : name[..200] + "...";
}
