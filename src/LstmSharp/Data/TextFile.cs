using System.Buffers;
using System.Text.Unicode;

namespace LstmSharp.Data;

/// <summary>
/// Reads text files as strict UTF-8: a byte sequence that is not UTF-8 ends the read with one
/// <see cref="InvalidDataException"/> naming the file, the byte offset, the line and column and
/// the offending bytes (never a silent U+FFFD). A UTF-8 byte-order mark is skipped.
/// </summary>
public static class TextFile
{
    /// <summary>The whole file as a string.</summary>
    /// <exception cref="InvalidDataException">Invalid UTF-8 (with file, byte offset, line) or an empty file.</exception>
    public static string ReadAllText(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var reader = new StrictUtf8Reader(path);
        var sb = new System.Text.StringBuilder((int)Math.Min(int.MaxValue / 2, new FileInfo(path).Length));
        var buffer = new char[1 << 16];
        int n;
        while ((n = reader.Read(buffer)) > 0)
        {
            sb.Append(buffer, 0, n);
        }

        if (sb.Length == 0)
        {
            throw new InvalidDataException($"'{path}': the file is empty; expected UTF-8 text.");
        }

        return sb.ToString();
    }

    /// <summary>The file's text in pieces of at most <paramref name="chunkChars"/> characters (never splitting a surrogate pair), read lazily with constant memory — e.g. for <c>TextVectorization.Adapt</c> with the character split on a corpus larger than memory.</summary>
    /// <exception cref="InvalidDataException">Invalid UTF-8 (with file, byte offset, line).</exception>
    public static IEnumerable<string> ReadChunks(string path, int chunkChars = 1 << 16)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkChars, 2);
        return Iterate();

        IEnumerable<string> Iterate()
        {
            using var reader = new StrictUtf8Reader(path);
            var buffer = new char[chunkChars];
            int n;
            while ((n = reader.Read(buffer)) > 0)
            {
                yield return new string(buffer, 0, n);
            }
        }
    }
}

/// <summary>
/// Decodes a UTF-8 file in chunks with constant memory, validating every byte; see <see cref="TextFile"/>.
/// </summary>
public sealed class StrictUtf8Reader : IDisposable
{
    private readonly Stream stream;
    private readonly string path;
    private readonly byte[] bytes;
    private int start;
    private int end;
    private bool eof;
    private long consumed;
    private long line = 1;
    private long lineStart;

    /// <param name="path">The file.</param>
    /// <param name="bufferBytes">Bytes read from the file at a time.</param>
    public StrictUtf8Reader(string path, int bufferBytes = 1 << 16)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferBytes, 4);
        this.path = path;
        stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        bytes = new byte[bufferBytes];
        Fill();
        if (end - start >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF)
        {
            start = 3;
            consumed = 3;
            lineStart = 3;
        }
    }

    /// <summary>Bytes of the file decoded so far (the BOM included).</summary>
    public long BytesConsumed => consumed;

    /// <summary>Decodes up to <paramref name="destination"/>.Length characters; 0 at the end of the file.</summary>
    /// <exception cref="InvalidDataException">Invalid or truncated UTF-8.</exception>
    public int Read(Span<char> destination)
    {
        if (destination.Length < 2)
        {
            throw new ArgumentException("StrictUtf8Reader: the destination must hold at least 2 characters (a surrogate pair).", nameof(destination));
        }

        while (true)
        {
            if (end - start < 4 && !eof)
            {
                Fill();
            }

            if (start == end)
            {
                return 0;
            }

            var input = bytes.AsSpan(start, end - start);
            var status = Utf8.ToUtf16(input, destination, out int read, out int written, replaceInvalidSequences: false, isFinalBlock: eof);
            Advance(input[..read]);
            if (status == OperationStatus.InvalidData || (status == OperationStatus.NeedMoreData && eof))
            {
                var rest = bytes.AsSpan(start, end - start);
                throw Invalid(rest[..Math.Min(4, rest.Length)], status == OperationStatus.NeedMoreData || (eof && IsTruncatedSequence(rest)));
            }

            if (written > 0)
            {
                return written;
            }

            if (status == OperationStatus.NeedMoreData)
            {
                Fill();
                continue;
            }
        }
    }

    public void Dispose() => stream.Dispose();

    private void Advance(ReadOnlySpan<byte> read)
    {
        int at = 0;
        int nl;
        while ((nl = read[at..].IndexOf((byte)'\n')) >= 0)
        {
            at += nl + 1;
            line++;
            lineStart = consumed + at;
        }

        consumed += read.Length;
        start += read.Length;
    }

    private void Fill()
    {
        if (start > 0)
        {
            Buffer.BlockCopy(bytes, start, bytes, 0, end - start);
            end -= start;
            start = 0;
        }

        while (end < bytes.Length && !eof)
        {
            int n = stream.Read(bytes, end, bytes.Length - end);
            if (n == 0)
            {
                eof = true;
            }

            end += n;
        }
    }

    /// <summary>True when <paramref name="rest"/> is the start of a multi-byte character cut off by the end of the file.</summary>
    private static bool IsTruncatedSequence(ReadOnlySpan<byte> rest)
    {
        int needed = rest[0] switch
        {
            >= 0xC2 and <= 0xDF => 2,
            >= 0xE0 and <= 0xEF => 3,
            >= 0xF0 and <= 0xF4 => 4,
            _ => 0,
        };
        if (needed == 0 || rest.Length >= needed)
        {
            return false;
        }

        for (int i = 1; i < rest.Length; i++)
        {
            if ((rest[i] & 0xC0) != 0x80)
            {
                return false;
            }
        }

        return true;
    }

    private InvalidDataException Invalid(ReadOnlySpan<byte> at, bool truncated)
    {
        string shown = string.Join(' ', at.ToArray().Select(b => $"0x{b:X2}"));
        long column = consumed - lineStart + 1;
        return new InvalidDataException(truncated
            ? $"'{path}': invalid UTF-8 at byte offset {consumed} (line {line}, byte {column} of the line): the file ends inside a multi-byte character ({shown}); expected UTF-8 text."
            : $"'{path}': invalid UTF-8 at byte offset {consumed} (line {line}, byte {column} of the line): bytes {shown} do not form a UTF-8 character; expected UTF-8 text (re-encode the file, e.g. iconv -f latin1 -t utf-8).");
    }
}
