namespace LstmSharp.Data;

/// <summary>
/// A data set is missing and could not be downloaded. The message says which files to put in
/// which folder; <see cref="Folder"/> and <see cref="Files"/> carry the same for a program.
/// </summary>
public sealed class DatasetNotFoundException : IOException
{
    public DatasetNotFoundException(string message, string folder, IReadOnlyList<string> files, Exception? inner = null)
        : base(message, inner)
    {
        Folder = folder;
        Files = files;
    }

    /// <summary>The folder the files are expected in.</summary>
    public string Folder { get; }

    /// <summary>The file names expected there (any one set of alternatives suffices, see the message).</summary>
    public IReadOnlyList<string> Files { get; }
}
