using System.IO.Compression;

namespace LstmSharp.Interop.Torch;

/// <summary>
/// A zip archive read with limits, for files from elsewhere (<c>.pt</c>, <c>.keras</c>): the
/// sizes in the central directory are claims, so an entry is read only if its compressed size
/// fits in the file, its uncompressed size is within <see cref="MaxEntryBytes"/> and at most
/// <see cref="MaxRatio"/> times its compressed size, and the entries read so far stay within
/// <see cref="MaxTotalBytes"/>; the bytes are then read through a stream that stops at the
/// claimed size (never an array sized by the claim alone), and a short entry is an error.
/// </summary>
internal sealed class BoundedZip : IDisposable
{
    /// <summary>Largest entry read (1 GiB): a float[] of a weight must fit in one array anyway.</summary>
    public const long MaxEntryBytes = 1L << 30;

    /// <summary>Largest sum of the entries read from one archive (4 GiB).</summary>
    public const long MaxTotalBytes = 4L << 30;

    /// <summary>Largest uncompressed/compressed ratio of a deflated entry (zip bombs reach 1000:1 and more).</summary>
    public const long MaxRatio = 200;

    private readonly ZipArchive archive;
    private readonly long fileLength;
    private readonly Func<string, Exception> error;
    private long totalRead;

    private BoundedZip(ZipArchive archive, long fileLength, Func<string, Exception> error)
    {
        this.archive = archive;
        this.fileLength = fileLength;
        this.error = error;
    }

    /// <summary>Opens <paramref name="stream"/> (kept open by the caller) as a zip; <paramref name="error"/> makes the documented exception.</summary>
    public static BoundedZip Open(Stream stream, Func<string, Exception> error)
    {
        try
        {
            return new BoundedZip(new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true), stream.Length, error);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or NotSupportedException)
        {
            throw error($"not a readable zip archive ({e.Message})");
        }
    }

    public static bool LooksLikeZip(ReadOnlySpan<byte> head) => head.Length >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4;

    /// <summary>The entry names (full paths).</summary>
    public IReadOnlyList<string> Names
    {
        get
        {
            try
            {
                return archive.Entries.Select(e => e.FullName).ToArray();
            }
            catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException)
            {
                throw error($"the zip's central directory is damaged ({e.Message})");
            }
        }
    }

    public bool Contains(string name) => Names.Contains(name, StringComparer.Ordinal);

    /// <summary>The bytes of entry <paramref name="name"/>, checked as the class comment says.</summary>
    public byte[] Read(string name, long maxBytes = MaxEntryBytes)
    {
        ZipArchiveEntry? entry;
        try
        {
            entry = archive.GetEntry(name);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException)
        {
            throw error($"the zip's central directory is damaged ({e.Message})");
        }

        if (entry is null)
        {
            throw error($"zip entry '{name}' is missing");
        }

        long length = entry.Length;
        long compressed = entry.CompressedLength;
        if (length < 0 || compressed < 0 || compressed > fileLength)
        {
            throw error($"zip entry '{name}' claims {compressed} compressed bytes in a {fileLength}-byte file");
        }

        if (length > Math.Min(maxBytes, MaxEntryBytes))
        {
            throw error($"zip entry '{name}' claims {length} bytes, more than the limit of {Math.Min(maxBytes, MaxEntryBytes)}");
        }

        if (length > 1024 && length > compressed * MaxRatio)
        {
            throw error($"zip entry '{name}' expands {compressed} bytes to {length} (ratio above {MaxRatio}: a zip bomb?)");
        }

        if (totalRead + length > MaxTotalBytes)
        {
            throw error($"the zip's entries add up to more than {MaxTotalBytes} bytes");
        }

        // Grow with what really arrives; the claimed length only caps it.
        var buffer = new MemoryStream((int)Math.Min(length, 1 << 20));
        long got = 0;
        try
        {
            using var s = entry.Open();
            var chunk = new byte[81920];
            while (got <= length)
            {
                int n = s.Read(chunk, 0, (int)Math.Min(chunk.Length, length + 1 - got));
                if (n == 0)
                {
                    break;
                }

                buffer.Write(chunk, 0, n);
                got += n;
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException or ArgumentException)
        {
            throw error($"zip entry '{name}' cannot be read ({e.Message})");
        }

        if (got != length)
        {
            throw error($"zip entry '{name}' holds {(got > length ? "more than " : string.Empty)}{got} bytes, its header says {length}");
        }

        totalRead += length;
        return buffer.ToArray();
    }

    public void Dispose() => archive.Dispose();
}
