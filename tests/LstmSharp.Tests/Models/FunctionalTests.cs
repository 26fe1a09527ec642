using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Tests.Models;

[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public sealed class FunctionalTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", Guid.NewGuid().ToString("N"));

    public FunctionalTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, true);

    [Fact]
    public void EncoderDecoderWithStatesAsInitialStateTrainsOnAReverseTask()
    {
        const int vocab = 5, time = 4, units = 16;
        Layer.ClearSession();
        Layer.SetRandomSeed(2);
        Rng.SetGlobalSeed(2);
        var (enc, dec, y) = ReverseTask(256, time, vocab, seed: 1);

        var encIn = Input.Create([time, vocab], name: "encoder_in");
        var encoder = new LSTM(units, returnState: true, name: "encoder");
        var encOut = encoder.ApplyAll(encIn);
        Assert.Equal(3, encOut.Length);
        var decIn = Input.Create([time, vocab], name: "decoder_in");
        var decoder = new LSTM(units, returnSequences: true, name: "decoder");
        var decSeq = decoder.ApplyAll(decIn, encOut[1], encOut[2])[0];
        var probs = new TimeDistributed(new Dense(vocab, activation: "softmax")).Apply(decSeq);
        var model = new Functional([encIn, decIn], [probs]);
        Assert.Equal([time, vocab], model.OutputShapes[0]);

        model.Compile(new Adam(0.02), "categorical_crossentropy", ["accuracy"]);
        _ = model.CountParams();
        var encoderKernel = encoder.Kernel!.Value.ToArray();
        var history = model.Fit([enc, dec], y, batchSize: 32, epochs: 12, verbose: 0, seed: 3);
        var losses = history["loss"];
        Assert.True(losses[^1] < 0.5 * losses[0], $"loss did not fall enough: {string.Join(", ", losses)}");

        // The encoder is only reached through the decoder's initial states: its weights moving proves the gradient flows there.
        Assert.NotEqual(encoderKernel, encoder.Kernel!.Value.ToArray());
    }

    [Fact]
    public void SequentialWithEveryNewLayerSavesAndLoadsToIdenticalPredictions()
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(5);
        var model = new Sequential(
        [
            new Masking(0f, inputShape: [6, 3]),
            new Bidirectional(new LSTM(4, returnSequences: true, kernelRegularizer: new L2(0.03)), "sum"),
            new TimeDistributed(new Dense(3, activation: "tanh", kernelConstraint: new MaxNorm(1.5))),
            new LSTM(5),
            new RepeatVector(2),
            new Bidirectional(new LSTM(3, returnSequences: true, dropout: 0.25f), "concat"),
            new Flatten(),
            new Dense(1, activation: "sigmoid"),
        ]);
        model.Compile(new Adam(0.01), "binary_crossentropy");
        var (x, y) = PaddedData(40, seed: 6);
        model.Fit(x, y, batchSize: 8, epochs: 1, verbose: 0, seed: 1);
        AssertRoundTrip(model, [x]);
    }

    [Fact]
    public void FunctionalWithEveryNewLayerSavesAndLoadsToIdenticalPredictionsAndSummarises()
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(6);
        var a = Input.Create([6, 3], name: "a");
        var b = Input.Create([6, 3], name: "b");
        var masked = new Masking().Apply(a);
        var bi = new Bidirectional(new LSTM(4, returnSequences: true, returnState: true), mergeMode: null).ApplyAll(masked);
        Assert.Equal(6, bi.Length);
        var both = new Concatenate().Apply(bi[0], bi[1]);
        var projected = new TimeDistributed(new Dense(8)).Apply(b);
        var sum = new Add().Apply(both, projected);
        var summary = new LSTM(4).Apply(sum);
        var repeated = new RepeatVector(2).Apply(summary);
        var decoded = new LSTM(4, returnSequences: true).ApplyAll(repeated, bi[2], bi[3])[0];
        var output = new Dense(1, activation: "sigmoid").Apply(new Flatten().Apply(decoded));
        var model = new Functional([a, b], [output]);
        model.Compile(new Adam(0.01), "binary_crossentropy");

        var (x, y) = PaddedData(40, seed: 7);
        var (x2, _) = PaddedData(40, seed: 8);
        model.Fit([x, x2], y, batchSize: 8, epochs: 1, verbose: 0, seed: 2);
        AssertRoundTrip(model, [x, x2]);

        string text = model.SummaryText();
        Assert.Contains("Connected to", text);
        var lines = text.Split('\n');
        int Row(string start) => Array.FindIndex(lines, l => l.StartsWith(start, StringComparison.Ordinal));
        Assert.EndsWith("masking[0][0]", lines[Row("bidirectional (Bidirectional)")]);
        Assert.Contains(" 256 ", lines[Row("bidirectional (Bidirectional)")]);

        // Several inbound tensors: one per line under the "Connected to" column, as Keras prints them.
        int concat = Row("concatenate (Concatenate)");
        Assert.EndsWith(" bidirectional[0][0]", lines[concat]);
        Assert.Equal(new string(' ', text.IndexOf("Connected to", StringComparison.Ordinal) - text.IndexOf("Layer (type)", StringComparison.Ordinal)) + "bidirectional[0][1]", lines[concat + 1]);
        int decoder = Row("lstm_2 (LSTM)");
        Assert.EndsWith(" repeat_vector[0][0]", lines[decoder]);
        Assert.EndsWith(" bidirectional[0][2]", lines[decoder + 1]);
        Assert.EndsWith(" bidirectional[0][3]", lines[decoder + 2]);
        Assert.Contains("Total params: 649", text);
    }

    private void AssertRoundTrip(Model model, Tensor[] x)
    {
        string path = Path.Combine(dir, "model.lstm");
        var before = model.Predict(x).ToArray();
        model.Save(path);
        var loaded = Model.Load(path);
        Assert.Equal(model.GetType(), loaded.GetType());
        Assert.Equal(model.Parameters.Select(p => p.Path), loaded.Parameters.Select(p => p.Path));
        Assert.Equal(before, loaded.Predict(x).ToArray());
        Assert.Equal(model.GetConfig().ToJsonString(), loaded.GetConfig().ToJsonString());

        // The regularizers and constraints survive with their factors (Keras configs, not defaults).
        foreach (var (p, q) in model.Parameters.Zip(loaded.Parameters))
        {
            Assert.Equal(p.Regularizer?.GetType(), q.Regularizer?.GetType());
            Assert.Equal(p.Constraint?.GetType(), q.Constraint?.GetType());
            if (p.Regularizer is L2 l2)
            {
                Assert.Equal(l2.Factor, ((L2)q.Regularizer!).Factor);
            }

            if (p.Constraint is MaxNorm mn)
            {
                Assert.Equal(mn.MaxValue, ((MaxNorm)q.Constraint!).MaxValue);
            }
        }
    }

    /// <summary>Sequences of 6 steps × 3 features with 0–2 all-zero padding steps at the start; label = sign of the sum.</summary>
    private static (Tensor X, Tensor Y) PaddedData(int n, long seed)
    {
        var rng = new Rng(seed);
        var x = new Tensor(n, 6, 3);
        var y = new Tensor(n, 1);
        for (int i = 0; i < n; i++)
        {
            int pad = rng.NextInt(3);
            float sum = 0;
            for (int t = pad; t < 6; t++)
            {
                for (int f = 0; f < 3; f++)
                {
                    x[i, t, f] = (2 * rng.NextFloat()) - 1;
                    sum += x[i, t, f];
                }
            }

            y[i, 0] = sum > 0 ? 1 : 0;
        }

        return (x, y);
    }

    /// <summary>Encoder input: tokens 1..vocab-1 one-hot; decoder input: start token 0 then the reversed tokens shifted by one; target: the reversed tokens.</summary>
    private static (Tensor Encoder, Tensor Decoder, Tensor Target) ReverseTask(int n, int time, int vocab, long seed)
    {
        var rng = new Rng(seed);
        var enc = new Tensor(n, time, vocab);
        var dec = new Tensor(n, time, vocab);
        var y = new Tensor(n, time, vocab);
        var tokens = new int[time];
        for (int i = 0; i < n; i++)
        {
            for (int t = 0; t < time; t++)
            {
                tokens[t] = 1 + rng.NextInt(vocab - 1);
                enc[i, t, tokens[t]] = 1;
            }

            for (int t = 0; t < time; t++)
            {
                int target = tokens[time - 1 - t];
                y[i, t, target] = 1;
                dec[i, t, t == 0 ? 0 : tokens[time - t]] = 1;
            }
        }

        return (enc, dec, y);
    }
}
