using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace LstmSharp.Data;

/// <summary>
/// IMDB reviews as Keras's <c>imdb.load_data</c> returns them: each review a sequence of word
/// indices starting with <c>startChar</c>, labels 1 = positive, 0 = negative.
/// </summary>
/// <param name="TrainSequences">The training reviews, shuffled.</param>
/// <param name="TrainLabels">0 or 1 for each training review.</param>
/// <param name="TestSequences">The test reviews, shuffled.</param>
/// <param name="TestLabels">0 or 1 for each test review.</param>
/// <param name="WordIndex">Word → frequency rank in the training set (1 = most frequent); a word's index in a sequence is rank + indexFrom.</param>
/// <param name="Vocabulary">Words by rank: <c>Vocabulary[r - 1]</c> has rank r.</param>
/// <param name="Source">The file or folder the reviews were read from.</param>
/// <param name="CachePath">The token cache file used or written, or null when caching is off or failed.</param>
/// <param name="LoadedFromCache">True when the tokens came from <see cref="CachePath"/> rather than from tokenizing.</param>
public sealed record ImdbDataset(
    int[][] TrainSequences,
    int[] TrainLabels,
    int[][] TestSequences,
    int[] TestLabels,
    IReadOnlyDictionary<string, int> WordIndex,
    IReadOnlyList<string> Vocabulary,
    string Source,
    string? CachePath,
    bool LoadedFromCache);

/// <summary>
/// The Large Movie Review Dataset (Maas et al., 2011) loaded like Keras's <c>imdb.load_data</c>,
/// from the raw text: the official <c>aclImdb_v1.tar.gz</c>, its extracted folder, or a JSON-lines
/// copy (<c>train.jsonl.gz</c>, <c>test.jsonl.gz</c>, one <c>{"label": 0|1, "text": "..."}</c> per line).
/// </summary>
/// <remarks>
/// <para>The word index is built here from the training reviews with <see cref="ImdbTokenizer"/>
/// (ranks by descending count, ties by ordinal string order); Keras ships a ready-made index
/// built by a slightly different tokenizer, so indices agree in spirit, not number for number.
/// A test word that never occurs in training has no rank and becomes <c>oovChar</c> (or is dropped).</para>
/// <para>Reviews are put in a fixed order before shuffling: the JSON-lines file order, or for the
/// tarball and folder negative reviews first, then positive, each by the numeric id in the file
/// name. Then, as Keras: train then test are shuffled with one numpy-compatible
/// <c>RandomState(seed)</c> stream; <c>[startChar] + [rank + indexFrom …]</c>; with
/// <c>maxlen</c>, sequences of length ≥ maxlen are dropped; indices outside
/// <c>[skipTop, numWords)</c> (the start mark included, as in Keras) become <c>oovChar</c>, or
/// are removed when <c>oovChar</c> is null; <c>numWords = null</c> keeps every word (Keras's code
/// would turn the single highest index into <c>oovChar</c>, against its documentation). Keras's own pre-shuffle order is unknown, so the
/// shuffled order matches Keras's only when the pre-shuffle orders agree.</para>
/// </remarks>
public static partial class Imdb
{
    /// <summary>The official release.</summary>
    public static readonly Uri TarballUrl = new("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz");

    public const string TarballName = "aclImdb_v1.tar.gz";

    /// <summary>MD5 of <c>aclImdb_v1.tar.gz</c> as published with the torchtext and Paddle loaders.</summary>
    internal const string TarballMd5 = "7c2ac02c03563afcf9b574c7e56c153a";

    internal const int ReviewsPerFolder = 12500;

    private static readonly string[] Splits = ["train", "test"];

    /// <summary>Number of times the reviews were tokenized in this process (tests check the cache is used).</summary>
    internal static int TokenizeCount;

