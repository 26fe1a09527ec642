using System.Text.RegularExpressions;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Serialization;
using LstmSharp.Tests.Data;

namespace LstmSharp.Tests.Layers;

/// <summary>Keras's TextVectorization semantics (keras/src/layers/preprocessing/text_vectorization.py, index_lookup.py).</summary>
public class TextVectorizationTests
{
    private static float[][] Rows(LstmSharp.Tensors.Tensor t) =>
        Enumerable.Range(0, t.Dim(0)).Select(i => t.Span.Slice(i * t.Dim(1), t.Dim(1)).ToArray()).ToArray();

    [Fact]
    public void KerasDocstringExample()
    {
        // keras.layers.TextVectorization docstring: adapt, then [["foo qux bar"], ["qux baz"]] → [[4, 1, 3, 0], [1, 2, 0, 0]].
        var layer = new TextVectorization(maxTokens: 5000, outputSequenceLength: 4);
        layer.Adapt(["foo bar", "bar baz", "baz bada boom"]);
        Assert.Equal(["", "[UNK]", "baz", "bar", "foo", "boom", "bada"], layer.GetVocabulary());
        var rows = Rows(layer.Call(["foo qux bar", "qux baz"]));
        Assert.Equal([4f, 1, 3, 0], rows[0]);
        Assert.Equal([1f, 2, 0, 0], rows[1]);
    }

    [Fact]
    public void KerasDocstringFixedVocabulary()
    {
        var layer = new TextVectorization(outputSequenceLength: 4, vocabulary: ["earth", "wind", "and", "fire"]);
        Assert.Equal(["", "[UNK]", "earth", "wind", "and", "fire"], layer.GetVocabulary());
        Assert.Equal(6, layer.VocabularySize);
        var e = Assert.Throws<InvalidOperationException>(() => layer.Adapt(["x"]));
        Assert.Contains("fixed vocabulary", e.Message);
    }

    [Fact]
    public void TiesBreakByDescendingTokenAndMaxTokensKeepsTheMostFrequent()
    {
        // np.lexsort((tokens, counts))[::-1]: count descending, then token descending (byte order).
        var layer = new TextVectorization(maxTokens: 5);
        layer.Adapt(["b a c d", "c d e", "c"]);
        Assert.Equal(["", "[UNK]", "c", "d"], layer.GetVocabulary().Take(4));
        Assert.Equal(["", "[UNK]", "c", "d", "e"], layer.GetVocabulary());
        Assert.Equal(["c", "d", "e"], layer.GetVocabulary(includeSpecialTokens: false));
        Assert.Equal([1, 1, 2, 3], layer.Encode("a b c d"));
    }

    [Fact]
    public void TieOrderIsByCodePointNotUtf16Unit()
    {
        // U+FF21 (one UTF-16 unit 0xFF21) sorts before U+1F600 (surrogates 0xD83D...) in UTF-8 byte order.
        var layer = new TextVectorization(standardize: null);
        layer.Adapt(["\uFF21 \U0001F600 a"]);
        Assert.Equal(["\U0001F600", "\uFF21", "a"], layer.GetVocabulary(false));
        Assert.True(TextVectorization.CompareCodePoints("\uFF21", "\U0001F600") < 0);
        Assert.True(string.CompareOrdinal("\uFF21", "\U0001F600") > 0); // what a UTF-16 ordinal sort would do
    }

    [Fact]
    public void LowerAndStripPunctuationAsTensorFlow()
    {
        var layer = new TextVectorization();
        // ASCII-only lower-casing (tf.strings.lower with encoding ''), all 32 ASCII punctuation removed before the split.
        Assert.Equal(["hello", "world", "its", "wellknown", "École", "café", "a", "b"], layer.Tokenize("Hello, World!  It's well-known ÉCOLE Café\ta - b"));
        Assert.Empty(layer.Tokenize("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"));
        Assert.Equal(["x", "y"], layer.Tokenize("\r\n x\v\fy \n"));
        Assert.Equal(["a\u00A0b"], layer.Tokenize("a\u00A0b")); // a no-break space is not ASCII whitespace
        Assert.Equal(["a.b,c"], new TextVectorization(standardize: "lower").Tokenize("A.B,C"));
        Assert.Equal(["ABC"], new TextVectorization(standardize: "strip_punctuation").Tokenize("A.B,C"));
    }

    [Fact]
    public void CharacterSplitKeepsSpacesAndCodePoints()
    {
        var layer = new TextVectorization(standardize: null, split: "character");
        Assert.Equal(["A", "b", " ", "c", "\U0001F600", "\n"], layer.Tokenize("Ab c\U0001F600\n"));
        layer.Adapt(["abba  c"]);
        Assert.Equal(["", "[UNK]", "b", "a", " ", "c"], layer.GetVocabulary());
        Assert.Equal([3, 2, 4, 1], layer.Encode("ab z"));
        Assert.Equal(["a", "b"], new TextVectorization(split: "character").Tokenize("A, b").Where(t => t != " "));
    }

