using LstmSharp.Data;

namespace LstmSharp.Tests.Data;

/// <summary>
/// Loads the real IMDB reviews once for all tests of the collection: the first load tokenizes
/// into a scratch cache folder, the second must come from that cache.
/// </summary>
public sealed class ImdbRealDataFixture : IDisposable
{
    public ImdbRealDataFixture()
    {
        if (TestData.ImdbFolder is not string folder)
        {
            return;
        }

        CacheFolder = TestData.NewTempFolder("imdb-cache");
        Options = new DatasetOptions { Path = folder, AllowDownload = false, CacheDirectory = CacheFolder };
        int before = Imdb.TokenizeCount;
        First = Imdb.LoadData(options: Options);
        Second = Imdb.LoadData(options: Options);
        Tokenizations = Imdb.TokenizeCount - before;
    }

    public string? CacheFolder { get; }

    public DatasetOptions? Options { get; }

    public ImdbDataset? First { get; }

    public ImdbDataset? Second { get; }

    public int Tokenizations { get; }

    public void Dispose()
    {
        if (CacheFolder is not null)
        {
            TestData.DeleteFolder(CacheFolder);
        }
    }
}

[CollectionDefinition("imdb")]
public sealed class ImdbCollection : ICollectionFixture<ImdbRealDataFixture>;

[Collection("imdb")]
public sealed class ImdbRealDataTests(ImdbRealDataFixture real)
{
    [SkippableFact]
    public void HasTheStanfordSplitBalancedAndShuffled()
    {
        Skip.If(real.First is null, "the shared IMDB data set is not on this machine");
        var d = real.First!;

        Assert.Equal(25000, d.TrainSequences.Length);
        Assert.Equal(25000, d.TestSequences.Length);
        foreach (var labels in new[] { d.TrainLabels, d.TestLabels })
        {
            Assert.Equal(12500, labels.Count(l => l == 0));
            Assert.Equal(12500, labels.Count(l => l == 1));

            // The source lists all negative reviews first; after the shuffle both classes are everywhere.
            Assert.InRange(labels.Take(1000).Sum(), 400, 600);
        }

        Assert.All(d.TrainSequences, s => Assert.True(s.Length > 1 && s[0] == 1));
        Assert.All(d.TestSequences, s => Assert.True(s.Length > 1 && s[0] == 1));
    }

    [SkippableFact]
    public void TheWordIndexRanksTheMostFrequentWordsFirst()
    {
        Skip.If(real.First is null, "the shared IMDB data set is not on this machine");
        var d = real.First!;

        Assert.Equal("the", d.Vocabulary[0]);
        Assert.Equal(1, d.WordIndex["the"]);
        Assert.Equal(["the", "and", "a", "of", "to"], d.Vocabulary.Take(5));

        // Line breaks are not words: "br" is left only where a review spells it (Keras's index has it 7th).
        Assert.True(!d.WordIndex.TryGetValue("br", out int br) || br > 1000, $"br has rank {br}");
        Assert.True(d.WordIndex["movie"] < 20 && d.WordIndex["film"] < 25, $"movie {d.WordIndex["movie"]}, film {d.WordIndex["film"]}");
        Assert.Equal(d.Vocabulary.Count, d.WordIndex.Count);
        Assert.InRange(d.Vocabulary.Count, 60000, 120000);
    }

    [SkippableFact]
    public void NumWordsBoundsEveryIndex()
    {
        Skip.If(real.Options is null, "the shared IMDB data set is not on this machine");
        var options = real.Options!;

        var d = Imdb.LoadData(numWords: 5000, options: options);
        Assert.True(d.LoadedFromCache);
        int max = 0, oov = 0;
        foreach (var s in d.TrainSequences.Concat(d.TestSequences))
        {
            Assert.Equal(1, s[0]);
            foreach (int w in s)
            {
                Assert.InRange(w, 1, 4999);
                max = Math.Max(max, w);
                oov += w == 2 ? 1 : 0;
            }
        }

        Assert.Equal(4999, max);
        Assert.True(oov > 0);
    }

    [SkippableFact]
    public void TheSecondLoadComesFromTheCacheAndIsIdentical()
    {
        Skip.If(real.First is null || real.Second is null, "the shared IMDB data set is not on this machine");
        var first = real.First!;
        var second = real.Second!;

        Assert.Equal(1, real.Tokenizations);
        Assert.False(first.LoadedFromCache);
        Assert.True(second.LoadedFromCache);
        Assert.Equal(first.CachePath, second.CachePath);
        Assert.StartsWith(real.CacheFolder!, second.CachePath);
        ImdbTests.AssertSame(first, second);
    }
}
