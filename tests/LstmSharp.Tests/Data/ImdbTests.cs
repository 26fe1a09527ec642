using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using LstmSharp.Data;

namespace LstmSharp.Tests.Data;

/// <summary>
/// Keras's load_data rules on a corpus small enough to work by hand, the three source layouts,
/// the token cache and the offline error. Tests that count tokenizations share one collection
/// so that they do not run at the same time.
/// </summary>
[Collection("imdb")]
public sealed class ImdbTests : IDisposable
{
    // (split, label, id, text). Training counts: a 4, b 2, c 1, d 1, e 1 → ranks a=1 b=2 c=3 d=4 e=5
    // (c, d, e tie and go in ordinal order); "z" appears only in test.
    private static readonly (string Split, string Label, int Id, string Text)[] Reviews =
    [
        ("train", "neg", 0, "A b<br /><br />a, C!"),
        ("train", "neg", 1, "a 'e'"),
        ("train", "pos", 0, "B a d"),
        ("test", "neg", 0, "c c"),
        ("test", "pos", 0, "a z b"),
    ];

    private readonly string dir = TestData.NewTempFolder("imdb");

    public void Dispose() => TestData.DeleteFolder(dir);

    [Fact]
    public void DefaultsGiveStartMarkThenRankPlusThree()
    {
        var d = Load(JsonLines());
        Assert.Equal(["a", "b", "c", "d", "e"], d.Vocabulary);
        Assert.Equal(1, d.WordIndex["a"]);
        Assert.Equal(5, d.WordIndex["e"]);
        Assert.False(d.WordIndex.ContainsKey("z"));
        Assert.False(d.WordIndex.ContainsKey("br"));
        AssertSplit(d.TrainSequences, d.TrainLabels, ("1 4 5 4 6", 0), ("1 4 8", 0), ("1 5 4 7", 1));
        AssertSplit(d.TestSequences, d.TestLabels, ("1 6 6", 0), ("1 4 2 5", 1));
    }

    [Fact]
    public void NumWordsSkipTopOovAndIndexFromFollowKeras()
    {
        string src = JsonLines();
        var d = Load(src, numWords: 6);
        AssertSplit(d.TrainSequences, d.TrainLabels, ("1 4 5 4 2", 0), ("1 4 2", 0), ("1 5 4 2", 1));
        AssertSplit(d.TestSequences, d.TestLabels, ("1 2 2", 0), ("1 4 2 5", 1));

        // skip_top compares the shifted index, start mark included (Keras's behaviour).
        d = Load(src, skipTop: 5);
        AssertSplit(d.TrainSequences, d.TrainLabels, ("2 2 5 2 6", 0), ("2 2 8", 0), ("2 5 2 7", 1));

        // oov_char=None removes the words instead.
        d = Load(src, numWords: 6, oovChar: null);
        AssertSplit(d.TrainSequences, d.TrainLabels, ("1 4 5 4", 0), ("1 4", 0), ("1 5 4", 1));
        AssertSplit(d.TestSequences, d.TestLabels, ("1", 0), ("1 4 5", 1));

        d = Load(src, startChar: null, indexFrom: 0);
        AssertSplit(d.TrainSequences, d.TrainLabels, ("1 2 1 3", 0), ("1 5", 0), ("2 1 4", 1));
        AssertSplit(d.TestSequences, d.TestLabels, ("3 3", 0), ("1 2 2", 1));
    }