    [Fact]
    public void NoSplitMakesTheWholeTextOneTokenAndEmptyIsPadding()
    {
        var layer = new TextVectorization(standardize: null, split: null);
        layer.Adapt(["red", "green", "red", ""]);
        Assert.Equal(["", "[UNK]", "red", "green"], layer.GetVocabulary());
        Assert.Equal(new[] { new[] { 2f }, [0f], [1f] }, Rows(layer.Call(["red", "", "blue"])));
    }

    [Fact]
    public void WithoutOutputSequenceLengthABatchIsPaddedToItsLongestText()
    {
        var layer = new TextVectorization(vocabulary: ["a", "b"]);
        var t = layer.Call(["a b a", "b", ""]);
        Assert.Equal([3, 3], t.ShapeArray);
        Assert.Equal(new[] { new[] { 2f, 3, 2 }, [3f, 0, 0], [0f, 0, 0] }, Rows(t));
        var truncated = new TextVectorization(outputSequenceLength: 2, vocabulary: ["a", "b"]).Call(["a b a"]);
        Assert.Equal(new[] { new[] { 2f, 3 } }, Rows(truncated)); // truncation keeps the first tokens
    }

    [Fact]
    public void CustomStandardizeAndSplitRoundTripByName()
    {
        TextVectorization.RegisterStandardize("tests_reverse", s => new string(s.Reverse().ToArray()));
        TextVectorization.RegisterSplit("tests_comma", s => s.Split(','));
        var layer = new TextVectorization(standardize: "tests_reverse", split: "tests_comma");
        layer.Adapt(["c,b,a", "b,a"]); // reversed: "a,b,c", "a,b"
        Assert.Equal(["", "[UNK]", "b", "a", "c"], layer.GetVocabulary());
        var again = TextVectorization.FromConfig(layer.GetConfig());
        Assert.Equal(layer.GetVocabulary(), again.GetVocabulary());
        Assert.Equal([4, 2, 3], again.Encode("a,b,c"));

        var inline = new TextVectorization(standardize: "tests_upper_inline", standardizeFunction: s => s.ToUpperInvariant());
        Assert.Equal(["AB", "C"], inline.Tokenize("ab c"));
        var e = Assert.Throws<ArgumentException>(() => TextVectorization.FromConfig(new TextVectorization(standardize: "tests_unregistered_x", standardizeFunction: s => s).GetConfig()));
        Assert.Contains("tests_unregistered_x", e.Message);
        Assert.Throws<ArgumentException>(() => new TextVectorization(standardize: "lower", standardizeFunction: s => s));
    }

    [Fact]
    public void SetVocabularyFollowsKerasRules()
    {
        var layer = new TextVectorization(maxTokens: 4);
        layer.SetVocabulary(["", "[UNK]", "x", "y"]);
        Assert.Equal(["", "[UNK]", "x", "y"], layer.GetVocabulary());
        layer.SetVocabulary(["y"]);
        Assert.Equal(["", "[UNK]", "y"], layer.GetVocabulary());
        Assert.Contains("empty vocabulary", Assert.Throws<ArgumentException>(() => layer.SetVocabulary([])).Message);
        Assert.Contains("\"x\"", Assert.Throws<ArgumentException>(() => layer.SetVocabulary(["x", "x"])).Message);
        Assert.Contains("padding token", Assert.Throws<ArgumentException>(() => layer.SetVocabulary(["x", ""])).Message);
        Assert.Contains("exceeds maxTokens 4", Assert.Throws<ArgumentException>(() => layer.SetVocabulary(["a", "b", "c"])).Message);
        Assert.Equal(["", "[UNK]", "y"], layer.GetVocabulary()); // a refused vocabulary changes nothing
    }

    [Fact]
    public void BadArgumentsAndEmptyVocabularyAreOneClearError()
    {
        Assert.Contains("maxTokens", Assert.Throws<ArgumentOutOfRangeException>(() => new TextVectorization(maxTokens: 2)).Message);
        Assert.Contains("outputSequenceLength", Assert.Throws<ArgumentOutOfRangeException>(() => new TextVectorization(outputSequenceLength: 0)).Message);
        Assert.Contains("multi_hot", Assert.Throws<NotSupportedException>(() => new TextVectorization(outputMode: "multi_hot")).Message);
        Assert.Contains("'sentencepiece'", Assert.Throws<ArgumentException>(() => new TextVectorization(split: "sentencepiece")).Message);

        var layer = new TextVectorization(name: "tv_empty");
        var e = Assert.Throws<ArgumentException>(() => layer.Adapt(["", " ... ", "!!"]));
        Assert.Contains("'tv_empty'", e.Message);
        Assert.Contains("3 texts", e.Message);
        Assert.Contains("no token", e.Message);
        Assert.Contains("Adapt", Assert.Throws<InvalidOperationException>(() => layer.Call(["a"])).Message);
        Assert.Throws<ArgumentException>(() => layer.Adapt(["a", null!]));
    }

