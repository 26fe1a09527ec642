using System.Text;
using CsCheck;
using LstmSharp.Data;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Serialization;
using LstmSharp.Tensors;
using LstmSharp.Training;
using Xunit.Abstractions;

namespace LstmSharp.Tests.Reliability;

/// <summary>
/// Property tests (CsCheck) run with every test run: thousands of mutated model files, data
/// files and hostile API calls, each held to <see cref="FuzzRule"/>: a result or the documented
/// exception, no hang, no allocation above a multiple of the input. A failure prints the seed
/// and the shrunk mutation list; replay it with <c>LSTMSHARP_FUZZ_SEED=...</c>. Long mode:
/// <c>LSTMSHARP_FUZZ=long</c> (25× the iterations).
/// </summary>
[Collection(Tensors.GlobalRngCollection.Name)]
public sealed class FuzzTests(ITestOutputHelper output)
{
    private static readonly Gen<Mutations.Op[]> Ops =
        Gen.Select(Gen.Int[0, 7], Gen.Int[0, int.MaxValue], Gen.Int[0, int.MaxValue], (k, p, v) => new Mutations.Op(k, p, v)).Array[1, 6];

    private static readonly Type[] ModelErrors = [typeof(ModelFormatException)];

    private static readonly Type[] DataErrors = [typeof(InvalidDataException)];

    [Fact]
    public void MutatedModelFilesLoadOrFailWithModelFormatException()
    {
        var seeds = FuzzSeeds.Models;
        Run(
            Gen.Select(Gen.Int[0, seeds.Length - 1], Ops),
            t => FuzzRule.HoldsForFile("Model.Load", "model.lstm", Mutations.Apply(seeds[t.Item1], t.Item2, Mutations.HeaderEnd(seeds[t.Item1])), p => Model.Load(p), 0, ModelErrors),
            3000,
            t => $"seed file {t.Item1}, ops [{string.Join(" ", t.Item2)}]");
    }

    [Fact]
    public void ModelFilesWithHostileConfigValuesLoadOrFailWithModelFormatException()
    {
        var seeds = FuzzSeeds.Models;
        var ops = Gen.Select(Gen.Int[0, int.MaxValue], Gen.Int[0, Mutations.InterestingJson.Length - 1]).Array[1, 3];
        Run(
            Gen.Select(Gen.Int[0, seeds.Length - 1], ops),
            t => FuzzRule.HoldsForFile("Model.Load(config)", "model.lstm", Mutations.MutateConfig(seeds[t.Item1], t.Item2), p => Model.Load(p), 0, ModelErrors),
            3000,
            t => $"seed file {t.Item1}, json ops [{string.Join(" ", t.Item2)}]");
    }

    [Fact]
    public void MutatedSafetensorsParseOrFailWithModelFormatException()
    {
        byte[] seed = FuzzSeeds.SafeTensorsFile();
        Run(
            Ops,
            ops =>
            {
                byte[] bytes = Mutations.Apply(seed, ops, Mutations.HeaderEnd(seed));
                FuzzRule.Holds(
                    "SafeTensors.Parse",
                    () =>
                    {
                        var file = SafeTensors.Parse(bytes, "fuzz.safetensors");
                        foreach (var t in file.Tensors.Where(t => t.DType is SafeTensorDType.F32 or SafeTensorDType.F16 or SafeTensorDType.BF16))
                        {
                            _ = file.GetTensor(t.Name);
                        }
                    },
                    bytes.Length,
                    ModelErrors);
            },
            2000,
            ops => $"ops [{string.Join(" ", ops)}]");
    }

    [Fact]
    public void MutatedIdxFilesReadOrFailWithInvalidData()
    {
        byte[][] seeds = [FuzzSeeds.IdxImages(), FuzzSeeds.IdxLabels()];
        Run(
            Gen.Select(Gen.Int[0, 1], Gen.Int[0, 2], Ops),
            t =>
            {
                var (kind, container, ops) = t;
                byte[] raw = Mutations.Apply(seeds[kind], ops, 16);
                Action<string> read = kind == 0 ? p => Mnist.ReadImages(p) : p => Mnist.ReadLabels(p);
                FuzzRule.HoldsForFile("Mnist.Read", "idx.gz", Container(raw, container, seeds[kind]), read, raw.Length, DataErrors);
            },
            1500,
            t => $"file {t.Item1}, container {t.Item2}, ops [{string.Join(" ", t.Item3)}]");
    }