    [Fact]
    public void MaxlenDropsSequencesOfThatLengthOrLonger()
    {
        string src = JsonLines();
        var d = Load(src, maxlen: 4);
        AssertSplit(d.TrainSequences, d.TrainLabels, ("1 4 8", 0));
        AssertSplit(d.TestSequences, d.TestLabels, ("1 6 6", 0));
        var e = Assert.Throws<ArgumentException>(() => Load(src, maxlen: 2));
        Assert.Contains("maxlen = 2", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Load(src, maxlen: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Load(src, numWords: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Load(src, skipTop: -1));
    }

    [Fact]
    public void TheSeedPermutesLikeNumpy()
    {
        // Ten training reviews whose single word names their position; RandomState(0) shuffles
        // 0..9 into 2 8 4 9 1 6 7 3 0 5.
        string folder = Path.Combine(dir, "perm");
        Directory.CreateDirectory(folder);
        string[] words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
        WriteJsonLines(Path.Combine(folder, "train.jsonl.gz"), words.Select((w, i) => (i % 2, w)));
        WriteJsonLines(Path.Combine(folder, "test.jsonl.gz"), [(0, "zero"), (1, "one")]);
        var d = Load(folder, seed: 0);
        var order = d.TrainSequences.Select(s => Array.IndexOf(words, d.Vocabulary[s[1] - 4])).ToArray();
        Assert.Equal(new[] { 2, 8, 4, 9, 1, 6, 7, 3, 0, 5 }, order);
        Assert.Equal(order.Select(i => i % 2).ToArray(), d.TrainLabels);
        var other = Load(folder, seed: 1);
        Assert.NotEqual(order, other.TrainSequences.Select(s => Array.IndexOf(words, d.Vocabulary[s[1] - 4])).ToArray());
    }

    [Fact]
    public void FolderTarballAndJsonLinesGiveTheSameData()
    {
        var fromJson = Load(JsonLines());
        var fromFolder = Load(Folder());
        var fromTar = Load(Tarball());
        Assert.EndsWith("aclImdb", fromFolder.Source);
        Assert.EndsWith(Imdb.TarballName, fromTar.Source);
        foreach (var d in new[] { fromFolder, fromTar })
        {
            Assert.Equal(fromJson.Vocabulary, d.Vocabulary);
            Assert.Equal(fromJson.TrainSequences, d.TrainSequences);
            Assert.Equal(fromJson.TrainLabels, d.TrainLabels);
            Assert.Equal(fromJson.TestSequences, d.TestSequences);
            Assert.Equal(fromJson.TestLabels, d.TestLabels);
        }
    }

    [Fact]
    public void TheCacheIsUsedOnTheSecondLoadAndRebuiltWhenStaleOrDamaged()
    {
        string src = JsonLines();
        string cache = Path.Combine(dir, "cache");
        var progress = new ListProgress<LoadProgress>();
        int before = Imdb.TokenizeCount;
        var first = Load(src, cache: cache, progress: progress);
        Assert.False(first.LoadedFromCache);
        Assert.Equal(before + 1, Imdb.TokenizeCount);
        Assert.NotNull(first.CachePath);
        Assert.True(File.Exists(first.CachePath));
        Assert.Equal(cache, Path.GetDirectoryName(first.CachePath));
        Assert.Contains(progress.Items, p => p.Stage == "tokenize train (train.jsonl.gz)" && p.Fraction == 1.0);
        Assert.All(progress.Items, p => Assert.Matches(@"^\d+\.\d/\d+\.\d MB read$", p.Describe()));

        var second = Load(src, cache: cache);
        Assert.True(second.LoadedFromCache);
        Assert.Equal(before + 1, Imdb.TokenizeCount);
        AssertSame(first, second);

        // A damaged cache is ignored and rewritten.
        var bytes = File.ReadAllBytes(first.CachePath!);
        File.WriteAllBytes(first.CachePath!, bytes[..^7]);
        var third = Load(src, cache: cache);
        Assert.False(third.LoadedFromCache);
        Assert.Equal(before + 2, Imdb.TokenizeCount);
        AssertSame(first, third);
        Assert.True(Load(src, cache: cache).LoadedFromCache);

        // A changed source has another key.
        File.SetLastWriteTimeUtc(Path.Combine(src, "train.jsonl.gz"), DateTime.UtcNow.AddMinutes(-5));
        var fourth = Load(src, cache: cache);
        Assert.False(fourth.LoadedFromCache);
        Assert.NotEqual(first.CachePath, fourth.CachePath);

        // Without a cache directory the user's cache folder holds it, never the data folder (which may be read-only).
        var inFolder = Load(src);
        Assert.Equal(DataLocation.CacheRoot, Path.GetDirectoryName(inFolder.CachePath));
        Assert.Empty(Directory.GetFiles(src, "imdb-tokens-*"));
        File.Delete(inFolder.CachePath!);
        var off = Imdb.LoadData(options: new DatasetOptions { Path = src, UseCache = false, AllowDownload = false });
        Assert.Null(off.CachePath);
        Assert.False(off.LoadedFromCache);
    }

    [Fact]
    public void OfflineDownloadFailsWithTheFilesAndFolderToUse()
    {
        var downloader = new OfflineDownloader();
        var e = Assert.Throws<DatasetNotFoundException>(() => Imdb.LoadData(options: new DatasetOptions { Path = dir, Downloader = downloader, CacheDirectory = dir }));
        string folder = Path.Combine(dir, "imdb");
        Assert.Equal(folder, e.Folder);
        Assert.Contains($"'{folder}'", e.Message);
        foreach (string name in new[] { "aclImdb_v1.tar.gz", "train.jsonl.gz", "test.jsonl.gz", "aclImdb/train/pos" })
        {
            Assert.Contains(name, e.Message);
        }

        Assert.Contains("Name or service not known", e.Message);
        Assert.Equal(Imdb.TarballUrl, Assert.Single(downloader.Requested));
        Assert.False(Directory.Exists(folder), "a failed download left its folder behind");
    }

    [Fact]
    public void ADownloadedTarballWithTheWrongDigestIsRejected()
    {
        string served = Path.GetDirectoryName(Tarball())!;
        string target = Path.Combine(dir, "fresh");
        using var http = new HttpDownloader(new LocalFilesHandler(Path.Combine(served, "imdb")));
        var e = Assert.Throws<DatasetNotFoundException>(() => Imdb.LoadData(options: new DatasetOptions { Path = target, Downloader = http }));
        Assert.Contains($"expected MD5 {Imdb.TarballMd5}", e.Message);
        Assert.False(Directory.Exists(target), "a failed download left its folders behind");

        var layout = Assert.Throws<InvalidDataException>(() => Imdb.VerifyTarballLayout(Path.Combine(served, "imdb", Imdb.TarballName)));
        Assert.Contains("has 2 reviews in train/neg, expected 12500", layout.Message);
    }

    [Fact]
    public void MalformedJsonLinesNameTheFileAndLine()
    {
        string folder = Path.Combine(dir, "bad");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "train.jsonl"), "{\"label\": 0, \"text\": \"fine\"}\n{\"label\": 3, \"text\": \"x\"}\n");
        File.WriteAllText(Path.Combine(folder, "test.jsonl"), "{\"label\": 1, \"text\": \"ok\"}\n");
        var e = Assert.Throws<InvalidDataException>(() => Load(folder));
        Assert.Contains("train.jsonl' line 2", e.Message);
        Assert.Contains("got label 3", e.Message);

        File.WriteAllText(Path.Combine(folder, "train.jsonl"), "{\"label\": 0, \"text\": \"fine\"}\n{\"label\": 1, \"text\": \"x\"\n");
        e = Assert.Throws<InvalidDataException>(() => Load(folder));
        Assert.Contains("line 2 is not valid JSON", e.Message);
    }

