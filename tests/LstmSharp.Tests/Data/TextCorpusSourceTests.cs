using System.Text;
using LstmSharp.Data;
using LstmSharp.Data.Batches;
using LstmSharp.Layers;

namespace LstmSharp.Tests.Data;

public class TextCorpusSourceTests
{
    private static string Play(int lines, int seed)
    {
        var rng = new LstmSharp.Tensors.Rng(seed);
        string[] words = ["to", "be", "or", "not", "that", "is", "the", "question", "whether", "'tis", "nobler", "in", "mind", "été", "😀"];
        var sb = new StringBuilder();
        for (int i = 0; i < lines; i++)
        {
            sb.Append(i % 7 == 0 ? "HAMLET:\n" : string.Empty);
            int n = 3 + rng.NextInt(9);
            for (int w = 0; w < n; w++)
            {
                sb.Append(words[rng.NextInt(words.Length)]).Append(w + 1 < n ? ' ' : '\n');
            }
        }

        return sb.ToString();
    }

    private static float[] Flatten(IEnumerable<Batch> batches, bool targets) =>
        batches.SelectMany(b => (targets ? b.Targets! : b.Inputs[0]).ToArray()).ToArray();

    [Fact]
    public void InFileOrderItEqualsTheInMemoryWindowsAndSplitsByPosition()
    {
        string dir = TestData.NewTempFolder("corpus");
        string text = Play(4000, 1); // > 100 K characters: many 32 K-character chunks and surrogate pairs across them
        string path = Path.Combine(dir, "play.txt");
        File.WriteAllText(path, text);
        var chars = new TextVectorization(standardize: null, split: "character");
        chars.Adapt(TextFile.ReadChunks(path, 1000));
        int[] ids = chars.Encode(text);

        var source = new TextCorpusSource(path, chars, sequenceLength: 50, batchSize: 16);
        Assert.Equal(ids.Length, source.CountTokens());
        var (x, y) = LanguageModelWindows.Create(ids, 50);
        var batches = source.ReadEpoch(0).ToList();
        Assert.All(batches.SkipLast(1), b => Assert.Equal(16, b.Count));
        Assert.Equal(x.ToArray(), Flatten(batches, false));
        Assert.Equal(y.ToArray(), Flatten(batches, true));

        // Tokens [0, split) and [split, end): the training and validation parts of one file.
        int split = ids.Length * 9 / 10;
        var (xv, yv) = LanguageModelWindows.Create(ids.AsSpan(split), 50);
        var val = new TextCorpusSource(path, chars, 50, 16, startToken: split).ReadEpoch(0).ToList();
        Assert.Equal(xv.ToArray(), Flatten(val, false));
        Assert.Equal(yv.ToArray(), Flatten(val, true));
        var (xt, _) = LanguageModelWindows.Create(ids.AsSpan(0, split), 50);
        Assert.Equal(xt.ToArray(), Flatten(new TextCorpusSource(path, chars, 50, 16, endToken: split).ReadEpoch(0), false));

        // Words: the whitespace split streams with words cut between chunks carried over.
        var words = new TextVectorization(maxTokens: 10);
        words.Adapt(TextFile.ReadChunks(path, 1 << 20));
        var wordIds = words.Encode(text);
        Assert.Equal(wordIds.Length, new TextCorpusSource(path, words, 8).CountTokens());
        Assert.Equal(LanguageModelWindows.Create(wordIds, 8).X.ToArray(), Flatten(new TextCorpusSource(path, words, 8, 32).ReadEpoch(0), false));
    }