    [Fact]
    public void MutatedImdbLinesReadOrFailWithInvalidData()
    {
        byte[] seed = FuzzSeeds.ImdbLines();
        Run(
            Gen.Select(Gen.Int[0, 2], Ops),
            t =>
            {
                byte[] raw = Mutations.Apply(seed, t.Item2);
                FuzzRule.HoldsForFile("Imdb.ReadJsonLines", "train.jsonl.gz", Container(raw, t.Item1, seed), p => Imdb.ReadJsonLines(p, 0, new ImdbCorpusBuilder(), null), raw.Length, DataErrors);
            },
            1500,
            t => $"container {t.Item1}, ops [{string.Join(" ", t.Item2)}]");
    }

    [Fact]
    public void MutatedNpyAndCsvFilesLoadOrFailWithInvalidData()
    {
        var npy = FuzzSeeds.Npy();
        byte[] csv = FuzzSeeds.Csv();
        Run(
            Gen.Select(Gen.Int[0, npy.Length], Ops),
            t =>
            {
                bool isCsv = t.Item1 == npy.Length;
                byte[] seed = isCsv ? csv : npy[t.Item1];
                byte[] bytes = Mutations.Apply(seed, t.Item2, isCsv ? 0 : 80);
                FuzzRule.HoldsForFile(isCsv ? "ArrayFiles.LoadCsv" : "ArrayFiles.LoadNpy", isCsv ? "x.csv" : "x.npy", bytes, p => ArrayFiles.Load(p), 0, DataErrors);
            },
            2000,
            t => $"seed {t.Item1}, ops [{string.Join(" ", t.Item2)}]");
    }

    [Fact]
    public void HostileApiCallsEndInArgumentOrInvalidOperationExceptions()
    {
        var pick = Gen.Int[0, HostileApi.Ints.Length - 1];
        var real = Gen.Int[0, HostileApi.Floats.Length - 1];
        Run(
            Gen.Select(Gen.Int[0, HostileApi.Templates - 1], pick, pick, real),
            t => FuzzRule.Holds($"API template {t.Item1}", () => HostileApi.Call(t.Item1, t.Item2, t.Item3, t.Item4), 1024, typeof(ArgumentException), typeof(InvalidOperationException)),
            3000,
            t => HostileApi.Describe(t.Item1, t.Item2, t.Item3, t.Item4));
    }

