namespace LstmSharp.Interop.Torch;

/// <summary>
/// A PyTorch state-dict file (<c>.pt</c> zip + pickle, or safetensors) that cannot be read or
/// does not fit the model. The message names the file and what is wrong, e.g.
/// <c>PyTorch 'model.pt': pickle global 'os.system' is not allowed; a state_dict needs only ...</c>.
/// </summary>
public sealed class TorchFormatException : IOException
{
    public TorchFormatException(string? fileName, string problem)
        : base(Compose(fileName, problem))
    {
        FileName = fileName;
        Problem = problem;
    }

    public TorchFormatException(string? fileName, string problem, Exception inner)
        : base(Compose(fileName, problem), inner)
    {
        FileName = fileName;
        Problem = problem;
    }

    /// <summary>The file being read.</summary>
    public string? FileName { get; }

    /// <summary>The problem alone, without the file prefix.</summary>
    public string Problem { get; }

    private static string Compose(string? fileName, string problem) => $"PyTorch '{fileName ?? "<memory>"}': {problem}";
}