    [Fact]
    public void ShuffleAndOffsetAreSeededPerEpochAndKeepEveryWindow()
    {
        string dir = TestData.NewTempFolder("corpus");
        string text = Play(500, 2);
        string path = Path.Combine(dir, "play.txt");
        File.WriteAllText(path, text);
        var chars = new TextVectorization(standardize: "lower", split: "character");
        chars.Adapt([text]);
        int[] ids = chars.Encode(text);
        var source = new TextCorpusSource(path, chars, 20, 8, shuffleBuffer: 64, randomOffset: true, seed: 9);

        static string[] Windows(IEnumerable<Batch> batches) =>
            batches.SelectMany(b => Enumerable.Range(0, b.Count).Select(i => string.Join(',', b.Inputs[0].Span.Slice(i * 20, 20).ToArray()))).ToArray();

        var e0 = Windows(source.ReadEpoch(0));
        Assert.Equal(e0, Windows(source.ReadEpoch(0)));      // the same epoch reads the same
        Assert.NotEqual(e0, Windows(source.ReadEpoch(1)));   // another epoch differs
        var inOrder = Windows(new TextCorpusSource(path, chars, 20, 8).ReadEpoch(0));
        int offset = Enumerable.Range(0, 20).Single(o => LanguageModelWindows.Count(ids.Length, 20, o) == e0.Length
            && new HashSet<string>(e0).SetEquals(Windows([new Batch(LanguageModelWindows.Create(ids, 20, o).X)])));
        Assert.NotEqual(inOrder, e0); // shuffled
        Assert.InRange(offset, 0, 19);
    }

    [Fact]
    public void StreamingACorpusTenTimesTheBudgetKeepsTheSourcesMemoryFlat()
    {
        const long budget = 1 << 20;
        const int depth = 2;
        string dir = TestData.NewTempFolder("corpus-big");
        string path = Path.Combine(dir, "big.txt");
        string piece = Play(2000, 3);
        using (var w = new StreamWriter(path, false, new UTF8Encoding(false)))
        {
            while (w.BaseStream.Length < 10 * budget)
            {
                w.Write(piece);
                w.Flush();
            }
        }

        long fileBytes = new FileInfo(path).Length;
        Assert.True(fileBytes >= 10 * budget);
        var chars = new TextVectorization(standardize: null, split: "character");
        chars.Adapt([piece]);
        var source = new TextCorpusSource(path, chars, sequenceLength: 64, batchSize: 32, shuffleBuffer: 256, randomOffset: true, seed: 1);
        Assert.True(source.BufferBytes < budget, $"buffers {source.BufferBytes}");

        var alive = new List<(WeakReference<Batch> Ref, long Bytes)>();
        long windows = 0, peak = 0;
        foreach (var batch in BatchPrefetcher.ReadEpoch(source, 0, depth))
        {
            windows += batch.Count;
            alive.Add((new WeakReference<Batch>(batch), batch.SizeInBytes));
            if (alive.Count % 128 == 0)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                alive.RemoveAll(a => !a.Ref.TryGetTarget(out _));
                Assert.True(alive.Count <= depth + 3, $"{alive.Count} batches still alive: the source or the prefetcher keeps batches it handed over");
                peak = Math.Max(peak, source.BufferBytes + alive.Sum(a => a.Bytes));
            }
        }

        // Every character of the 10 MB file became a target once (less the offset and the last partial window).
        long tokens = source.CountTokens();
        Assert.InRange(windows, (tokens - 64 - 1) / 64 - 1, tokens / 64);
        Assert.True(windows * 64 * sizeof(char) >= 10 * budget, $"streamed {windows} windows");
        Assert.True(peak > 0 && peak <= budget, $"the source held up to {peak} bytes; budget {budget}");
        TestData.DeleteFolder(dir);
    }

    [Fact]
    public void BadSettingsAndBadFilesAreOneClearError()
    {
        string dir = TestData.NewTempFolder("corpus-bad");
        var chars = new TextVectorization(standardize: null, split: "character");
        Assert.Throws<FileNotFoundException>(() => new TextCorpusSource(Path.Combine(dir, "none.txt"), chars, 8));
        string path = Path.Combine(dir, "a.txt");
        File.WriteAllBytes(path, [.. Encoding.ASCII.GetBytes(new string('a', 70_000)), 0xFF, (byte)'b']);
        Assert.Throws<InvalidOperationException>(() => new TextCorpusSource(path, chars, 8)); // not adapted
        chars.SetVocabulary(["a", "b"]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TextCorpusSource(path, chars, 0));
        Assert.Throws<NotSupportedException>(() => new TextCorpusSource(path, new TextVectorization(split: null, vocabulary: ["a"]), 8));
        var e = Assert.Throws<InvalidDataException>(() => new TextCorpusSource(path, chars, 8).ReadEpoch(0).ToList());
        Assert.Contains("byte offset 70000", e.Message);
    }
}