    /// <summary>
    /// Loads the reviews as Keras's <c>imdb.load_data</c>, with the same arguments and defaults.
    /// </summary>
    /// <param name="numWords">Keep indices below this (most frequent words); null keeps all.</param>
    /// <param name="skipTop">Indices below this become <paramref name="oovChar"/>.</param>
    /// <param name="maxlen">Drop sequences of this length or longer (start mark included); null keeps all.</param>
    /// <param name="seed">Seed of the shuffle (numpy <c>RandomState</c> compatible).</param>
    /// <param name="startChar">Index put at the start of each sequence; null: none.</param>
    /// <param name="oovChar">Index of out-of-vocabulary words; null: such words are removed.</param>
    /// <param name="indexFrom">Offset added to each word's rank.</param>
    /// <param name="options">Where the files are, download, cache and progress settings.</param>
    /// <exception cref="DatasetNotFoundException">No source found and the download failed; the message lists the files and folder.</exception>
    public static ImdbDataset LoadData(
        int? numWords = null,
        int skipTop = 0,
        int? maxlen = null,
        int seed = 113,
        int? startChar = 1,
        int? oovChar = 2,
        int indexFrom = 3,
        DatasetOptions? options = null)
    {
        CheckArguments(numWords, skipTop, maxlen, seed, startChar, oovChar, indexFrom);
        options ??= new DatasetOptions();
        var (corpus, source, cachePath, fromCache) = LoadCorpus(options);

        var rng = new NumpyRandomState((uint)seed);
        var (trainSeqs, trainLabels) = Sequence(corpus.Train, rng, startChar, indexFrom);
        var (testSeqs, testLabels) = Sequence(corpus.Test, rng, startChar, indexFrom);

        if (maxlen is int m)
        {
            (trainSeqs, trainLabels) = RemoveLong(trainSeqs, trainLabels, m);
            (testSeqs, testLabels) = RemoveLong(testSeqs, testLabels, m);
            if (trainSeqs.Length == 0 || testSeqs.Length == 0)
            {
                throw new ArgumentException($"Imdb.LoadData: after dropping sequences of length >= maxlen = {m}, no sequence was left (train {trainSeqs.Length}, test {testSeqs.Length}); increase maxlen.", nameof(maxlen));
            }
        }

        // Keras sets numWords to the largest index when it is None and then keeps w < numWords,
        // which turns the rarest word into oovChar; its documentation says all words are kept, so we keep them.
        int limit = numWords ?? int.MaxValue;
        FilterWords(trainSeqs, skipTop, limit, oovChar);
        FilterWords(testSeqs, skipTop, limit, oovChar);

        var wordIndex = new Dictionary<string, int>(corpus.Vocabulary.Length, StringComparer.Ordinal);
        for (int r = 0; r < corpus.Vocabulary.Length; r++)
        {
            wordIndex[corpus.Vocabulary[r]] = r + 1;
        }

        return new ImdbDataset(trainSeqs, trainLabels, testSeqs, testLabels, wordIndex, corpus.Vocabulary, source, cachePath, fromCache);
    }

    /// <summary>
    /// The raw reviews, untokenized, for a user's own vectorisation (e.g. <c>TextVectorization</c>):
    /// train and test texts with their labels (1 = positive) in the fixed pre-shuffle order (JSON-lines
    /// file order; for the tarball and folder negative reviews first, then positive, each by id).
    /// Same sources and download as <see cref="LoadData"/>; no cache.
    /// </summary>
    public static ImdbTexts LoadTexts(DatasetOptions? options = null)
    {
        options ??= new DatasetOptions();
        var source = LocateSource(options);

        var sink = new ImdbTextSink();
        Read(source, sink, options.LoadProgress);
        var train = sink.Finish(0);
        var test = sink.Finish(1);
        if (train.Texts.Length == 0 || test.Texts.Length == 0)
        {
            throw new InvalidDataException($"Imdb: '{source.Path}' holds {train.Texts.Length} train and {test.Texts.Length} test reviews; expected both.");
        }

        return new ImdbTexts(train.Texts, train.Labels, test.Texts, test.Labels, source.Path);
    }