    [Fact]
    public void TheCheckedInCorpusEndsCleanly()
    {
        string corpus = CorpusFolder();
        int files = 0;
        foreach (string file in Directory.EnumerateFiles(corpus, "*", SearchOption.AllDirectories))
        {
            string target = Path.GetFileName(Path.GetDirectoryName(file)!);
            byte[] bytes = File.ReadAllBytes(file);
            files++;
            switch (target)
            {
                case "model": FuzzRule.HoldsForFile("corpus " + file, "model.lstm", bytes, p => Model.Load(p), 0, ModelErrors); break;
                case "safetensors": FuzzRule.Holds("corpus " + file, () => SafeTensors.Parse(bytes, file), bytes.Length, ModelErrors); break;
                case "idx-images": FuzzRule.HoldsForFile("corpus " + file, "idx", bytes, p => Mnist.ReadImages(p), 0, DataErrors); break;
                case "idx-labels": FuzzRule.HoldsForFile("corpus " + file, "idx", bytes, p => Mnist.ReadLabels(p), 0, DataErrors); break;
                case "imdb": FuzzRule.HoldsForFile("corpus " + file, "train.jsonl", bytes, p => Imdb.ReadJsonLines(p, 0, new ImdbCorpusBuilder(), null), 0, DataErrors); break;
                case "npy": FuzzRule.HoldsForFile("corpus " + file, "x.npy", bytes, p => ArrayFiles.LoadNpy(p), 0, DataErrors); break;
                case "csv": FuzzRule.HoldsForFile("corpus " + file, "x.csv", bytes, p => ArrayFiles.LoadCsv(p), 0, DataErrors); break;
                case "onnx": FuzzRule.HoldsForFile("corpus " + file, "model.onnx", bytes, p => LstmSharp.Interop.Onnx.OnnxImport.Load(p), 0, typeof(LstmSharp.Interop.Onnx.OnnxImportException)); break;
                case "torch": FuzzRule.HoldsForFile("corpus " + file, "model.pt", bytes, p => LstmSharp.Interop.Torch.TorchStateDict.Load(p), 0, typeof(LstmSharp.Interop.Torch.TorchFormatException)); break;
                case "keras": FuzzRule.HoldsForFile("corpus " + file, "model.keras", bytes, p => LstmSharp.Interop.Keras.KerasImport.LoadKeras(p), 0, typeof(LstmSharp.Interop.Keras.KerasFormatException)); break;
                case "keras-h5": FuzzRule.HoldsForFile("corpus " + file, "model.h5", bytes, p => LstmSharp.Interop.Keras.KerasImport.LoadKeras(p), 0, typeof(LstmSharp.Interop.Keras.KerasFormatException)); break;
                default: Assert.Fail($"corpus file {file}: unknown target folder '{target}'."); break;
            }
        }

        Assert.True(files >= 10, $"the corpus at {corpus} holds {files} files");
    }

    /// <summary>fuzz/corpus at the repository root (the fuzz project reads the same files).</summary>
    internal static string CorpusFolder()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "fuzz", "corpus");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"fuzz/corpus not found above {AppContext.BaseDirectory}.");
    }

    /// <summary>0: the raw bytes; 1: gzipped; 2: the gzip of the seed, mutated (CRC and inflate errors).</summary>
    private static byte[] Container(byte[] raw, int container, byte[] seed) => container switch
    {
        0 => raw,
        1 => HostileInput.Gzip(raw),
        _ => MutateGz(HostileInput.Gzip(seed), raw),
    };

    private static byte[] MutateGz(byte[] gz, byte[] raw)
    {
        // Flip a byte chosen by the (already random) mutated raw bytes.
        int at = raw.Length == 0 ? 0 : (raw[^1] * 31 + raw.Length) % gz.Length;
        gz[at] ^= (byte)(1 + (raw.Length % 255));
        return gz;
    }

    private void Run<T>(Gen<T> gen, Action<T> check, int iterations, Func<T, string> print)
    {
        long n = (long)iterations * FuzzRule.Scale;
        long before = FuzzRule.Tried;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        gen.Sample(check, writeLine: output.WriteLine, seed: FuzzRule.Seed, iter: n, print: print);
        output.WriteLine($"{n} inputs in {clock.Elapsed.TotalSeconds:F1} s ({FuzzRule.Tried - before} checks counted by the process)");
    }
}

/// <summary>Calls of the public API with hostile arguments, by template number.</summary>
internal static class HostileApi
{
    public static readonly int[] Ints = [-1, 0, 1, 2, 3, 7, 64, 1000, 46341, 65536, 1_000_000_000, int.MaxValue, int.MinValue];

    public static readonly float[] Floats = [float.NaN, -1f, 0f, 0.5f, 1f, 2f, float.PositiveInfinity, float.NegativeInfinity, 1e-30f, 0.99999f];

    private static readonly string[] Strings = ["tanh", "relu", "nope", "", "pre", "post", "sigmoid"];

    public const int Templates = 9;

    public static string Describe(int template, int a, int b, int f) => $"template {template}, a={Ints[a]}, b={Ints[b]}, f={Floats[f]}";

