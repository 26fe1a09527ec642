namespace LstmSharp.Serialization;

/// <summary>Opening a file written by another framework (Keras, PyTorch) before its format is known.</summary>
internal static class ForeignFile
{
    /// <summary>
    /// Opens <paramref name="path"/> and reads up to <c>head.Length</c> first bytes (the format's
    /// signature) into <paramref name="head"/>, then rewinds. A file that cannot be opened ends in
    /// <paramref name="error"/>'s exception, "cannot open the file (reason)".
    /// </summary>
    public static FileStream OpenWithHead(string path, Span<byte> head, out int read, Func<string, Exception, ForeignFileException> error)
    {
        FileStream stream;
        try
        {
            stream = File.OpenRead(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw error($"cannot open the file ({e.Message})", e);
        }

        try
        {
            read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            stream.Position = 0;
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }
}
