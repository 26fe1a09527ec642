namespace LstmSharp.Serialization;

/// <summary>
/// A file written by another framework that cannot be read or does not fit the model: the base
/// of <see cref="Interop.Keras.KerasFormatException"/> and <see cref="Interop.Torch.TorchFormatException"/>.
/// The message is <c>Format 'file': problem</c>, e.g. <c>Keras 'model.keras': layer 'conv1d' is ...</c>.
/// </summary>
public abstract class ForeignFileException : IOException
{
    private protected ForeignFileException(string format, string? fileName, string problem, Exception? inner)
        : base($"{format} '{fileName ?? "<memory>"}': {problem}", inner)
    {
        FileName = fileName;
        Problem = problem;
    }

    /// <summary>The file being read or written.</summary>
    public string? FileName { get; }

    /// <summary>The problem alone, without the file prefix.</summary>
    public string Problem { get; }
}
