using System.Buffers.Binary;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Security.Cryptography;
using LstmSharp.Tensors;

namespace LstmSharp.Data;

/// <summary>MNIST: 60,000 training and 10,000 test images of 28×28 pixels, labels 0–9.</summary>
/// <param name="TrainImages">[60000, 28, 28], pixels scaled to [0, 1] (byte / 255).</param>
/// <param name="TrainLabels">60,000 digits 0–9.</param>
/// <param name="TestImages">[10000, 28, 28], scaled the same way.</param>
/// <param name="TestLabels">10,000 digits 0–9.</param>
/// <param name="Folder">The folder the files were read from.</param>
public sealed record MnistDataset(Tensor TrainImages, int[] TrainLabels, Tensor TestImages, int[] TestLabels, string Folder);

/// <summary>
/// Loads MNIST from its four IDX files (gzipped or not), downloading them when missing.
/// The IDX layout: big-endian int32 magic (2051 images, 2049 labels), the dimension sizes as
/// big-endian int32, then unsigned bytes.
/// </summary>
public static class Mnist
{
    public const int ImageMagic = 2051;
    public const int LabelMagic = 2049;
    public const int Rows = 28;
    public const int Cols = 28;
    public const int NumClasses = 10;

    /// <summary>The official mirrors, tried in order.</summary>
    public static readonly IReadOnlyList<Uri> Mirrors =
    [
        new("https://storage.googleapis.com/cvdf-datasets/mnist/"),
        new("https://ossci-datasets.s3.amazonaws.com/mnist/"),
    ];