    /// <summary>Marks a word with no rank (a test word unseen in training) while sequences are built.</summary>
    private const int Unknown = -1;

    private static void CheckArguments(int? numWords, int skipTop, int? maxlen, int seed, int? startChar, int? oovChar, int indexFrom)
    {
        if (numWords is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(numWords), numWords, $"Imdb.LoadData: numWords must be >= 1 or null, got {numWords}.");
        }

        if (skipTop < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(skipTop), skipTop, $"Imdb.LoadData: skipTop must be >= 0, got {skipTop}.");
        }

        if (maxlen is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxlen), maxlen, $"Imdb.LoadData: maxlen must be >= 1 or null, got {maxlen}.");
        }

        if (seed < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(seed), seed, $"Imdb.LoadData: seed must be >= 0 (numpy's range), got {seed}.");
        }

        if (startChar is < 0 || oovChar is < 0 || indexFrom < 0)
        {
            throw new ArgumentOutOfRangeException(
                startChar is < 0 ? nameof(startChar) : oovChar is < 0 ? nameof(oovChar) : nameof(indexFrom),
                $"Imdb.LoadData: startChar, oovChar and indexFrom must be >= 0, got {startChar}, {oovChar}, {indexFrom}.");
        }
    }

    private static (int[][] Seqs, int[] Labels) Sequence(ImdbSplit split, NumpyRandomState rng, int? startChar, int indexFrom)
    {
        var order = new int[split.Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        rng.Shuffle(order);
        var seqs = new int[order.Length][];
        var labels = new int[order.Length];
        int head = startChar is null ? 0 : 1;
        for (int i = 0; i < order.Length; i++)
        {
            var review = split.Review(order[i]);
            var seq = new int[head + review.Length];
            if (startChar is int s)
            {
                seq[0] = s;
            }

            for (int t = 0; t < review.Length; t++)
            {
                seq[head + t] = review[t] == 0 ? Unknown : review[t] + indexFrom;
            }

            seqs[i] = seq;
            labels[i] = split.Labels[order[i]];
        }

        return (seqs, labels);
    }

    private static (int[][] Seqs, int[] Labels) RemoveLong(int[][] seqs, int[] labels, int maxlen)
    {
        var keptSeqs = new List<int[]>(seqs.Length);
        var keptLabels = new List<int>(seqs.Length);
        for (int i = 0; i < seqs.Length; i++)
        {
            if (seqs[i].Length < maxlen)
            {
                keptSeqs.Add(seqs[i]);
                keptLabels.Add(labels[i]);
            }
        }

        return (keptSeqs.ToArray(), keptLabels.ToArray());
    }

    private static void FilterWords(int[][] seqs, int skipTop, int numWords, int? oovChar)
    {
        for (int i = 0; i < seqs.Length; i++)
        {
            var s = seqs[i];
            if (oovChar is int oov)
            {
                for (int t = 0; t < s.Length; t++)
                {
                    if (s[t] == Unknown || s[t] < skipTop || s[t] >= numWords)
                    {
                        s[t] = oov;
                    }
                }
            }
            else
            {
                int kept = 0;
                foreach (int w in s)
                {
                    if (w != Unknown && w >= skipTop && w < numWords)
                    {
                        s[kept++] = w;
                    }
                }

                if (kept < s.Length)
                {
                    seqs[i] = s[..kept];
                }
            }
        }
    }

    // ---- Sources, cache and download ----

    private enum SourceKind
    {
        JsonLines,
        Folder,
        Tarball,
    }

    private sealed record SourceInfo(SourceKind Kind, string Path, string[] Files);

    private static (ImdbCorpus Corpus, string Source, string? CachePath, bool FromCache) LoadCorpus(DatasetOptions options)
    {
        var source = LocateSource(options);

        string? cachePath = null;
        byte[] key = CacheKey(source);
        if (options.UseCache)
        {
            string cacheFolder = options.CacheDirectory ?? DataLocation.CacheRoot;
            cachePath = Path.Combine(cacheFolder, $"imdb-tokens-{Convert.ToHexStringLower(key)[..16]}.bin");
            var cached = ImdbCache.TryRead(cachePath, key);
            if (cached is not null)
            {
                return (cached, source.Path, cachePath, true);
            }
        }

        var corpus = Tokenize(source, options.LoadProgress);
        if (cachePath is not null)
        {
            try
            {
                ImdbCache.Write(cachePath, key, corpus);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Trace.TraceWarning($"Imdb: could not write the token cache '{cachePath}': {e.Message}");
                cachePath = null;
            }
        }

        return (corpus, source.Path, cachePath, false);
    }

    /// <summary>The source in the dataset folder <paramref name="options"/> resolve to, downloaded there first when none is present.</summary>
    private static SourceInfo LocateSource(DatasetOptions options)
    {
        string folder = DataLocation.ResolveDatasetFolder(options.Path, "imdb", ["train.jsonl.gz", "train.jsonl", TarballName, "aclImdb", "train"]);
        var source = FindSource(folder);
        if (source is null)
        {
            Download(folder, options);
            source = FindSource(folder) ?? throw new InvalidOperationException($"Imdb: downloaded {TarballName} into '{folder}' but cannot find it there.");
        }

        return source;
    }

    /// <summary>The first source present in <paramref name="folder"/>: JSON lines, extracted folder, tarball.</summary>
    private static SourceInfo? FindSource(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return null;
        }

        foreach (string ext in new[] { ".jsonl.gz", ".jsonl" })
        {
            string train = Path.Combine(folder, "train" + ext), test = Path.Combine(folder, "test" + ext);
            if (File.Exists(train) && File.Exists(test))
            {
                return new SourceInfo(SourceKind.JsonLines, folder, [train, test]);
            }
        }

        foreach (string root in new[] { Path.Combine(folder, "aclImdb"), folder })
        {
            if (Splits.All(s => Directory.Exists(Path.Combine(root, s, "pos")) && Directory.Exists(Path.Combine(root, s, "neg"))))
            {
                var files = Splits.SelectMany(s => new[] { "neg", "pos" }.SelectMany(l => Directory.EnumerateFiles(Path.Combine(root, s, l), "*.txt"))).ToArray();
                return new SourceInfo(SourceKind.Folder, root, files);
            }
        }

        string tarball = Path.Combine(folder, TarballName);
        return File.Exists(tarball) ? new SourceInfo(SourceKind.Tarball, tarball, [tarball]) : null;
    }

    private static byte[] CacheKey(SourceInfo source)
    {
        var sb = new StringBuilder($"imdb tokens; tokenizer v{ImdbTokenizer.Version}; cache v{ImdbCache.FormatVersion}; {source.Kind}; {Path.GetFullPath(source.Path)}\n");
        if (source.Kind == SourceKind.Folder)
        {
            // 50,000 small files: their count, total size and newest time stand for them.
            long bytes = 0, newest = 0;
            foreach (string f in source.Files)
            {
                var info = new FileInfo(f);
                bytes += info.Length;
                newest = Math.Max(newest, info.LastWriteTimeUtc.Ticks);
            }

            sb.Append($"{source.Files.Length} files, {bytes} bytes, newest {newest}\n");
        }
        else
        {
            foreach (string f in source.Files)
            {
                var info = new FileInfo(f);
                sb.Append($"{info.Name} {info.Length} {info.LastWriteTimeUtc.Ticks}\n");
            }
        }

        return SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString()));
    }

    private static ImdbCorpus Tokenize(SourceInfo source, IProgress<LoadProgress>? progress)
    {
        Interlocked.Increment(ref TokenizeCount);
        var builder = new ImdbCorpusBuilder();
        Read(source, builder, progress);

        for (int split = 0; split < 2; split++)
        {
            if (builder.Count(split) == 0)
            {
                throw new InvalidDataException($"Imdb: '{source.Path}' holds no {Splits[split]} reviews.");
            }
        }

        return builder.Build();
    }
}
