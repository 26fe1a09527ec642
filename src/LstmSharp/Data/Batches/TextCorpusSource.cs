using LstmSharp.Data.Batches;
using LstmSharp.Layers;
using LstmSharp.Tensors;

namespace LstmSharp.Data;

/// <summary>
/// Next-token training windows streamed from a UTF-8 text file of any size (a language model's
/// corpus): the file is decoded (strictly, see <see cref="TextFile"/>) and vectorised by a
/// <see cref="TextVectorization"/> with the character (or whitespace) split one chunk at a time,
/// cut into windows <c>x = t[k..k+L)</c>, <c>y = t[k+1..k+L+1)</c> (non-overlapping, as
/// <see cref="LanguageModelWindows"/>), passed through a bounded shuffle buffer (tf.data's
/// <c>shuffle(buffer_size)</c>) and grouped into batches. What it holds while streaming is fixed
/// by its settings (<see cref="BufferBytes"/>), not by the file's size.
/// </summary>
/// <remarks>
/// Tokens <c>[startToken, endToken)</c> of the stream are used, so one file gives a training and a
/// validation source split by position. With <c>randomOffset</c> each epoch starts its windows
/// at an offset in [0, L) drawn from the epoch's seed, moving the window boundaries. An epoch
/// reads the same whether prefetched or not (its random state comes from the seed and the epoch).
/// </remarks>
public sealed class TextCorpusSource : IBatchSource
{
    private const int ReadBytes = 1 << 16;
    private const int ChunkChars = 1 << 15;

    private readonly TextVectorization vectorizer;

