using System.IO.Compression;

namespace LstmSharp.Data;

/// <summary>
/// Opens a data file that may be gzipped. A gzip file is checked against its trailer (CRC-32
/// and length of the decompressed data) when its data ends: .NET's <see cref="GZipStream"/>
/// reports a plain end of data when the file stops inside or before the trailer, so a cut
/// download would otherwise load without any check.
/// </summary>
internal static class GzipInput
{
    /// <summary>The file, decompressed when it starts with the gzip magic; <paramref name="rawLength"/> is its length when not compressed.</summary>
    public static Stream Open(string path, string owner, out long? rawLength)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            Span<byte> magic = stackalloc byte[2];
            int got = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
            file.Position = 0;
            if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
            {
                rawLength = null;
                return new BufferedStream(new CheckedGzipStream(file, path, owner), 1 << 16);
            }

            rawLength = file.Length;
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Decompresses and verifies the trailer of a single-member gzip file at its end.</summary>
    private sealed class CheckedGzipStream : Stream
    {
        private static readonly uint[] Table = BuildTable();

        private readonly GZipStream inner;
        private readonly string path;
        private readonly string owner;
        private readonly long fileLength;
        private readonly uint trailerCrc;
        private readonly uint trailerSize;
        private uint crc = 0xFFFFFFFFu;
        private long length;
        private bool verified;

        public CheckedGzipStream(FileStream file, string path, string owner)
        {
            this.path = path;
            this.owner = owner;
            fileLength = file.Length;
            if (fileLength >= 18)
            {
                Span<byte> trailer = stackalloc byte[8];
                file.Position = fileLength - 8;
                file.ReadExactly(trailer);
                file.Position = 0;
                trailerCrc = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(trailer);
                trailerSize = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
            }

            inner = new GZipStream(file, CompressionMode.Decompress);
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => length; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = inner.Read(buffer);
            if (n > 0)
            {
                uint c = crc;
                foreach (byte b in buffer[..n])
                {
                    c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
                }

                crc = c;
                length += n;
            }
            else if (buffer.Length > 0 && !verified)
            {
                Verify();
            }

            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private void Verify()
        {
            verified = true;
            uint actual = crc ^ 0xFFFFFFFFu;
            if (fileLength < 18 || actual != trailerCrc || (uint)length != trailerSize)
            {
                throw new InvalidDataException(
                    $"{owner}: '{path}' is a truncated or damaged .gz: its {length} decompressed bytes have CRC-32 {actual:x8}, the trailer says " +
                    (fileLength < 18 ? "nothing (the file is too short to hold one)." : $"{trailerCrc:x8} for {trailerSize} bytes (a single gzip member is expected)."));
            }
        }

        private static uint[] BuildTable()
        {
            var table = new uint[256];
            for (uint i = 0; i < 256; i++)
            {
                uint c = i;
                for (int k = 0; k < 8; k++)
                {
                    c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                }

                table[i] = c;
            }

            return table;
        }
    }
}
