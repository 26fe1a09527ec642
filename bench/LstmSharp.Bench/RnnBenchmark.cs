using System.Diagnostics;
using System.Globalization;
using LstmSharp.Autograd;
using LstmSharp.Interop.Onnx;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Training;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;
using LsTensor = LstmSharp.Tensors.Tensor;

namespace LstmSharp.Bench;

/// <summary>
/// <c>rnn</c>: whole training steps and inference of recurrent models, LstmSharp through its
/// public model API (what users run) against libtorch (TorchSharp-cpu) modules, same shapes,
/// same thread count, same process, measured in interleaved rounds so that load from other
/// processes on the machine hits both sides alike.
/// </summary>
/// <remarks>
/// Workloads:
/// <list type="bullet">
/// <item><c>train-{lstm,gru,simplernn}</c>: x [128, 28, 28] → RNN(128) → Dense(10) → softmax,
/// categorical cross-entropy, Adam(0.001); one step = forward + backward + update.</item>
/// <item><c>infer-lstm-b1</c>, <c>infer-lstm-b128</c>: the same LSTM model's forward pass without gradients;
/// also the model exported to ONNX (<see cref="OnnxExport"/>) run by ONNX Runtime's
/// <c>InferenceSession</c> (same thread count, sequential execution, pre-allocated OrtValues),
/// once with <c>session.intra_op.allow_spinning</c> = 0 and once with 1.</item>
/// <item><c>train-cells</c>: train-lstm beside LSTM(128, projSize: 64) and LayerNormLSTM(128) (RnnBenchmark.Cells.cs).</item>
/// <item><c>train-imdb</c>: token ids [128, 300] → Embedding(5000, 15) → LSTM(10) → Dense(1, sigmoid),
/// binary cross-entropy, Adam(0.001).</item>
/// <item><c>conv1d-cnn-lstm</c>: Conv1D forward + backward on the keras-io CNN-LSTM shapes (RnnBenchmark.Conv.cs).</item>
/// <item><c>attention-seq2seq</c>, <c>lstm-seq2seq-decoder</c>: the seq2seq-attention model's Attention and decoder LSTM, forward + backward (RnnBenchmark.Attention.cs).</item>
/// <item><c>infer-lstm-b{1,128}-{int8,bf16}</c>: the inference model quantized (RnnBenchmark.Quantized.cs).</item>
/// </list>
/// </remarks>
internal static partial class RnnBenchmark
{
    private const int Batch = 128, Time = 28, Features = 28, Units = 128, Classes = 10;
    private const int ImdbVocab = 5000, ImdbEmbed = 15, ImdbUnits = 10, ImdbTime = 300;

    /// <summary>Cells compared in the training workloads.</summary>
    private enum Cell
    {
        Lstm,
        Gru,
        SimpleRnn,
    }

