using System.CommandLine;
using System.Diagnostics;
using LstmSharp.Kernels;
using LstmSharp.Models;
using LstmSharp.Tensors;

namespace LstmSharp.Cli;

/// <summary>
/// <c>quantize model.lstm out.lstm --mode int8|bf16 [--input mnist|imdb]</c>: a saved model with
/// its LSTM weights in reduced precision (<see cref="Model.Quantize"/>), saved for inference;
/// with <c>--input</c> the float32 and quantized models are evaluated on the test split side by side.
/// </summary>
internal static class QuantizeCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "A saved float32 model (.lstm)." };
        var output = new Argument<string>("output") { Description = "Where to save the quantized model (.lstm)." };
        var mode = new Option<string>("--mode") { Description = "int8 (per-channel symmetric weights, PyTorch quantize_dynamic) or bf16.", DefaultValueFactory = _ => "int8" };
        var input = new Option<string?>("--input") { Description = "Also evaluate both models: mnist, imdb (test split) or a .csv/.npy file (with --targets)." };
        var targets = ModelCommands.TargetsOption();
        var dataDir = ModelCommands.DataDirOption();
        var batch = new Option<int>("--batch") { Description = "Batch size of the evaluation.", DefaultValueFactory = _ => 512 };
        var imdb = ModelCommands.ImdbOptions();
        var cmd = new Command("quantize", "Store a saved model's LSTM weights as int8 (per output channel) or bf16 for inference, and save it; --input compares test accuracy with the float32 model.")
        {
            model, output, mode, input, targets, dataDir, batch, imdb.Words, imdb.Maxlen,
        };
        cmd.SetAction(r => ModelCommands.Run(() =>
        {
            var quantization = QuantizationModes.Parse(r.GetValue(mode)!, "--mode");
            int batchSize = r.GetValue(batch) > 0 ? r.GetValue(batch) : throw new ArgumentException($"--batch: expected a positive integer, got {r.GetValue(batch)}.");
            string source = r.GetValue(model)!;
            string path = ModelCommands.PrepareOutput("output", r.GetValue(output)!);
            var m = Model.Load(source);
            ModelCommands.DataSet? set = null;
            Tensor? floatPredictions = null;
            if (r.GetValue(input) is { } spec)
            {
                if (!m.Compiled)
                {
                    throw new InvalidOperationException($"quantize --input: '{source}' holds no loss (saved without the compile settings), so it cannot be evaluated.");
                }

                set = ModelCommands.LoadData(spec, r.GetValue(targets), r.GetValue(dataDir), m, r.GetValue(imdb.Words), r.GetValue(imdb.Maxlen));
                floatPredictions = Report("float32", m, set, batchSize);
            }

            m.Quantize(new QuantizationOptions { Mode = quantization });
            if (set is not null)
            {
                var predictions = Report(quantization.ToName(), m, set, batchSize);
                Console.WriteLine($"predictions changed by quantization: {ChangedDecisions(floatPredictions!, predictions)} of {predictions.Dim(0)} test samples");
            }

            m.Save(path);
            Console.WriteLine($"wrote {path} ({new FileInfo(path).Length:N0} bytes; {source}: {new FileInfo(source).Length:N0} bytes)");
        }));
        return cmd;
    }

    /// <summary>Prints the test loss and metrics and the evaluation time; returns the predictions.</summary>
    private static Tensor Report(string label, Model m, ModelCommands.DataSet set, int batch)
    {
        var x = set.XTest ?? set.XTrain;
        var y = set.YTest ?? set.YTrain;
        var sw = Stopwatch.StartNew();
        var result = m.Evaluate(x, y, batchSize: batch);
        sw.Stop();
        Console.WriteLine($"{label}: {result} ({sw.Elapsed.TotalSeconds:0.00} s)");
        return m.Predict(x, batch);
    }

    /// <summary>Samples whose decision differs: the arg-max class, or for one output the side of 0.5.</summary>
    private static int ChangedDecisions(Tensor a, Tensor b)
    {
        int n = a.Dim(0), k = a.Length / Math.Max(1, n), changed = 0;
        var sa = a.Span;
        var sb = b.Span;
        for (int i = 0; i < n; i++)
        {
            var ra = sa.Slice(i * k, k);
            var rb = sb.Slice(i * k, k);
            bool same = k == 1 ? (ra[0] >= 0.5f) == (rb[0] >= 0.5f) : Sampling.ArgMax(ra) == Sampling.ArgMax(rb);
            changed += same ? 0 : 1;
        }

        return changed;
    }
}
