using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace LstmSharp.Data;

/// <summary>Reading the reviews: the official tarball (streamed), its extracted folder or the JSON-lines copy; the download and its checks.</summary>
public static partial class Imdb
{
    private static void Read(SourceInfo source, IReviewSink sink, IProgress<LoadProgress>? progress)
    {
        switch (source.Kind)
        {
            case SourceKind.JsonLines:
                ReadJsonLines(source.Files[0], 0, sink, progress);
                ReadJsonLines(source.Files[1], 1, sink, progress);
                break;
            case SourceKind.Folder:
                ReadFolder(source, sink, progress);
                break;
            case SourceKind.Tarball:
                ReadTarball(source.Path, sink, progress);
                break;
        }
    }

    internal static void ReadJsonLines(string path, int split, IReviewSink builder, IProgress<LoadProgress>? progress)
    {
        byte[] bytes;
        using (var input = GzipInput.Open(path, "Imdb", out _))
        {
            using var memory = new MemoryStream();
            input.CopyTo(memory);
            bytes = memory.ToArray();
        }

        string stage = $"tokenize {Splits[split]} ({Path.GetFileName(path)})";
        var data = bytes.AsSpan();
        int pos = 0, line = 0;
        while (pos < data.Length)
        {
            int nl = data[pos..].IndexOf((byte)'\n');
            var row = nl < 0 ? data[pos..] : data.Slice(pos, nl);
            pos = nl < 0 ? data.Length : pos + nl + 1;
            line++;
            if (row.Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }

            var (label, text) = ParseJsonLine(row, path, line);
            builder.Add(split, label, (0, line, string.Empty), text);
            if ((line & 1023) == 0)
            {
                progress?.Report(new LoadProgress(stage, pos, data.Length));
            }
        }

        progress?.Report(new LoadProgress(stage, data.Length, data.Length));
    }

    private static (int Label, string Text) ParseJsonLine(ReadOnlySpan<byte> row, string path, int line)
    {
        int? label = null;
        string? text = null;
        try
        {
            var reader = new Utf8JsonReader(row);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new InvalidDataException($"Imdb: '{path}' line {line} is not a JSON object.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("label"u8))
                {
                    reader.Read();
                    label = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int l) ? l : -1;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("text"u8))
                {
                    reader.Read();
                    text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    reader.Skip();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                throw new InvalidDataException($"Imdb: '{path}' line {line} is not one JSON object.");
            }

            if (reader.Read())
            {
                throw new InvalidDataException($"Imdb: '{path}' line {line} has more after its JSON object (at byte {reader.TokenStartIndex}).");
            }
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Imdb: '{path}' line {line} is not valid JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // Utf8JsonReader.GetString refuses invalid UTF-8 and lone surrogates ("\ud800") in a string.
            throw new InvalidDataException($"Imdb: '{path}' line {line} holds a string that is not valid UTF-8 / Unicode: {e.Message}", e);
        }

        if (label is not (0 or 1) || text is null)
        {
            throw new InvalidDataException($"Imdb: '{path}' line {line}: expected {{\"label\": 0 or 1, \"text\": \"...\"}}, got label {(label is null ? "missing" : label.ToString())} and {(text is null ? "no text string" : "a text")}.");
        }

        return (label.Value, text);
    }

    /// <summary>Split (0 train, 1 test) and label of a review path <c>…/{train|test}/{neg|pos}/{id}_{stars}.txt</c>, or null.</summary>
    private static (int Split, int Label, long Id, string Name)? Classify(string path)
    {
        var parts = path.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 3 || !parts[^1].EndsWith(".txt", StringComparison.Ordinal))
        {
            return null;
        }

        int split = Array.IndexOf(Splits, parts[^3]);
        int label = parts[^2] == "neg" ? 0 : parts[^2] == "pos" ? 1 : -1;
        if (split < 0 || label < 0)
        {
            return null;
        }

