using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Tests.Data;

namespace LstmSharp.Tests.Models;

public class TextGeneratorTests
{
    private static Sequential CharModel(string corpus, out TextVectorization chars)
    {
        chars = new TextVectorization(standardize: null, split: "character");
        chars.Adapt([corpus]);
        int v = chars.VocabularySize;
        var model = new Sequential(
            [
                new Embedding(v, 5, inputShape: [-1], embeddingsInitializer: "glorot_uniform"),
                new LSTM(8, returnSequences: true),
                new LSTM(6, returnSequences: true),
                new Dense(v),
            ]) { TextVectorization = chars };
        return model;
    }

    [Fact]
    public void StatefulSteppingEqualsRerunningTheWholeText()
    {
        var model = CharModel("to be or not to be", out var chars);
        string generated = new TextGenerator(model).Generate("to b", 12, new SamplingOptions(0), seed: 1);
        Assert.Equal(16, generated.Length);
        Assert.StartsWith("to b", generated, StringComparison.Ordinal);

        // Greedy by brute force: rerun the non-stateful model over the whole prefix for each character.
        string text = "to b";
        using (Tape.NoGrad())
        {
            for (int n = 0; n < 12; n++)
            {
                var ids = chars.Encode(text).Select(i => (float)i).ToArray();
                var output = model.Call(new Tensor(ids, 1, ids.Length));
                var last = output.Span[^chars.VocabularySize..].ToArray();
                last[0] = last[1] = float.NegativeInfinity;
                text += chars.TokenAt(Sampling.ArgMax(last));
            }
        }

        Assert.Equal(text, generated);
    }

    [Fact]
    public void SeededSamplingIsReproducibleAndSurvivesSaveLoad()
    {
        var model = CharModel("abcabcabd ", out _);
        var generator = new TextGenerator(model);
        var options = new SamplingOptions(1.0, TopK: 3);
        string a = generator.Generate("ab", 40, options, seed: 5);
        Assert.Equal(a, generator.Generate("ab", 40, options, seed: 5));
        Assert.NotEqual(a, generator.Generate("ab", 40, options, seed: 6));
        Assert.All(a, c => Assert.Contains(c, "abcd "));

        string path = Path.Combine(TestData.NewTempFolder("gen"), "lm.lstm");
        model.Save(path);
        Assert.Equal(a, new TextGenerator(Model.Load(path)).Generate("ab", 40, options, seed: 5));
    }

    [Fact]
    public void BadPrimesAndModelsAreOneClearError()
    {
        var model = CharModel("abc", out _);
        var generator = new TextGenerator(model);
        var e = Assert.Throws<ArgumentException>(() => generator.Generate("abz", 5, new SamplingOptions(), 1));
        Assert.Contains("'z' (U+007A) at position 2", e.Message);
        Assert.Contains("vocabulary of 3 characters", e.Message);
        Assert.Contains("no token", Assert.Throws<ArgumentException>(() => generator.Generate(string.Empty, 5, new SamplingOptions(), 1)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate("a", -1, new SamplingOptions(), 1));

        var plain = new Sequential([new Embedding(4, 2, inputShape: [-1]), new LSTM(2, returnSequences: true), new Dense(4)]);
        Assert.Contains("no TextVectorization", Assert.Throws<ArgumentException>(() => new TextGenerator(plain)).Message);

        var chars = new TextVectorization(standardize: null, split: "character");
        chars.Adapt(["abc"]);
        var wrong = new Sequential([new Embedding(5, 2, inputShape: [-1]), new LSTM(2, returnSequences: true), new Dense(7)]) { TextVectorization = chars };
        Assert.Contains("outputs 7 scores", Assert.Throws<ArgumentException>(() => new TextGenerator(wrong).Generate("a", 3, new SamplingOptions(), 1)).Message);
    }
}