    [Fact]
    public void SavedWithTheModel()
    {
        var layer = new TextVectorization(maxTokens: 10, outputSequenceLength: 5, name: "reviews");
        layer.Adapt(["the film was good", "the film was bad", "good good"]);
        var model = new Sequential([new Embedding(10, 3, inputShape: [5]), new LSTM(2), new Dense(1)]) { TextVectorization = layer };
        string path = Path.Combine(TestData.NewTempFolder("tv"), "m.lstm");
        model.Save(path);
        var loaded = Model.Load(path);
        Assert.NotNull(loaded.TextVectorization);
        var tv = loaded.TextVectorization!;
        Assert.Equal(layer.GetVocabulary(), tv.GetVocabulary());
        Assert.Equal("reviews", tv.Name);
        Assert.Equal(5, tv.OutputSequenceLength);
        Assert.Equal(10, tv.MaxTokens);
        var text = new[] { "The film was GOOD!", "unknown words here" };
        Assert.Equal(layer.Call(text).ToArray(), tv.Call(text).ToArray());
        Assert.Equal(model.Predict(layer.Call(text)).ToArray(), loaded.Predict(tv.Call(text)).ToArray());

        // A model without one loads without one; a corrupted vocabulary is a ModelFormatException.
        var plain = new Sequential([new Dense(1, inputShape: [2])]);
        string plainPath = Path.Combine(Path.GetDirectoryName(path)!, "plain.lstm");
        plain.Save(plainPath);
        Assert.Null(Model.Load(plainPath).TextVectorization);
        var file = SafeTensors.Load(path);
        var meta = file.Metadata.ToDictionary();
        meta["text_vectorization"] = meta["text_vectorization"].Replace("\"film\"", "\"the\"", StringComparison.Ordinal);
        string bad = Path.Combine(Path.GetDirectoryName(path)!, "bad.lstm");
        SafeTensors.Save(bad, file.Tensors.Select(t => t), meta);
        var e = Assert.Throws<ModelFormatException>(() => Model.Load(bad));
        Assert.Contains("text_vectorization", e.Message);
        Assert.Contains("repeats", e.Message);
    }

    /// <summary>Keras's steps written the slow, obvious way (regex, LINQ), as the oracle for the one-pass tokenizer.</summary>
    private static List<string> NaiveTokens(string text)
    {
        string lowered = new(text.Select(c => c is >= 'A' and <= 'Z' ? (char)(c + 32) : c).ToArray());
        string stripped = Regex.Replace(lowered, "[!\"#$%&()\\*\\+,\\-\\./:;<=>?@\\[\\\\\\]^_`{|}~']", string.Empty);
        return stripped.Split([' ', '\t', '\n', '\r', '\v', '\f'], StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    [SkippableFact]
    public void MatchesANaiveReferenceOnImdbReviews()
    {
        string folder = TestData.Require("imdb");
        var texts = LstmSharp.Data.Imdb.LoadTexts(new LstmSharp.Data.DatasetOptions { Path = folder, UseCache = false });
        Assert.Equal(25_000, texts.TrainTexts.Length);
        Assert.Equal(25_000, texts.TestTexts.Length);
        Assert.Equal(12_500, texts.TrainLabels.Count(l => l == 1));
        var sample = texts.TrainTexts.Where((_, i) => i % 25 == 0).ToArray(); // 1,000 reviews of both labels

        var layer = new TextVectorization(maxTokens: 2000, outputSequenceLength: 200);
        layer.Adapt(sample);
        var counts = sample.SelectMany(NaiveTokens).GroupBy(t => t, StringComparer.Ordinal)
            .Select(g => (Token: g.Key, Count: g.LongCount()))
            .Where(p => p.Token is not ("" or "[UNK]"))
            .OrderByDescending(p => p.Count).ThenByDescending(p => p.Token, Comparer<string>.Create(TextVectorization.CompareCodePoints))
            .Take(1998).Select(p => p.Token).ToArray();
        Assert.Equal(["", "[UNK]", .. counts], layer.GetVocabulary());
        Assert.Equal("the", layer.GetVocabulary()[2]);

        var ids = layer.Call(sample);
        var index = layer.GetVocabulary().Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i);
        for (int r = 0; r < sample.Length; r++)
        {
            var expected = NaiveTokens(sample[r]).Take(200).Select(t => (float)(index.TryGetValue(t, out int i) ? i : 1)).ToList();
            expected.AddRange(Enumerable.Repeat(0f, 200 - expected.Count));
            Assert.Equal(expected, ids.Span.Slice(r * 200, 200).ToArray());
        }
    }
}
