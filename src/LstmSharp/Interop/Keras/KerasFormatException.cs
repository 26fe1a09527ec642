namespace LstmSharp.Interop.Keras;

/// <summary>
/// A Keras file (<c>.keras</c> zip or legacy <c>.h5</c>) that cannot be read, holds a layer
/// LstmSharp does not have, or does not match its config. The message names the file and what is
/// wrong, e.g. <c>Keras 'model.keras': layer 'conv1d' is a Conv1D; LstmSharp has ...</c>.
/// </summary>
public sealed class KerasFormatException : IOException
{
    public KerasFormatException(string? fileName, string problem)
        : base(Compose(fileName, problem))
    {
        FileName = fileName;
        Problem = problem;
    }

    public KerasFormatException(string? fileName, string problem, Exception inner)
        : base(Compose(fileName, problem), inner)
    {
        FileName = fileName;
        Problem = problem;
    }

    /// <summary>The file being read or written.</summary>
    public string? FileName { get; }

    /// <summary>The problem alone, without the file prefix.</summary>
    public string Problem { get; }

    private static string Compose(string? fileName, string problem) => $"Keras '{fileName ?? "<memory>"}': {problem}";
}