    internal static void AssertSame(ImdbDataset a, ImdbDataset b)
    {
        Assert.Equal(a.Vocabulary, b.Vocabulary);
        Assert.Equal(a.TrainSequences, b.TrainSequences);
        Assert.Equal(a.TrainLabels, b.TrainLabels);
        Assert.Equal(a.TestSequences, b.TestSequences);
        Assert.Equal(a.TestLabels, b.TestLabels);
    }

    private static ImdbDataset Load(string path, int? numWords = null, int skipTop = 0, int? maxlen = null, int seed = 113, int? startChar = 1, int? oovChar = 2, int indexFrom = 3, string? cache = null, IProgress<LoadProgress>? progress = null) =>
        Imdb.LoadData(numWords, skipTop, maxlen, seed, startChar, oovChar, indexFrom, new DatasetOptions { Path = path, AllowDownload = false, CacheDirectory = cache, LoadProgress = progress });

    /// <summary>The split as a multiset of (sequence, label), since the shuffle reorders it.</summary>
    private static void AssertSplit(int[][] seqs, int[] labels, params (string Seq, int Label)[] expected)
    {
        var actual = seqs.Select((s, i) => (string.Join(' ', s), labels[i])).Order().ToArray();
        Assert.Equal(expected.Order().ToArray(), actual);
    }

    private string JsonLines()
    {
        string folder = Path.Combine(dir, "jsonl", "imdb");
        Directory.CreateDirectory(folder);
        foreach (string split in new[] { "train", "test" })
        {
            WriteJsonLines(Path.Combine(folder, split + ".jsonl.gz"), Reviews.Where(r => r.Split == split).Select(r => (r.Label == "pos" ? 1 : 0, r.Text)));
        }

        return folder;
    }

    private string Folder()
    {
        string root = Path.Combine(dir, "folder", "imdb", "aclImdb");
        foreach (var r in Reviews)
        {
            string sub = Path.Combine(root, r.Split, r.Label);
            Directory.CreateDirectory(sub);
            File.WriteAllText(Path.Combine(sub, $"{r.Id}_{(r.Label == "pos" ? 8 : 2)}.txt"), r.Text);
        }

        Directory.CreateDirectory(Path.Combine(root, "train", "unsup"));
        File.WriteAllText(Path.Combine(root, "train", "unsup", "0_0.txt"), "never counted zzz");
        return Path.GetDirectoryName(root)!;
    }

    private string Tarball()
    {
        string folder = Path.Combine(dir, "tar", "imdb");
        Directory.CreateDirectory(folder);
        using var file = File.Create(Path.Combine(folder, Imdb.TarballName));
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gz, TarEntryFormat.Pax);
        tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "aclImdb/"));
        Add(tar, "aclImdb/README", "not a review");
        Add(tar, "aclImdb/train/labeledBow.feat", "0 0:1");
        Add(tar, "aclImdb/train/unsup/0_0.txt", "never counted zzz");
        foreach (var r in Reviews.Reverse())
        {
            Add(tar, $"aclImdb/{r.Split}/{r.Label}/{r.Id}_{(r.Label == "pos" ? 8 : 2)}.txt", r.Text);
        }

        return folder;
    }

    private static void Add(TarWriter tar, string name, string text)
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) };
        tar.WriteEntry(entry);
    }

    private static void WriteJsonLines(string path, IEnumerable<(int Label, string Text)> rows)
    {
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        using var w = new StreamWriter(gz, new UTF8Encoding(false));
        foreach (var (label, text) in rows)
        {
            w.Write(JsonSerializer.Serialize(new { label, text }));
            w.Write('\n');
        }
    }
}
