namespace LstmSharp.Data;

/// <summary>
/// The tokenized reviews before Keras's options are applied: each word is its frequency rank
/// in the training set (1 = most frequent), 0 for a test word never seen in training.
/// This is what the token cache stores.
/// </summary>
internal sealed class ImdbCorpus
{
    public ImdbCorpus(string[] vocabulary, long[] counts, ImdbSplit train, ImdbSplit test)
    {
        Vocabulary = vocabulary;
        Counts = counts;
        Train = train;
        Test = test;
    }

    /// <summary>Words by rank: <c>Vocabulary[r - 1]</c> has rank r.</summary>
    public string[] Vocabulary { get; }

    /// <summary>Training-set occurrences of each word, by rank like <see cref="Vocabulary"/>.</summary>
    public long[] Counts { get; }

    public ImdbSplit Train { get; }

    public ImdbSplit Test { get; }
}

/// <summary>One split: review i is <c>Tokens[Offsets[i]..Offsets[i + 1]]</c> with label <c>Labels[i]</c>.</summary>
internal sealed record ImdbSplit(int[] Tokens, int[] Offsets, byte[] Labels)
{
    public int Count => Labels.Length;

    public ReadOnlySpan<int> Review(int i) => Tokens.AsSpan(Offsets[i], Offsets[i + 1] - Offsets[i]);
}

/// <summary>
/// Builds an <see cref="ImdbCorpus"/>: tokenizes reviews as they arrive (in any order), counts
/// training words, then ranks them by descending count, ties by ordinal string order.
/// </summary>
internal sealed class ImdbCorpusBuilder : IReviewSink
{
    private readonly Dictionary<string, int> ids = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> lookup;
    private readonly List<string> words = [];
    private readonly List<long> trainCounts = [];
    private readonly List<Review>[] reviews = [[], []];
    private readonly List<int> scratchTokens = [];
    private char[] scratch = new char[4096];

    public ImdbCorpusBuilder()
    {
        lookup = ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Reviews added so far to <paramref name="split"/> (0 train, 1 test).</summary>
    public int Count(int split) => reviews[split].Count;

    /// <summary>Tokenizes and stores one review; <paramref name="order"/> sorts the split at the end.</summary>
    public void Add(int split, int label, (int Label, long Id, string Name) order, string text)
    {
        if (scratch.Length < text.Length)
        {
            scratch = new char[Math.Max(text.Length, scratch.Length * 2)];
        }

        scratchTokens.Clear();
        bool training = split == 0;
        int pos = 0;
        int length;
        while ((length = ImdbTokenizer.NextWord(text, ref pos, scratch)) >= 0)
        {
            var word = scratch.AsSpan(0, length);
            if (!lookup.TryGetValue(word, out int id))
            {
                id = words.Count;
                string s = word.ToString();
                ids.Add(s, id);
                words.Add(s);
                trainCounts.Add(0);
            }

            if (training)
            {
                trainCounts[id]++;
            }

            scratchTokens.Add(id);
        }

        reviews[split].Add(new Review(order, (byte)label, [.. scratchTokens]));
    }

    public ImdbCorpus Build()
    {
        var ranked = Enumerable.Range(0, words.Count).Where(id => trainCounts[id] > 0).ToArray();
        Array.Sort(ranked, (a, b) =>
        {
            int byCount = trainCounts[b].CompareTo(trainCounts[a]);
            return byCount != 0 ? byCount : string.CompareOrdinal(words[a], words[b]);
        });

        var rankOf = new int[words.Count];
        var vocabulary = new string[ranked.Length];
        var counts = new long[ranked.Length];
        for (int r = 0; r < ranked.Length; r++)
        {
            rankOf[ranked[r]] = r + 1;
            vocabulary[r] = words[ranked[r]];
            counts[r] = trainCounts[ranked[r]];
        }

        return new ImdbCorpus(vocabulary, counts, Finish(reviews[0], rankOf), Finish(reviews[1], rankOf));
    }

    private static ImdbSplit Finish(List<Review> list, int[] rankOf)
    {
        var sorted = list.ToArray();
        Array.Sort(sorted, (a, b) =>
        {
            int c = a.Order.Label.CompareTo(b.Order.Label);
            c = c != 0 ? c : a.Order.Id.CompareTo(b.Order.Id);
            return c != 0 ? c : string.CompareOrdinal(a.Order.Name, b.Order.Name);
        });

        long total = 0;
        foreach (var r in sorted)
        {
            total += r.Tokens.Length;
        }

        var tokens = new int[checked((int)total)];
        var offsets = new int[sorted.Length + 1];
        var labels = new byte[sorted.Length];
        int at = 0;
        for (int i = 0; i < sorted.Length; i++)
        {
            offsets[i] = at;
            labels[i] = sorted[i].Label;
            foreach (int id in sorted[i].Tokens)
            {
                tokens[at++] = rankOf[id];
            }
        }

        offsets[sorted.Length] = at;
        return new ImdbSplit(tokens, offsets, labels);
    }

    private sealed record Review((int Label, long Id, string Name) Order, byte Label, int[] Tokens);
}

/// <summary>Where the IMDB readers put each review they find.</summary>
internal interface IReviewSink
{
    /// <summary>One review of <paramref name="split"/> (0 train, 1 test); <paramref name="order"/> sorts the split at the end.</summary>
    void Add(int split, int label, (int Label, long Id, string Name) order, string text);
}

/// <summary>Collects the raw reviews for <see cref="Imdb.LoadTexts"/>.</summary>
internal sealed class ImdbTextSink : IReviewSink
{
    private readonly List<((int Label, long Id, string Name) Order, int Label, string Text)>[] reviews = [[], []];

    public void Add(int split, int label, (int Label, long Id, string Name) order, string text) => reviews[split].Add((order, label, text));

    public (string[] Texts, int[] Labels) Finish(int split)
    {
        var sorted = reviews[split].ToArray();
        Array.Sort(sorted, (a, b) =>
        {
            int c = a.Order.Label.CompareTo(b.Order.Label);
            c = c != 0 ? c : a.Order.Id.CompareTo(b.Order.Id);
            return c != 0 ? c : string.CompareOrdinal(a.Order.Name, b.Order.Name);
        });
        return (sorted.Select(r => r.Text).ToArray(), sorted.Select(r => r.Label).ToArray());
    }
}

/// <summary>IMDB's raw reviews and labels (1 = positive), train and test, in the fixed pre-shuffle order.</summary>
public sealed record ImdbTexts(string[] TrainTexts, int[] TrainLabels, string[] TestTexts, int[] TestLabels, string Source);