    /// <param name="path">The UTF-8 text file.</param>
    /// <param name="vectorizer">An adapted vectorizer with split "character" or "whitespace" and a built-in standardization.</param>
    /// <param name="sequenceLength">Tokens per window (L).</param>
    /// <param name="batchSize">Windows per batch; the last batch of an epoch may be smaller.</param>
    /// <param name="shuffleBuffer">Windows held for shuffling (tf.data's buffer_size); 1 = in file order.</param>
    /// <param name="randomOffset">Start each epoch's windows at a random offset in [0, L).</param>
    /// <param name="seed">Seed of the offsets and the shuffle (combined with the epoch number).</param>
    /// <param name="startToken">First token of the stream used.</param>
    /// <param name="endToken">End (exclusive) of the tokens used; null = the end of the file.</param>
    public TextCorpusSource(
        string path, TextVectorization vectorizer, int sequenceLength, int batchSize = 32, int shuffleBuffer = 1,
        bool randomOffset = false, int seed = 0, long startToken = 0, long? endToken = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(vectorizer);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"TextCorpusSource: text file '{path}' does not exist.", path);
        }

        if (!vectorizer.CanStream)
        {
            throw new NotSupportedException($"TextCorpusSource: the vectorizer '{vectorizer.Name}' must split '{TextVectorization.Character}' or '{TextVectorization.Whitespace}' with a built-in standardization to be streamed; got split '{vectorizer.Split ?? "none"}', standardize '{vectorizer.Standardize ?? "none"}'.");
        }

        _ = vectorizer.GetVocabulary(); // an unadapted vectorizer fails here, not on the prefetch thread
        if (sequenceLength <= 0 || batchSize <= 0 || shuffleBuffer <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sequenceLength), $"TextCorpusSource: sequenceLength, batchSize and shuffleBuffer must be positive, got {sequenceLength}, {batchSize} and {shuffleBuffer}.");
        }

        if (startToken < 0 || endToken < startToken)
        {
            throw new ArgumentOutOfRangeException(nameof(startToken), $"TextCorpusSource: expected 0 <= startToken <= endToken, got {startToken} and {endToken?.ToString() ?? "null"}.");
        }

        Path = path;
        this.vectorizer = vectorizer;
        SequenceLength = sequenceLength;
        BatchSize = batchSize;
        ShuffleBuffer = shuffleBuffer;
        RandomOffset = randomOffset;
        Seed = seed;
        StartToken = startToken;
        EndToken = endToken;

        // Read buffer; decoded chunk, its string copy and the tokenizer's scratch (UTF-16); the
        // chunk's token list; the windows in the shuffle buffer, the next batch and the one being filled.
        BufferBytes = ReadBytes + (4L * ChunkChars * sizeof(char)) + (2L * ChunkChars * sizeof(int))
            + ((long)(shuffleBuffer + batchSize + 1) * (sequenceLength + 1) * sizeof(int));
    }

    public string Path { get; }

    public int SequenceLength { get; }

    public int BatchSize { get; }

    public int ShuffleBuffer { get; }

    public bool RandomOffset { get; }

    public int Seed { get; }

    public long StartToken { get; }

    public long? EndToken { get; }

    /// <summary>Upper bound of the bytes the source holds while streaming (buffers and shuffle windows), whatever the file's size.</summary>
    public long BufferBytes { get; }

    /// <summary>Unknown without reading the file (a stream); see <see cref="CountTokens"/>.</summary>
    public int? BatchCount => null;

    /// <summary>Tokens in the whole file, as this source's vectorizer cuts them (one pass over the file).</summary>
    public long CountTokens()
    {
        long n = 0;
        foreach (var chunk in Tokens())
        {
            n += chunk.Count;
        }

        return n;
    }

    public IEnumerable<Batch> ReadEpoch(int epoch)
    {
        var rng = new Rng(unchecked((Seed * 1_000_003L) + epoch));
        int offset = RandomOffset ? rng.NextInt(SequenceLength) : 0;
        int l = SequenceLength;
        long first = StartToken + offset;
        long end = EndToken ?? long.MaxValue;
        var shuffle = new List<int[]>(ShuffleBuffer);
        var pending = new List<int[]>(BatchSize);
        int[] window = new int[l + 1];
        int filled = 0;
        long position = 0;

        foreach (var chunk in Tokens())
        {
            foreach (int id in chunk)
            {
                if (position >= end)
                {
                    break;
                }

                if (position++ < first)
                {
                    continue;
                }

                window[filled++] = id;
                if (filled < l + 1)
                {
                    continue;
                }

                // The window's last token starts the next one (it is this window's last target).
                var next = new int[l + 1];
                next[0] = window[l];
                filled = 1;
                foreach (var b in Push(window, shuffle, pending, rng))
                {
                    yield return b;
                }

                window = next;
            }

            if (position >= end)
            {
                break;
            }
        }

        // Drain the shuffle buffer in random order, then the last partial batch.
        while (shuffle.Count > 0)
        {
            int k = ShuffleBuffer > 1 ? rng.NextInt(shuffle.Count) : 0;
            var w = shuffle[k];
            shuffle[k] = shuffle[^1];
            shuffle.RemoveAt(shuffle.Count - 1);
            pending.Add(w);
            if (pending.Count == BatchSize)
            {
                yield return ToBatch(pending);
            }
        }

        if (pending.Count > 0)
        {
            yield return ToBatch(pending);
        }
    }

    private IEnumerable<Batch> Push(int[] window, List<int[]> shuffle, List<int[]> pending, Rng rng)
    {
        int[] out_;
        if (ShuffleBuffer == 1)
        {
            out_ = window;
        }
        else if (shuffle.Count < ShuffleBuffer)
        {
            shuffle.Add(window);
            yield break;
        }
        else
        {
            // tf.data: emit a random element of the full buffer and put the new one in its place.
            int k = rng.NextInt(ShuffleBuffer);
            out_ = shuffle[k];
            shuffle[k] = window;
        }

        pending.Add(out_);
        if (pending.Count == BatchSize)
        {
            yield return ToBatch(pending);
        }
    }

    private Batch ToBatch(List<int[]> windows)
    {
        int l = SequenceLength;
        var x = new Tensor(windows.Count, l);
        var y = new Tensor(windows.Count, l);
        var xs = x.Span;
        var ys = y.Span;
        for (int k = 0; k < windows.Count; k++)
        {
            var w = windows[k];
            for (int t = 0; t < l; t++)
            {
                xs[(k * l) + t] = w[t];
                ys[(k * l) + t] = w[t + 1];
            }
        }

        windows.Clear();
        return new Batch(x, y);
    }

    /// <summary>The file's token indices, one decoded chunk at a time (the list is reused).</summary>
    private IEnumerable<List<int>> Tokens()
    {
        using var reader = new StrictUtf8Reader(Path, ReadBytes);
        var chars = new char[ChunkChars];
        var ids = new List<int>(ChunkChars);
        char[] scratch = new char[ChunkChars * 2];
        string carry = string.Empty;
        int n;
        while ((n = reader.Read(chars)) > 0)
        {
            ids.Clear();
            vectorizer.EncodeStream(chars.AsSpan(0, n), ids, ref carry, final: false, ref scratch);
            yield return ids;
        }

        ids.Clear();
        vectorizer.EncodeStream([], ids, ref carry, final: true, ref scratch);
        if (ids.Count > 0)
        {
            yield return ids;
        }
    }
}