    public static void Run(string[] args)
    {
        int rounds = 3, stepsPerRound = 15, threads = Environment.ProcessorCount;
        string only = string.Empty;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rounds" when i + 1 < args.Length:
                    rounds = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--steps" when i + 1 < args.Length:
                    stepsPerRound = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--threads" when i + 1 < args.Length:
                    threads = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--only" when i + 1 < args.Length:
                    only = args[++i];
                    break;
                default:
                    throw new ArgumentException($"rnn: unknown argument '{args[i]}'; expected --rounds N, --steps N, --threads N, --only WORKLOAD-PREFIX.");
            }
        }

        // Default: every core on both sides (torch.set_num_threads(Environment.ProcessorCount)).
        WorkerPool.Shared.ThreadCount = threads;
        torch.set_num_threads(threads);
        BenchHarness.Header($"rnn: threads LstmSharp {WorkerPool.Shared.ThreadCount}, libtorch {torch.get_num_threads()} (cores {Environment.ProcessorCount}); GEMM ISA {Gemm.InstructionSet}");
        BenchHarness.Header($"each figure: median over {rounds} interleaved rounds x {stepsPerRound} timed calls per implementation, after warm-up; min/max on stderr");
        BenchHarness.Header("ratio lines: metric 'speedup' = libtorch time / lstmsharp time (> 1 means LstmSharp is faster); 'time-min'/'speedup-min' use the fastest call; 'cpu-time'/'cpu-ratio' use process CPU time per call");
        BenchHarness.Diagnostic("speedup = libtorch median time / lstmsharp median time; > 1 means LstmSharp is faster.");

        var workloads = new List<(string Name, Func<Side> Ours, Func<Side> Theirs)>
        {
            ("train-lstm", () => OursTrain(Cell.Lstm), () => TheirsTrain(Cell.Lstm)),
            ("train-gru", () => OursTrain(Cell.Gru), () => TheirsTrain(Cell.Gru)),
            ("train-simplernn", () => OursTrain(Cell.SimpleRnn), () => TheirsTrain(Cell.SimpleRnn)),
            ("train-cells", () => OursTrain(Cell.Lstm), () => TheirsTrain(Cell.Lstm)),
            ("infer-lstm-b1", () => OursInfer(1, usePredict: false), () => TheirsInfer(1)),
            ("infer-lstm-b128", () => OursInfer(Batch, usePredict: false), () => TheirsInfer(Batch)),
            ("train-imdb", OursImdb, TheirsImdb),
            ("conv1d-cnn-lstm", OursConv, TheirsConv),
            ("attention-seq2seq", OursAttention, TheirsAttention),
            ("lstm-seq2seq-decoder", OursDecoderLstm, TheirsDecoderLstm),
        };
        workloads.AddRange(QuantizedWorkloads());

        foreach (var (name, ours, theirs) in workloads)
        {
            if (!name.StartsWith(only, StringComparison.Ordinal))
            {
                continue;
            }

            // The inference workloads also time the exported ONNX model in ONNX Runtime, in the same alternating rounds.
            Compare(name, ours(), theirs(), rounds, stepsPerRound, name == "train-cells" ? [.. CellSides()] : ExtraSides(name, threads));
        }

        if ("infer-lstm-predict".StartsWith(only, StringComparison.Ordinal) || only.Length == 0)
        {
            // The Predict path (what a Keras user calls) costs a result copy and slicing on top of Call.
            foreach (int b in new[] { 1, Batch })
            {
                var side = OursInfer(b, usePredict: true);
                var t = TimeRounds(side.Step, rounds, stepsPerRound, side.WarmupSteps);
                string unit = b == 1 ? "us" : "ms";
                double scale = b == 1 ? 1e6 : 1e3;
                BenchHarness.Figure($"infer-lstm-b{b}", "lstmsharp-predict", "time", t.Median * scale, unit);
                BenchHarness.Figure($"infer-lstm-b{b}", "lstmsharp-predict", "time-min", t.Min * scale, unit);
                BenchHarness.Diagnostic($"infer-lstm-b{b} lstmsharp-predict: {side.Description}; {Spread(t, scale, unit)}");
            }
        }
    }

    /// <summary>One side of a comparison: a step to time and what it runs.</summary>
    private sealed record Side(Action Step, string Description, int WarmupSteps = 5);

    /// <summary>Idle time before each side's round (not timed), so the previous side's spinning threads have parked.</summary>
    private const int QuietGapMs = 50;

    private static void Compare(string workload, Side ours, Side theirs, int rounds, int stepsPerRound, IReadOnlyList<(string Name, Side Side)> extra)
    {
        // Every side is timed once per round, in turn, so load from elsewhere hits all alike.
        var sides = new List<(string Name, Side Side)> { ("lstmsharp", ours), ("libtorch", theirs) };
        sides.AddRange(extra);
        var times = sides.Select(_ => new List<double>()).ToArray();
        var cpu = new TimeSpan[sides.Count];
        var calls = new int[sides.Count];
        foreach (var (_, side) in sides)
        {
            Warm(side);
        }

        var process = Process.GetCurrentProcess();
        for (int r = 0; r < rounds; r++)
        {
            for (int k = 0; k < sides.Count; k++)
            {
                // A quiet gap before each side's round: libtorch's OpenMP workers and ONNX Runtime's
                // spinning pool keep spinning for a while after their last call, and without the gap
                // the next side's round ran on cores they still held (LstmSharp's batch-1 time read
                // 80-117 us right after ORT with allow_spinning 1, 53-65 us in its own workload).
                Thread.Sleep(QuietGapMs);
                process.Refresh();
                var cpu0 = process.TotalProcessorTime;
                times[k].AddRange(TimeEach(sides[k].Side.Step, stepsPerRound, ref calls[k]));
                process.Refresh();
                cpu[k] += process.TotalProcessorTime - cpu0;
            }
        }

        var summary = times.Select(Summarise).ToArray();
        var o = summary[0];
        bool micro = summary.Any(t => t.Median < 2e-3);
        string unit = micro ? "us" : "ms";
        double scale = micro ? 1e6 : 1e3;
        for (int k = 0; k < sides.Count; k++)
        {
            BenchHarness.Figure(workload, sides[k].Name, "time", summary[k].Median * scale, unit);
        }

        for (int k = 1; k < sides.Count; k++)
        {
            BenchHarness.Figure(workload, $"{sides[k].Name}/lstmsharp", "speedup", summary[k].Median / o.Median, "x");
        }

        // On a shared machine the fastest call is the best estimate of the uncontended cost.
        for (int k = 0; k < sides.Count; k++)
        {
            BenchHarness.Figure(workload, sides[k].Name, "time-min", summary[k].Min * scale, unit);
        }

        for (int k = 1; k < sides.Count; k++)
        {
            BenchHarness.Figure(workload, $"{sides[k].Name}/lstmsharp", "speedup-min", summary[k].Min / o.Min, "x");
        }

        // CPU time of the whole process (all threads, spinning included) per call: the work
        // done, which preemption by other processes does not inflate the way it does wall time.
        double oc = cpu[0].TotalSeconds / calls[0];
        for (int k = 0; k < sides.Count; k++)
        {
            BenchHarness.Figure(workload, sides[k].Name, "cpu-time", cpu[k].TotalSeconds / calls[k] * scale, unit);
        }

        for (int k = 1; k < sides.Count; k++)
        {
            BenchHarness.Figure(workload, $"{sides[k].Name}/lstmsharp", "cpu-ratio", cpu[k].TotalSeconds / calls[k] / oc, "x");
        }

        for (int k = 0; k < sides.Count; k++)
        {
            BenchHarness.Diagnostic($"{workload} {sides[k].Name}: {sides[k].Side.Description}; {Spread(summary[k], scale, unit)}");
        }
    }

    private static void Warm(Side side)
    {
        // Warm-up runs at least WarmupSteps calls and 1.5 s: pools, optimizer slots, and JIT tiers
        // (a method reaches tier 1 after 30 calls and a quiet 100 ms, compiled in the background:
        // with 0.3 s a 10 ms training step was still being recompiled in the first timed round).
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < side.WarmupSteps || clock.Elapsed.TotalSeconds < 1.5; i++)
        {
            side.Step();
        }
    }

    private static double[] TimeEach(Action step, int count)
    {
        int calls = 0;
        return TimeEach(step, count, ref calls);
    }

    private static double[] TimeEach(Action step, int count, ref int calls)
    {
        var times = new double[count];

        // Calls far below the clock's resolution are timed in groups.
        long probe = Stopwatch.GetTimestamp();
        step();
        double once = Stopwatch.GetElapsedTime(probe).TotalSeconds;
        int group = Math.Max(1, (int)(2e-3 / Math.Max(once, 1e-7)));
        for (int i = 0; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int k = 0; k < group; k++)
            {
                step();
            }

            times[i] = Stopwatch.GetElapsedTime(start).TotalSeconds / group;
        }

        calls += 1 + (count * group);

        return times;
    }

    private static BenchHarness.Timing TimeRounds(Action step, int rounds, int stepsPerRound, int warmup)
    {
        Warm(new Side(step, string.Empty, warmup));
        var all = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            all.AddRange(TimeEach(step, stepsPerRound));
        }

        return Summarise(all);
    }

    private static BenchHarness.Timing Summarise(List<double> times)
    {
        times.Sort();
        return new BenchHarness.Timing(times[times.Count / 2], times[0], times[^1], times.Count, 1);
    }

    private static string Spread(BenchHarness.Timing t, double scale, string unit)
        => string.Create(CultureInfo.InvariantCulture, $"median {t.Median * scale:0.###} {unit}, min..max {t.Min * scale:0.###}..{t.Max * scale:0.###} {unit} over {t.Samples} samples");

    // ---------------------------------------------------------------- LstmSharp

    private static Layer OurRecurrent(Cell cell, int[] inputShape) => cell switch
    {
        Cell.Lstm => new LSTM(Units, inputShape: inputShape),
        Cell.Gru => new GRU(Units, inputShape: inputShape),
        _ => new SimpleRNN(Units, inputShape: inputShape),
    };

    private static Sequential OurClassifier(Cell cell)
    {
        var model = new Sequential([OurRecurrent(cell, [Time, Features]), new Dense(Classes), new Activation("softmax")]);
        model.Compile(new Adam(0.001), "categorical_crossentropy");
        return model;
    }

    private static Side OursTrain(Cell cell)
    {
        var model = OurClassifier(cell);
        var (x, labels) = Data(Batch);
        var y = new LsTensor(Batch, Classes);
        for (int i = 0; i < Batch; i++)
        {
            y.Span[(i * Classes) + labels[i]] = 1f;
        }

        return new Side(() => model.TrainOnBatch(x, y), $"Sequential[{cell}(128), Dense(10), Activation(softmax)].TrainOnBatch, categorical_crossentropy (one-hot), Adam(0.001)");
    }

    private static Side OursInfer(int batch, bool usePredict)
    {
        var model = OurClassifier(Cell.Lstm);
        var (x, _) = Data(batch);
        if (usePredict)
        {
            return new Side(() => model.Predict(x, batch), $"model.Predict(x, batchSize: {batch})", 20);
        }

        // With no recording tape a model call keeps no activations; NoGrad makes that explicit.
        return new Side(
            () =>
            {
                using var noGrad = Tape.NoGrad();
                model.Call(x);
            },
            "model.Call(x) inside Tape.NoGrad()",
            20);
    }

    /// <summary>
    /// The inference model exported to ONNX and run by ONNX Runtime's InferenceSession: the same
    /// thread count, sequential execution, input and output OrtValues allocated once.
    /// </summary>
    private static Side OrtInfer(int batch, int threads, bool spinning)
    {
        var model = OurClassifier(Cell.Lstm);
        byte[] onnx = model.ToOnnxBytes(new OnnxExportOptions { Opset = 17 });
        var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", spinning ? "1" : "0");
        var session = new InferenceSession(onnx, options);
        var (x, _) = Data(batch);
        var input = OrtValue.CreateTensorValueFromMemory(x.Span.ToArray(), [batch, Time, Features]);
        var output = OrtValue.CreateTensorValueFromMemory(new float[batch * Classes], [batch, Classes]);
        var runOptions = new RunOptions();
        string[] inputNames = [session.InputNames[0]], outputNames = [session.OutputNames[0]];
        OrtValue[] inputs = [input], outputs = [output];

        // Checked once: the exported model gives LstmSharp's answer on this input.
        session.Run(runOptions, inputNames, inputs, outputNames, outputs);
        using (Tape.NoGrad())
        {
            var expected = model.Call(x).Span;
            var actual = output.GetTensorDataAsSpan<float>();
            for (int i = 0; i < expected.Length; i++)
            {
                if (!(Math.Abs(expected[i] - actual[i]) <= 1e-5f))
                {
                    throw new InvalidOperationException($"onnxruntime: output {i} is {actual[i]}, LstmSharp gives {expected[i]}.");
                }
            }
        }

        return new Side(
            () => session.Run(runOptions, inputNames, inputs, outputNames, outputs),
            $"model.ToOnnxBytes() (opset 17) in InferenceSession, IntraOpNumThreads {threads}, ORT_SEQUENTIAL, allow_spinning {(spinning ? 1 : 0)}, pre-allocated OrtValues",
            20);
    }

    private static Side OursImdb()
    {
        var model = new Sequential([
            new Embedding(ImdbVocab, ImdbEmbed, inputShape: [ImdbTime]),
            new LSTM(ImdbUnits),
            new Dense(1, activation: "sigmoid"),
        ]);
        model.Compile(new Adam(0.001), "binary_crossentropy");
        var (ids, labels) = ImdbData();
        var x = new LsTensor(ids.Select(v => (float)v).ToArray(), Batch, ImdbTime);
        var y = new LsTensor(labels.Select(v => (float)v).ToArray(), Batch, 1);
        return new Side(() => model.TrainOnBatch(x, y), "Sequential[Embedding(5000,15), LSTM(10), Dense(1, sigmoid)].TrainOnBatch, binary_crossentropy, Adam(0.001)", 3);
    }

    // ---------------------------------------------------------------- libtorch

    /// <summary>The libtorch twin of the classifier: RNN (batch_first) → Linear on the last step's output.</summary>
    private sealed class TorchClassifier : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module rnn;
        private readonly Cell cell;
        private readonly TorchSharp.Modules.Linear head;

        public TorchClassifier(Cell cell)
            : base("classifier")
        {
            this.cell = cell;
            rnn = cell switch
            {
                Cell.Lstm => nn.LSTM(Features, Units, batchFirst: true),
                Cell.Gru => nn.GRU(Features, Units, batchFirst: true),
                _ => nn.RNN(Features, Units, nonLinearity: nn.NonLinearities.Tanh, batchFirst: true),
            };
            head = nn.Linear(Units, Classes);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var seq = cell switch
            {
                Cell.Lstm => ((TorchSharp.Modules.LSTM)rnn).call(x).Item1,
                Cell.Gru => ((TorchSharp.Modules.GRU)rnn).call(x).Item1,
                _ => ((TorchSharp.Modules.RNN)rnn).call(x).Item1,
            };
            return head.call(seq.select(1, -1)); // logits of the last step
        }
    }

    private sealed class TorchImdb : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Embedding embedding;
        private readonly TorchSharp.Modules.LSTM lstm;
        private readonly TorchSharp.Modules.Linear head;

        public TorchImdb()
            : base("imdb")
        {
            embedding = nn.Embedding(ImdbVocab, ImdbEmbed);
            lstm = nn.LSTM(ImdbEmbed, ImdbUnits, batchFirst: true);
            head = nn.Linear(ImdbUnits, 1);
            RegisterComponents();
        }

        public override Tensor forward(Tensor ids)
            => head.call(lstm.call(embedding.call(ids)).Item1.select(1, -1)); // logit
    }

    private static Side TheirsTrain(Cell cell)
    {
        var model = new TorchClassifier(cell);
        var optimizer = optim.Adam(model.parameters(), lr: 0.001);
        var (xs, labels) = Data(Batch);
        var x = torch.tensor(xs.Span.ToArray(), [Batch, Time, Features]);
        var y = torch.tensor(labels.Select(v => (long)v).ToArray(), [Batch]);
        string what = cell switch { Cell.Lstm => "nn.LSTM", Cell.Gru => "nn.GRU", _ => "nn.RNN(tanh)" };
        return new Side(
            () =>
            {
                using var scope = torch.NewDisposeScope();
                optimizer.zero_grad();
                var loss = nn.functional.cross_entropy(model.call(x), y);
                loss.backward();
                optimizer.step();
            },
            $"{what}(batch_first) + nn.Linear + cross_entropy (logits, class ids) + optim.Adam(0.001); zero_grad/forward/backward/step");
    }

    private static Side TheirsInfer(int batch)
    {
        var model = new TorchClassifier(Cell.Lstm);
        model.eval();
        var (xs, _) = Data(batch);
        var x = torch.tensor(xs.Span.ToArray(), [batch, Time, Features]);
        return new Side(
            () =>
            {
                using var scope = torch.NewDisposeScope();
                using var noGrad = torch.no_grad();
                nn.functional.softmax(model.call(x), 1);
            },
            "torch.no_grad + module.forward (nn.LSTM + nn.Linear) + softmax",
            20);
    }

    private static Side TheirsImdb()
    {
        var model = new TorchImdb();
        var optimizer = optim.Adam(model.parameters(), lr: 0.001);
        var (ids, labels) = ImdbData();
        var x = torch.tensor(ids.Select(v => (long)v).ToArray(), [Batch, ImdbTime]);
        var y = torch.tensor(labels.Select(v => (float)v).ToArray(), [Batch, 1]);
        return new Side(
            () =>
            {
                using var scope = torch.NewDisposeScope();
                optimizer.zero_grad();
                var loss = nn.functional.binary_cross_entropy_with_logits(model.call(x), y);
                loss.backward();
                optimizer.step();
            },
            "nn.Embedding + nn.LSTM(batch_first) + nn.Linear + binary_cross_entropy_with_logits + optim.Adam(0.001)",
            3);
    }

    // ---------------------------------------------------------------- data

    /// <summary>Uniform inputs in [-1, 1) and random class ids; the same values for both sides.</summary>
    private static (LsTensor X, int[] Labels) Data(int batch)
    {
        var rng = new Random(7);
        var x = new LsTensor(batch, Time, Features);
        var s = x.Span;
        for (int i = 0; i < s.Length; i++)
        {
            s[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        var labels = new int[batch];
        for (int i = 0; i < batch; i++)
        {
            labels[i] = rng.Next(Classes);
        }

        return (x, labels);
    }

    /// <summary>Token ids in [1, 5000) (0 is Keras's padding id) and binary labels.</summary>
    private static (int[] Ids, int[] Labels) ImdbData()
    {
        var rng = new Random(11);
        var ids = new int[Batch * ImdbTime];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = rng.Next(1, ImdbVocab);
        }

        var labels = new int[Batch];
        for (int i = 0; i < Batch; i++)
        {
            labels[i] = rng.Next(2);
        }

        return (ids, labels);
    }
}
