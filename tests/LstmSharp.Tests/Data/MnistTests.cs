using System.Buffers.Binary;
using System.IO.Compression;
using LstmSharp.Data;

namespace LstmSharp.Tests.Data;

public class MnistTests
{
    private static readonly int[] TrainHistogram = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
    private static readonly int[] TestHistogram = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

    [SkippableFact]
    public void RealFilesHaveTheDocumentedCountsHistogramsAndPixelRange()
    {
        string folder = TestData.Require("mnist");

        var data = Mnist.LoadData(options: new DatasetOptions { Path = folder, AllowDownload = false });
        Assert.Equal(new[] { 60000, 28, 28 }, data.TrainImages.ShapeArray);
        Assert.Equal(new[] { 10000, 28, 28 }, data.TestImages.ShapeArray);
        Assert.Equal(TrainHistogram, Histogram(data.TrainLabels));
        Assert.Equal(TestHistogram, Histogram(data.TestLabels));
        foreach (var images in new[] { data.TrainImages, data.TestImages })
        {
            var span = images.Span;
            float min = float.MaxValue, max = float.MinValue;
            foreach (float v in span)
            {
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }

            Assert.Equal(0f, min);
            Assert.Equal(1f, max);
        }

        // The root holding mnist/ resolves to the same folder; a limit reads the same first samples.
        var first = Mnist.LoadData(limit: 100, options: new DatasetOptions { Path = TestData.DatasetsRoot, AllowDownload = false });
        Assert.Equal(folder, first.Folder);
        Assert.Equal(new[] { 100, 28, 28 }, first.TrainImages.ShapeArray);
        Assert.Equal(data.TrainLabels[..100], first.TrainLabels);
        Assert.Equal(data.TestLabels[..100], first.TestLabels);
        Assert.True(data.TrainImages.Slice(0, 100).Span.SequenceEqual(first.TrainImages.Span));
    }

    [SkippableFact]
    public void RealFilesMatchTheOriginalChecksums()
    {
        string folder = TestData.Require("mnist");

        Mnist.Verify(folder);
    }

