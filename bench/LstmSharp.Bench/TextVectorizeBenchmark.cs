using System.Diagnostics;
using LstmSharp.Data;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Bench;

/// <summary>
/// <c>text-vectorize</c>: does turning raw text into indices dominate training? Loads IMDB's raw
/// reviews (<c>Imdb.LoadTexts</c>, not timed), times <c>TextVectorization(maxTokens 5000,
/// outputSequenceLength 300)</c>'s <c>Adapt</c> on the 25,000 training reviews and its <c>Call</c>
/// on them (median of 5 after one warm-up), then, in the same process, one training epoch of the
/// article's IMDB model (Embedding(5000, 15) → LSTM(10) → Dense(1, sigmoid), Adam, batch 128,
/// last 20 % for validation, the second epoch timed) on the vectorised reviews; prints the ratio.
/// </summary>
internal static class TextVectorizeBenchmark
{
    public static void Run(string[] args)
    {
        string? data = args.Length == 2 && args[0] == "--data" ? args[1] : null;
        BenchHarness.Header($"text-vectorize imdb train reviews, maxTokens=5000, outputSequenceLength=300, threads={WorkerPool.Shared.ThreadCount}");
        var texts = Imdb.LoadTexts(new DatasetOptions { Path = data });
        string[] train = texts.TrainTexts;
        long chars = train.Sum(t => (long)t.Length);
        BenchHarness.Diagnostic($"{train.Length} reviews, {chars / 1e6:0.0} M characters");

        var adapt = new List<double>();
        TextVectorization layer = null!;
        for (int round = 0; round < 3; round++)
        {
            var sw = Stopwatch.StartNew();
            layer = new TextVectorization(maxTokens: 5000, outputSequenceLength: 300);
            layer.Adapt(train);
            adapt.Add(sw.Elapsed.TotalSeconds);
        }

        Tensor x = layer.Call(train); // warm-up
        var call = new List<double>();
        for (int round = 0; round < 5; round++)
        {
            var sw = Stopwatch.StartNew();
            x = layer.Call(train);
            call.Add(sw.Elapsed.TotalSeconds);
        }

        double adaptS = Median(adapt), callS = Median(call);
        BenchHarness.Figure("text-vectorize", "lstmsharp", "adapt", adaptS * 1e3, "ms");
        BenchHarness.Figure("text-vectorize", "lstmsharp", "call", callS * 1e3, "ms");
        BenchHarness.Diagnostic($"adapt {string.Join(", ", adapt.Select(s => $"{s * 1e3:0}"))} ms; call {string.Join(", ", call.Select(s => $"{s * 1e3:0}"))} ms ({chars / callS / 1e6:0} M chars/s)");

        // The article's model on the vectorised reviews, shuffled with a fixed seed (the file is sorted by label).
        var order = new Rng(113).Permutation(train.Length);
        var xs = new Tensor(train.Length, 300);
        var ys = new Tensor(train.Length, 1);
        for (int i = 0; i < order.Length; i++)
        {
            x.Span.Slice(order[i] * 300, 300).CopyTo(xs.Span.Slice(i * 300, 300));
            ys.Span[i] = texts.TrainLabels[order[i]];
        }

        Rng.SetGlobalSeed(42);
        var model = new Sequential([new Embedding(5000, 15, inputShape: [300]), new LSTM(10), new Dense(1, activation: "sigmoid")]);
        model.Compile(new Adam(), "binary_crossentropy", ["accuracy"]);
        var history = model.Fit(xs, ys, batchSize: 128, epochs: 2, verbose: 0, validationSplit: 0.2, seed: 42);
        double epochS = history.Seconds[^1];
        BenchHarness.Figure("text-vectorize", "lstmsharp", "imdb-epoch", epochS * 1e3, "ms");
        BenchHarness.Figure("text-vectorize", "lstmsharp", "call-over-epoch", callS / epochS * 100, "%");
        BenchHarness.Figure("text-vectorize", "lstmsharp", "adapt-plus-call-over-epoch", (adaptS + callS) / epochS * 100, "%");
        BenchHarness.Diagnostic($"epochs {string.Join(", ", history.Seconds.Select(s => $"{s:0.00}"))} s (val_accuracy {history["val_accuracy"][^1]:0.000}); vectorising = {callS / epochS * 100:0.0} % of an epoch, adapt + vectorise = {(adaptS + callS) / epochS * 100:0.0} %");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