    public static void Call(int template, int ai, int bi, int fi)
    {
        int a = Ints[ai], b = Ints[bi];
        float f = Floats[fi];
        string s = Strings[(ai + bi) % Strings.Length];
        switch (template)
        {
            case 0:
                {
                    // A recurrent layer of a units on b features: must fail by name when too big, work when small.
                    Layer rnn = (ai % 3) switch
                    {
                        0 => new LSTM(a, activation: s, dropout: f, recurrentDropout: f),
                        1 => new GRU(a, activation: s, dropout: f),
                        _ => new SimpleRNN(a, activation: s, recurrentDropout: f),
                    };
                    double largest = 4.0 * a * Math.Max(a, b);
                    if (a <= 0 || b <= 0 || Affordable(largest))
                    {
                        rnn.Build([3, b]);
                        rnn.Apply(new Tensor(2, 3, b), training: true);
                    }
                    else
                    {
                        ExpectRefusal(() => rnn.Build([3, b]), largest);
                    }

                    break;
                }

            case 1:
                {
                    var dense = new Dense(a, activation: s);
                    if (b <= 0 || Affordable((double)a * b))
                    {
                        dense.Build([b]);
                        dense.Apply(new Tensor(2, b));
                    }
                    else
                    {
                        ExpectRefusal(() => dense.Build([b]), (double)a * b);
                    }

                    break;
                }

            case 2:
                {
                    // The table is built in the constructor (as Keras does).
                    if (a <= 0 || b <= 0 || Affordable((double)a * b))
                    {
                        var embedding = new Embedding(a, b, maskZero: f > 0);
                        embedding.Apply(new Tensor([0f, 1f, f, 3f], 1, 4));
                    }
                    else
                    {
                        ExpectRefusal(() => _ = new Embedding(a, b), (double)a * b);
                    }

                    break;
                }

            case 3:
                {
                    var model = Tiny();
                    model.Fit(Inputs(6), new Tensor(6, 2), batchSize: a, epochs: Math.Clamp(b, -1, 2), verbose: 0, validationSplit: f);
                    break;
                }

            case 4:
                {
                    var model = Tiny();
                    var x = new Tensor(Small(a), Small(b), 2);
                    model.Predict(x, batchSize: b);
                    break;
                }

            case 5:
                {
                    int[][] sequences = [[1, 2, 3], [], [a, b]];
                    Sequences.PadSequences(sequences, maxlen: a, padding: s, truncating: Strings[bi % Strings.Length], value: f);
                    break;
                }

            case 6:
                {
                    var opt = new Adam(f) { ClipNorm = b > 0 ? b : null };
                    var p = new Parameter("w", new Tensor([1f, 2f], 2)) { Path = "w" };
                    p.Grad.Span[0] = f;
                    opt.Step([p]);
                    break;
                }

            case 7:
                {
                    var t = new Tensor(2, 3, 4);
                    t.Reshape(a, b);
                    break;
                }

            default:
                {
                    var model = Tiny();
                    model.Compile(new Sgd(f), s, [s]);
                    model.Evaluate(Inputs(Small(a)), new Tensor(Small(b), 2), batchSize: a);
                    break;
                }
        }
    }

    private static bool Affordable(double values) => values <= 1_000_000;

    /// <summary>
    /// A weight larger than an array can hold must be refused with an ArgumentException, before
    /// allocating; one that fits but is above this test's memory is legitimate and not built.
    /// </summary>
    private static void ExpectRefusal(Action build, double largestWeight)
    {
        if (largestWeight <= Array.MaxLength)
        {
            return;
        }

        try
        {
            build();
        }
        catch (ArgumentException)
        {
            return;
        }

        throw new FuzzViolation($"a layer with a weight of {largestWeight} values was built instead of refused.");
    }

    private static int Small(int v) => v is >= 0 and <= 64 ? v : v < 0 ? v : 64;

    private static Tensor Inputs(int n) => new(Enumerable.Range(0, Math.Max(n, 0) * 3 * 2).Select(i => (float)Math.Sin(i)).ToArray(), Math.Max(n, 0), 3, 2);

    private static Sequential Tiny()
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(1);
        var model = new Sequential([new SimpleRNN(2, inputShape: [3, 2]), new Dense(2)]);
        model.Compile(new Sgd(0.01), "mse");
        return model;
    }
}