    [Fact]
    public void SmallFilesRoundTripRawAndGzipped()
    {
        string dir = TestData.NewTempFolder("mnist-small");
        try
        {
            var pixels = new byte[3 * 28 * 28];
            for (int i = 0; i < pixels.Length; i++)
            {
                pixels[i] = (byte)(i * 7 % 256);
            }

            foreach (bool gz in new[] { false, true })
            {
                string images = WriteIdx(dir, "img" + gz, ImageFile(3, 28, 28, pixels), gz);
                string labels = WriteIdx(dir, "lbl" + gz, LabelFile(3, [7, 0, 9]), gz);
                var (x, y) = Mnist.LoadSplit(images, labels);
                Assert.Equal(new[] { 3, 28, 28 }, x.ShapeArray);
                Assert.Equal(new[] { 7, 0, 9 }, y);
                for (int i = 0; i < pixels.Length; i++)
                {
                    Assert.Equal(pixels[i] / 255f, x.Span[i]);
                }

                var (x2, y2) = Mnist.LoadSplit(images, labels, limit: 2);
                Assert.Equal(new[] { 2, 28, 28 }, x2.ShapeArray);
                Assert.Equal(new[] { 7, 0 }, y2);
            }
        }
        finally
        {
            TestData.DeleteFolder(dir);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedFilesNameTheFileAndTheExpectedAndActualLength(bool gz)
    {
        string dir = TestData.NewTempFolder("mnist-trunc");
        try
        {
            var full = ImageFile(2, 28, 28, new byte[2 * 784]);
            string path = WriteIdx(dir, "short-images", full[..^100], gz);
            var e = Assert.Throws<InvalidDataException>(() => Mnist.ReadImages(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("truncated", e.Message);
            Assert.Contains($"expected {16 + (2 * 784)} bytes, got {16 + (2 * 784) - 100}", e.Message);

            string labels = WriteIdx(dir, "short-labels", LabelFile(5, [1, 2, 3, 4, 5])[..^2], gz);
            e = Assert.Throws<InvalidDataException>(() => Mnist.ReadLabels(labels));
            Assert.Contains(labels, e.Message);
            Assert.Contains("expected 13 bytes, got 11", e.Message);

            string header = WriteIdx(dir, "header-only", full[..10], gz);
            e = Assert.Throws<InvalidDataException>(() => Mnist.ReadImages(header));
            Assert.Contains(header, e.Message);
            Assert.Contains("expected a 16-byte IDX header, got 10 bytes", e.Message);

            string longer = WriteIdx(dir, "long-labels", [.. LabelFile(2, [1, 2]), 3], gz);
            e = Assert.Throws<InvalidDataException>(() => Mnist.ReadLabels(longer));
            Assert.Contains(longer, e.Message);
            Assert.Contains("trailing data", e.Message);
        }
        finally
        {
            TestData.DeleteFolder(dir);
        }
    }

    [Fact]
    public void WrongMagicDimensionsCountsAndLabelsGiveClearErrors()
    {
        string dir = TestData.NewTempFolder("mnist-bad");
        try
        {
            string labels = WriteIdx(dir, "labels", LabelFile(2, [1, 2]), gz: true);
            var e = Assert.Throws<InvalidDataException>(() => Mnist.ReadImages(labels));
            Assert.Contains(labels, e.Message);
            Assert.Contains("magic number 2049 (a label file), expected 2051", e.Message);

            var bogus = LabelFile(2, [1, 2]);
            BinaryPrimitives.WriteInt32BigEndian(bogus, 0x1234);
            string bogusPath = WriteIdx(dir, "bogus", bogus, gz: false);
            e = Assert.Throws<InvalidDataException>(() => Mnist.ReadLabels(bogusPath));
            Assert.Contains($"magic number {0x1234}, expected 2049", e.Message);

            string wide = WriteIdx(dir, "wide", ImageFile(2, 28, 32, new byte[2 * 28 * 32]), gz: false);
            e = Assert.Throws<InvalidDataException>(() => Mnist.ReadImages(wide));
            Assert.Contains(wide, e.Message);
            Assert.Contains("[2, 28, 32], expected [*, 28, 28]", e.Message);

            string images = WriteIdx(dir, "images", ImageFile(3, 28, 28, new byte[3 * 784]), gz: false);
            e = Assert.Throws<InvalidDataException>(() => Mnist.LoadSplit(images, labels));
            Assert.Contains(images, e.Message);
            Assert.Contains(labels, e.Message);
            Assert.Contains("holds 3 images but", e.Message);
            Assert.Contains("holds 2 labels", e.Message);

            // The counts are compared as declared, even when a limit reads fewer.
            Assert.Throws<InvalidDataException>(() => Mnist.LoadSplit(images, labels, limit: 1));

            string badLabel = WriteIdx(dir, "badlabel", LabelFile(2, [3, 12]), gz: false);
            e = Assert.Throws<InvalidDataException>(() => Mnist.ReadLabels(badLabel));
            Assert.Contains("label 1 is 12, expected 0..9", e.Message);

            Assert.Throws<ArgumentOutOfRangeException>(() => Mnist.ReadLabels(labels, limit: -1));
        }
        finally
        {
            TestData.DeleteFolder(dir);
        }
    }

    [Fact]
    public void OfflineDownloadFailsWithTheFilesAndFolderToUse()
    {
        string dir = TestData.NewTempFolder("mnist-offline");
        try
        {
            var downloader = new OfflineDownloader();
            var e = Assert.Throws<DatasetNotFoundException>(() => Mnist.LoadData(options: new DatasetOptions { Path = dir, Downloader = downloader }));
            string folder = Path.Combine(dir, "mnist");
            Assert.Equal(folder, e.Folder);
            Assert.Contains($"'{folder}'", e.Message);
            foreach (string name in new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" })
            {
                Assert.Contains(name, e.Message);
                Assert.Contains(name, e.Files);
            }

            Assert.Contains("Name or service not known", e.Message);
            Assert.Contains("LSTMSHARP_DATA", e.Message);

            // Both mirrors were tried for the first file, then the loader gave up.
            Assert.Equal(2, downloader.Requested.Count);
            Assert.Equal("storage.googleapis.com", downloader.Requested[0].Host);
            Assert.Equal("ossci-datasets.s3.amazonaws.com", downloader.Requested[1].Host);
            Assert.False(Directory.Exists(folder), "a failed download left its folder behind");

            var handler = new FailingHandler();
            using var http = new HttpDownloader(handler);
            e = Assert.Throws<DatasetNotFoundException>(() => Mnist.LoadData(options: new DatasetOptions { Path = folder, Downloader = http }));
            Assert.Contains("Network is unreachable", e.Message);
            Assert.Equal(2, handler.Calls);
            Assert.False(Directory.Exists(folder), "a failed download left its folder behind");

            e = Assert.Throws<DatasetNotFoundException>(() => Mnist.LoadData(options: new DatasetOptions { Path = folder, AllowDownload = false }));
            Assert.Contains("downloading is turned off", e.Message);
        }
        finally
        {
            TestData.DeleteFolder(dir);
        }
    }

    [SkippableFact]
    public void DownloadVerifiesChecksumsWritesAtomicallyAndReportsProgress()
    {
        string shared = TestData.Require("mnist");

        string dir = TestData.NewTempFolder("mnist-download");
        try
        {
            // A mirror that serves corrupted bytes: the checksum rejects every file and nothing is left behind.
            var corrupt = new LocalFilesHandler(shared, Recompressed);
            using (var http = new HttpDownloader(corrupt))
            {
                var e = Assert.Throws<DatasetNotFoundException>(() => Mnist.LoadData(options: new DatasetOptions { Path = dir, Downloader = http }));
                Assert.Contains("SHA-256", e.Message);
                Assert.False(Directory.Exists(Path.Combine(dir, "mnist")), "a failed download left its folder behind");
            }

            var handler = new LocalFilesHandler(shared);
            var progress = new ListProgress<DownloadProgress>();
            using (var http = new HttpDownloader(handler))
            {
                var data = Mnist.LoadData(limit: 10, options: new DatasetOptions { Path = dir, Downloader = http, DownloadProgress = progress });
                Assert.Equal(10, data.TrainLabels.Length);
            }

            Assert.Equal(4, handler.Requested.Count);
            Assert.All(handler.Requested, u => Assert.Equal("storage.googleapis.com", u.Host));
            Assert.Equal(
                new[] { "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz" },
                Directory.GetFiles(Path.Combine(dir, "mnist")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            var last = progress.Items.Last(p => p.FileName == "train-images-idx3-ubyte.gz");
            Assert.Equal(new FileInfo(Path.Combine(shared, "train-images-idx3-ubyte.gz")).Length, last.BytesReceived);
            Assert.Equal(1.0, last.Fraction);
            foreach (string f in Directory.GetFiles(Path.Combine(dir, "mnist")))
            {
                Assert.Equal(File.ReadAllBytes(Path.Combine(shared, Path.GetFileName(f))), File.ReadAllBytes(f));
            }
        }
        finally
        {
            TestData.DeleteFolder(dir);
        }
    }

    private static int[] Histogram(int[] labels)
    {
        var h = new int[10];
        foreach (int l in labels)
        {
            h[l]++;
        }

        return h;
    }

    /// <summary>A valid gzip of the wrong bytes (what a broken mirror or proxy might serve).</summary>
    private static byte[] Recompressed(byte[] gz)
    {
        using var output = new MemoryStream();
        using (var z = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(gz.AsSpan(0, Math.Min(gz.Length, 1000)));
        }

        return output.ToArray();
    }

    private static byte[] ImageFile(int count, int rows, int cols, byte[] pixels)
    {
        var b = new byte[16 + pixels.Length];
        BinaryPrimitives.WriteInt32BigEndian(b, Mnist.ImageMagic);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(12), cols);
        pixels.CopyTo(b, 16);
        return b;
    }

    private static byte[] LabelFile(int count, byte[] labels)
    {
        var b = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(b, Mnist.LabelMagic);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4), count);
        labels.CopyTo(b, 8);
        return b;
    }

    private static string WriteIdx(string dir, string name, byte[] bytes, bool gz)
    {
        string path = Path.Combine(dir, name + (gz ? ".gz" : string.Empty));
        if (!gz)
        {
            File.WriteAllBytes(path, bytes);
            return path;
        }

        using var file = File.Create(path);
        using var z = new GZipStream(file, CompressionLevel.Fastest);
        z.Write(bytes);
        return path;
    }
}
