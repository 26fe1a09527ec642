using LstmSharp.Serialization;

namespace LstmSharp.Tests.Serialization;

public class SafeTensorsAtomicSaveTests
{
    [Fact]
    public void AFailureMidWriteLeavesThePreviousFileIntactAndNoTemporaryFile()
    {
        using var dir = new TempFolder();
        string path = Path.Combine(dir.Path, "model.safetensors");
        var (tensors, metadata) = SafeTensorsTestFiles.Sample();
        SafeTensors.Save(path, tensors, metadata);
        var before = File.ReadAllBytes(path);

        var bigger = tensors.Append(SafeTensor.FromSingles("extra", new float[1000], new[] { 1000 })).ToList();
        foreach (int failAfter in new[] { 0, 7, 100, 3000 })
        {
            var e = Assert.Throws<IOException>(() => SafeTensors.Save(path, bigger, metadata, s => new FailingStream(s, failAfter)));
            Assert.Contains("injected", e.Message);
            Assert.Equal(before, File.ReadAllBytes(path));
            Assert.Equal(new[] { "model.safetensors" }, Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        }

        // A successful save replaces the file, and nothing else is left in the folder.
        SafeTensors.Save(path, bigger, metadata);
        Assert.Equal(SafeTensors.Serialize(bigger, metadata), File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void InvalidInputNeverTouchesTheDisk()
    {
        using var dir = new TempFolder();
        string path = Path.Combine(dir.Path, "model.safetensors");
        File.WriteAllText(path, "previous");
        var a = SafeTensor.FromSingles("a", new[] { 1f }, new[] { 1 });
        Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, new[] { a, a }));
        Assert.Equal("previous", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void SavingIntoAMissingFolderFailsWithoutLeftovers()
    {
        using var dir = new TempFolder();
        string path = Path.Combine(dir.Path, "missing", "model.safetensors");
        Assert.Throws<DirectoryNotFoundException>(() => SafeTensors.Save(path, Array.Empty<SafeTensor>()));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    /// <summary>Passes writes through until <c>failAfter</c> bytes, then throws like a full disk.</summary>
    private sealed class FailingStream(Stream inner, int failAfter) : Stream
    {
        private long written;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => written;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (written + buffer.Length > failAfter)
            {
                int part = (int)(failAfter - written);
                inner.Write(buffer[..part]);
                inner.Flush();
                throw new IOException($"injected failure after {failAfter} bytes");
            }

            inner.Write(buffer);
            written += buffer.Length;
        }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