    /// <summary>Name, size and SHA-256 of each decompressed file (the originals).</summary>
    internal static readonly (string Name, long Bytes, string Sha256)[] Files =
    [
        ("train-images-idx3-ubyte", 47040016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
        ("train-labels-idx1-ubyte", 60008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
        ("t10k-images-idx3-ubyte", 7840016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
        ("t10k-labels-idx1-ubyte", 10008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    ];

    /// <summary>
    /// Loads the four files from the MNIST folder (see <see cref="DataLocation"/>), downloading
    /// the missing ones unless <see cref="DatasetOptions.AllowDownload"/> is false.
    /// </summary>
    /// <param name="limit">Load only the first <paramref name="limit"/> samples of each split.</param>
    /// <param name="options">Where the files are, download and progress settings.</param>
    /// <exception cref="DatasetNotFoundException">Files missing and the download failed; the message lists them and the folder.</exception>
    /// <exception cref="InvalidDataException">A file is truncated or is not the expected IDX file.</exception>
    public static MnistDataset LoadData(int? limit = null, DatasetOptions? options = null)
    {
        CheckLimit(limit, nameof(LoadData));

        options ??= new DatasetOptions();
        var markers = Files.SelectMany(f => new[] { f.Name, f.Name + ".gz" });
        string folder = DataLocation.ResolveDatasetFolder(options.Path, "mnist", markers);
        EnsureFiles(folder, options);

        var (trainImages, trainLabels) = LoadSplit(Find(folder, Files[0].Name)!, Find(folder, Files[1].Name)!, limit);
        var (testImages, testLabels) = LoadSplit(Find(folder, Files[2].Name)!, Find(folder, Files[3].Name)!, limit);
        return new MnistDataset(trainImages, trainLabels, testImages, testLabels, folder);
    }

    /// <summary>Reads one split (an image file and its label file) and checks that their counts agree.</summary>
    public static (Tensor Images, int[] Labels) LoadSplit(string imagesPath, string labelsPath, int? limit = null)
    {
        var images = ReadImages(imagesPath, limit, out int imageCount);
        var labels = ReadLabels(labelsPath, limit, out int labelCount);
        if (imageCount != labelCount)
        {
            throw new InvalidDataException($"Mnist: '{imagesPath}' holds {imageCount} images but '{labelsPath}' holds {labelCount} labels; expected equal counts.");
        }

        return (images, labels);
    }

    /// <summary>
    /// Reads an IDX3 image file (raw or <c>.gz</c>) into [n, 28, 28] floats scaled by 1/255.
    /// </summary>
    public static Tensor ReadImages(string path, int? limit = null) => ReadImages(path, limit, out _);

    private static Tensor ReadImages(string path, int? limit, out int count)
    {
        CheckLimit(limit, nameof(ReadImages));
        using var stream = OpenIdx(path, out long? rawLength);
        Span<byte> header = stackalloc byte[16];
        ReadHeader(stream, path, header, ImageMagic, "images");
        count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        int rows = BinaryPrimitives.ReadInt32BigEndian(header[8..]);
        int cols = BinaryPrimitives.ReadInt32BigEndian(header[12..]);
        if (count < 0 || rows != Rows || cols != Cols)
        {
            throw new InvalidDataException($"Mnist: '{path}' holds images of shape [{count}, {rows}, {cols}], expected [*, {Rows}, {Cols}].");
        }

        long expectedLength = 16 + ((long)count * Rows * Cols);
        CheckRawLength(path, rawLength, expectedLength);
        int n = limit is int l ? Math.Min(l, count) : count;
        if ((long)n * Rows * Cols > Array.MaxLength)
        {
            throw new InvalidDataException($"Mnist: '{path}' declares {count} images; at most {Array.MaxLength / (Rows * Cols)} fit in one tensor (pass a limit).");
        }

        // The tensor is sized only once the stream has delivered the pixels: a small .gz may claim a million images.
        var chunks = ReadBounded(stream, path, (long)n * Rows * Cols, 16, expectedLength);
        var images = new Tensor(n, Rows, Cols);
        var dst = images.Span;
        int at = 0;
        foreach (var chunk in chunks)
        {
            var floats = dst.Slice(at, chunk.Length);
            TensorPrimitives.ConvertTruncating<byte, float>(chunk, floats);
            TensorPrimitives.Divide(floats, 255f, floats);
            at += chunk.Length;
        }

        if (n == count)
        {
            CheckAtEnd(stream, path, expectedLength);
        }

        return images;
    }

    /// <summary>Reads an IDX1 label file (raw or <c>.gz</c>); every label must be in 0..9.</summary>
    public static int[] ReadLabels(string path, int? limit = null) => ReadLabels(path, limit, out _);

    private static int[] ReadLabels(string path, int? limit, out int count)
    {
        CheckLimit(limit, nameof(ReadLabels));
        using var stream = OpenIdx(path, out long? rawLength);
        Span<byte> header = stackalloc byte[8];
        ReadHeader(stream, path, header, LabelMagic, "labels");
        count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        if (count < 0)
        {
            throw new InvalidDataException($"Mnist: '{path}' declares {count} labels.");
        }

        long expectedLength = 8 + (long)count;
        CheckRawLength(path, rawLength, expectedLength);
        int n = limit is int l ? Math.Min(l, count) : count;
        var chunks = ReadBounded(stream, path, n, 8, expectedLength);
        if (n == count)
        {
            CheckAtEnd(stream, path, expectedLength);
        }

        var labels = new int[n];
        int i = 0;
        foreach (var chunk in chunks)
        {
            foreach (byte b in chunk)
            {
                if (b >= NumClasses)
                {
                    throw new InvalidDataException($"Mnist: '{path}' label {i} is {b}, expected 0..{NumClasses - 1}.");
                }

                labels[i++] = b;
            }
        }

        return labels;
    }

    /// <summary>
    /// Reads <paramref name="wanted"/> bytes in chunks of at most 1 MiB, so memory grows with what
    /// the stream delivers, never with what a header claims.
    /// </summary>
    private static List<byte[]> ReadBounded(Stream stream, string path, long wanted, int headerBytes, long expectedLength)
    {
        var chunks = new List<byte[]>();
        long read = 0;
        while (read < wanted)
        {
            int size = (int)Math.Min(1 << 20, wanted - read);
            var chunk = new byte[size];
            int got = stream.ReadAtLeast(chunk, size, throwOnEndOfStream: false);
            if (got < size)
            {
                throw Truncated(path, expectedLength, headerBytes + read + got);
            }

            chunks.Add(chunk);
            read += size;
        }

        return chunks;
    }

    /// <summary>
    /// Checks the SHA-256 of the decompressed bytes of each of the four files in
    /// <paramref name="folder"/> against the originals; throws <see cref="InvalidDataException"/> on a mismatch.
    /// </summary>
    public static void Verify(string folder)
    {
        foreach (var (name, bytes, sha) in Files)
        {
            string path = Find(folder, name) ?? throw new FileNotFoundException($"Mnist.Verify: '{name}' (or '{name}.gz') is not in '{folder}'.", Path.Combine(folder, name));
            VerifyFile(path, name, bytes, sha);
        }
    }

    private static void EnsureFiles(string folder, DatasetOptions options)
    {
        var missing = Files.Where(f => Find(folder, f.Name) is null).ToList();
        if (missing.Count == 0)
        {
            return;
        }

        var remote = missing
            .Select(f => new RemoteFile(
                f.Name + ".gz",
                Mirrors.Select(m => new Uri(m, f.Name + ".gz")).ToList(),
                temp => VerifyFile(temp, f.Name, f.Bytes, f.Sha256)))
            .ToList();
        var expected = Files.Select(f => f.Name + ".gz").ToList();
        string hint =
            $"Put these files in that folder, gzipped (.gz) or decompressed: {string.Join(", ", expected)} " +
            $"(missing: {string.Join(", ", missing.Select(f => f.Name + ".gz"))}); they are on {Mirrors[0]}.";
        DatasetDownloads.Fetch("MNIST", folder, remote, options, hint, expected);
    }

    /// <summary>The file as stored: <c>name</c> or <c>name.gz</c>; null when neither exists.</summary>
    private static string? Find(string folder, string name)
    {
        string raw = Path.Combine(folder, name);
        if (File.Exists(raw))
        {
            return raw;
        }

        string gz = raw + ".gz";
        return File.Exists(gz) ? gz : null;
    }

    private static void VerifyFile(string path, string name, long bytes, string sha256)
    {
        using var stream = OpenIdx(path, out _);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        long total = 0;
        int n;
        while ((n = stream.Read(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            total += n;
        }

        string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (total != bytes || actual != sha256)
        {
            throw new InvalidDataException($"Mnist: '{path}' is not the original {name}: expected {bytes} bytes with SHA-256 {sha256}, got {total} bytes with SHA-256 {actual}.");
        }
    }

    /// <summary>Opens a raw or gzipped IDX file (a .gz's trailer is verified at its end); <paramref name="rawLength"/> is its length when not compressed.</summary>
    private static Stream OpenIdx(string path, out long? rawLength) => GzipInput.Open(path, "Mnist", out rawLength);

    /// <summary>Reads the magic number first, so a label file passed as images says so even when short.</summary>
    private static void ReadHeader(Stream stream, string path, Span<byte> header, int expectedMagic, string kind)
    {
        int got = stream.ReadAtLeast(header[..4], 4, throwOnEndOfStream: false);
        if (got == 4)
        {
            int magic = BinaryPrimitives.ReadInt32BigEndian(header);
            if (magic != expectedMagic)
            {
                string other = magic == ImageMagic ? " (an image file)" : magic == LabelMagic ? " (a label file)" : string.Empty;
                throw new InvalidDataException($"Mnist: '{path}' has magic number {magic}{other}, expected {expectedMagic} for {kind}.");
            }

            got += stream.ReadAtLeast(header[4..], header.Length - 4, throwOnEndOfStream: false);
        }

        if (got < header.Length)
        {
            throw new InvalidDataException($"Mnist: '{path}' is truncated: expected a {header.Length}-byte IDX header, got {got} bytes.");
        }
    }

    private static void CheckRawLength(string path, long? rawLength, long expected)
    {
        if (rawLength is long actual && actual != expected)
        {
            throw actual < expected
                ? Truncated(path, expected, actual)
                : new InvalidDataException($"Mnist: '{path}' has {actual} bytes, expected {expected} (trailing data after the declared items).");
        }
    }

    private static void CheckAtEnd(Stream stream, string path, long expected)
    {
        Span<byte> probe = stackalloc byte[1];
        if (stream.Read(probe) > 0)
        {
            throw new InvalidDataException($"Mnist: '{path}' decompresses to more than the expected {expected} bytes (trailing data after the declared items).");
        }
    }

    private static InvalidDataException Truncated(string path, long expected, long actual) =>
        new($"Mnist: '{path}' is truncated: expected {expected} bytes, got {actual}.");

    private static void CheckLimit(int? limit, string function)
    {
        if (limit is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, $"Mnist.{function}: limit must be >= 0 or null, got {limit}.");
        }
    }
}