        string name = parts[^1];
        int underscore = name.IndexOf('_');
        long id = long.TryParse(underscore > 0 ? name.AsSpan(0, underscore) : name.AsSpan(0, name.Length - 4), out long v) ? v : long.MaxValue;
        return (split, label, id, name);
    }

    private static void ReadFolder(SourceInfo source, IReviewSink builder, IProgress<LoadProgress>? progress)
    {
        int done = 0;
        foreach (string file in source.Files)
        {
            if (Classify(Path.GetRelativePath(source.Path, file)) is (int split, int label, long id, string name))
            {
                builder.Add(split, label, (label, id, name), File.ReadAllText(file, Encoding.UTF8));
            }

            if ((++done & 1023) == 0)
            {
                progress?.Report(new LoadProgress($"tokenize {Path.GetFileName(source.Path)}", done, source.Files.Length) { Unit = "files" });
            }
        }

        progress?.Report(new LoadProgress($"tokenize {Path.GetFileName(source.Path)}", done, source.Files.Length) { Unit = "files" });
    }

    private static void ReadTarball(string path, IReviewSink builder, IProgress<LoadProgress>? progress)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        using var gz = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gz);
        int seen = 0;
        TarEntry? entry;
        try
        {
            while ((entry = tar.GetNextEntry()) is not null)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                {
                    continue;
                }

                if (Classify(entry.Name) is (int split, int label, long id, string name))
                {
                    using var reader = new StreamReader(entry.DataStream, Encoding.UTF8);
                    builder.Add(split, label, (label, id, name), reader.ReadToEnd());
                    if ((++seen & 1023) == 0)
                    {
                        progress?.Report(new LoadProgress($"tokenize {Path.GetFileName(path)}", file.Position, file.Length));
                    }
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new InvalidDataException($"Imdb: '{path}' is not a readable .tar.gz ({e.Message}); expected the official {TarballName}.", e);
        }

        progress?.Report(new LoadProgress($"tokenize {Path.GetFileName(path)}", file.Length, file.Length));
    }

    private static void Download(string folder, DatasetOptions options)
    {
        var expected = new[] { TarballName, "train.jsonl.gz", "test.jsonl.gz", "aclImdb/" };
        string hint =
            $"Put in that folder either {TarballName} (from {TarballUrl}), or its extracted aclImdb folder " +
            "(aclImdb/train/pos, aclImdb/train/neg, aclImdb/test/pos, aclImdb/test/neg with one .txt per review), " +
            "or the JSON-lines pair train.jsonl.gz and test.jsonl.gz ({\"label\": 0|1, \"text\": \"...\"} per line).";
        DatasetDownloads.Fetch("IMDB", folder, [new RemoteFile(TarballName, [TarballUrl], VerifyTarball)], options, hint, expected);
    }

    /// <summary>
    /// Checks a downloaded tarball: its published MD5, then its layout (12,500 reviews in each of
    /// train/pos, train/neg, test/pos, test/neg).
    /// </summary>
    internal static void VerifyTarball(string path)
    {
        string md5;
        using (var file = File.OpenRead(path))
        {
            md5 = Convert.ToHexStringLower(MD5.HashData(file));
        }

        if (md5 != TarballMd5)
        {
            throw new InvalidDataException($"Imdb: '{path}' is not the official {TarballName}: expected MD5 {TarballMd5}, got {md5}.");
        }

        VerifyTarballLayout(path);
    }

    internal static void VerifyTarballLayout(string path, int expectedPerFolder = ReviewsPerFolder)
    {
        var counts = new int[2, 2];
        using (var file = File.OpenRead(path))
        using (var gz = new GZipStream(file, CompressionMode.Decompress))
        using (var tar = new TarReader(gz))
        {
            TarEntry? entry;
            while ((entry = tar.GetNextEntry()) is not null)
            {
                if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile && Classify(entry.Name) is (int split, int label, _, _))
                {
                    counts[split, label]++;
                }
            }
        }

        for (int s = 0; s < 2; s++)
        {
            for (int l = 0; l < 2; l++)
            {
                if (counts[s, l] != expectedPerFolder)
                {
                    throw new InvalidDataException($"Imdb: '{path}' has {counts[s, l]} reviews in {Splits[s]}/{(l == 0 ? "neg" : "pos")}, expected {expectedPerFolder}.");
                }
            }
        }
    }
}
