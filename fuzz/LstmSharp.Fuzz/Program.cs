using System.Diagnostics;
using LstmSharp.Data;
using LstmSharp.Interop.Keras;
using LstmSharp.Interop.Onnx;
using LstmSharp.Interop.Torch;
using LstmSharp.Models;
using LstmSharp.Serialization;
using SharpFuzz;

namespace LstmSharp.Fuzz;

/// <summary>
/// <c>dotnet run --project fuzz/LstmSharp.Fuzz -- TARGET [--seconds N] [--afl | --libfuzzer]</c>.
/// Without a mode flag a built-in driver mutates the corpus (fuzz/corpus/TARGET) for N seconds
/// (default 60); with <c>--afl</c> the process serves afl-fuzz (SharpFuzz out-of-process mode),
/// with <c>--libfuzzer</c> a libFuzzer driver (libfuzzer-dotnet). Every target enforces the
/// suite's rule: a result or the documented exception; anything else is a finding.
/// </summary>
public static class Program
{
    // Factories, not targets: nothing of the (instrumented) library may run before afl's shared memory is
    // attached inside Fuzzer.OutOfProcess.Run — its module initializer would write to an unmapped trace map
    // (AccessViolationException in <Module>..cctor).
    private static readonly Dictionary<string, Func<Target>> Targets = new(StringComparer.Ordinal)
    {
        ["model"] = () => new("model.lstm", p => Model.Load(p), typeof(ModelFormatException)),
        ["safetensors"] = () => new("x.safetensors", p => SafeTensors.Load(p), typeof(ModelFormatException)),
        ["idx-images"] = () => new("images.idx", p => Mnist.ReadImages(p), typeof(InvalidDataException)),
        ["idx-labels"] = () => new("labels.idx", p => Mnist.ReadLabels(p), typeof(InvalidDataException)),
        ["imdb"] = () => new("train.jsonl", ImdbLines, typeof(InvalidDataException)),
        ["npy"] = () => new("x.npy", p => ArrayFiles.LoadNpy(p), typeof(InvalidDataException)),
        ["csv"] = () => new("x.csv", p => ArrayFiles.LoadCsv(p), typeof(InvalidDataException)),
        ["onnx"] = () => new("model.onnx", p => Model.LoadOnnx(p), typeof(OnnxImportException)),
        ["torch"] = () => new("model.pt", p => TorchStateDict.Load(p), typeof(TorchFormatException)),
        ["keras"] = () => new("model.keras", p => KerasImport.LoadKeras(p), typeof(KerasFormatException)),
        ["keras-h5"] = () => new("model.h5", p => KerasImport.LoadKeras(p), typeof(KerasFormatException)),
    };

    /// <summary>The file name each target reads (kept beside the factories so Main needs no library type).</summary>
    private static readonly Dictionary<string, string> FileNames = new(StringComparer.Ordinal)
    {
        ["model"] = "model.lstm", ["safetensors"] = "x.safetensors", ["idx-images"] = "images.idx", ["idx-labels"] = "labels.idx",
        ["imdb"] = "train.jsonl", ["npy"] = "x.npy", ["csv"] = "x.csv", ["onnx"] = "model.onnx", ["torch"] = "model.pt",
        ["keras"] = "model.keras", ["keras-h5"] = "model.h5",
    };

    public static int Main(string[] args)
    {
        if (args.Length == 0 || !Targets.TryGetValue(args[0], out var factory))
        {
            Console.Error.WriteLine($"usage: LstmSharp.Fuzz TARGET [--seconds N] [--afl | --libfuzzer]; targets: {string.Join(", ", Targets.Keys)}");
            return 2;
        }

        string file = Path.Combine(Path.GetTempPath(), $"lstmsharp-fuzz-{Environment.ProcessId}", FileNames[args[0]]);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        Target? target = null;
        if (args.Contains("--afl"))
        {
            Fuzzer.OutOfProcess.Run(stream =>
            {
                using (var f = File.Create(file))
                {
                    stream.CopyTo(f);
                }

                (target ??= factory()).Check(file);
            });
            return 0;
        }

        if (args.Contains("--libfuzzer"))
        {
            Fuzzer.LibFuzzer.Run(span =>
            {
                File.WriteAllBytes(file, span.ToArray());
                (target ??= factory()).Check(file);
            });
            return 0;
        }

        target = factory();

        int at = Array.IndexOf(args, "--seconds");
        int seconds = at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], out int s) ? s : 60;
        return RandomDriver.Run(args[0], target, file, TimeSpan.FromSeconds(seconds));
    }

    private static void ImdbLines(string path) => typeof(Imdb).Assembly
        .GetType("LstmSharp.Data.Imdb")!
        .GetMethod("ReadJsonLines", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
        .Invoke(null, [path, 0, Activator.CreateInstance(typeof(Imdb).Assembly.GetType("LstmSharp.Data.ImdbCorpusBuilder")!)!, null]);
}

/// <summary>One reader under test: the file name it is given and the exception it documents.</summary>
internal sealed record Target(string FileName, Action<string> Read, Type Documented)
{
    /// <summary>Runs the reader; a documented exception is a clean end, anything else propagates (a finding).</summary>
    public void Check(string path)
    {
        try
        {
            Read(path);
        }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException is { } inner && Documented.IsInstanceOfType(inner))
        {
        }
        catch (Exception e) when (Documented.IsInstanceOfType(e))
        {
        }
    }
}

/// <summary>
/// The fallback driver when no afl-fuzz/libFuzzer is at hand: random byte mutations of the
/// corpus files for a fixed time, each input checked for escaping exceptions, hangs (> 5 s) and
/// allocation above 64× its size + 8 MB; findings are written to fuzz/findings/TARGET-*.bin.
/// </summary>
internal static class RandomDriver
{
    public static int Run(string name, Target target, string file, TimeSpan duration)
    {
        string corpus = Path.Combine(RepoRoot(), "fuzz", "corpus", name);
        var seeds = Directory.Exists(corpus) ? Directory.GetFiles(corpus).Select(File.ReadAllBytes).ToList() : [];
        if (seeds.Count == 0)
        {
            seeds.Add([]);
            Console.Error.WriteLine($"no corpus in {corpus}; starting from an empty input");
        }

        var rng = new Random();
        var clock = Stopwatch.StartNew();
        long execs = 0, findings = 0;
        while (clock.Elapsed < duration)
        {
            byte[] input = Mutate(seeds[rng.Next(seeds.Count)], rng);
            File.WriteAllBytes(file, input);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var one = Stopwatch.StartNew();
            string? problem = null;
            try
            {
                target.Check(file);
            }
            catch (Exception e)
            {
                problem = $"{e.GetType().FullName}: {e.Message}";
            }

            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (problem is null && one.Elapsed > TimeSpan.FromSeconds(5))
            {
                problem = $"took {one.Elapsed.TotalSeconds:F1} s";
            }

            if (problem is null && allocated > (64L * input.Length) + (8 << 20))
            {
                problem = $"allocated {allocated} bytes for {input.Length}";
            }

            execs++;
            if (problem is not null)
            {
                findings++;
                string dir = Path.Combine(RepoRoot(), "fuzz", "findings");
                Directory.CreateDirectory(dir);
                string saved = Path.Combine(dir, $"{name}-{Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(input))[..12]}.bin");
                File.WriteAllBytes(saved, input);
                Console.WriteLine($"finding: {problem} -> {saved}");
            }
        }

        Console.WriteLine($"{name}: {execs} inputs in {clock.Elapsed.TotalSeconds:F0} s ({execs / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F0}/s), {findings} findings");
        return findings == 0 ? 0 : 1;
    }

    /// <summary>Characters inserted by mutations (JSON and number syntax); drawn by index, so never past the end.</summary>
    private const string InsertedChars = "{}[]\",:-0123456789eE.nN '()TF";

    private static byte[] Mutate(byte[] seed, Random rng)
    {
        var b = new List<byte>(seed);
        int n = 1 + rng.Next(6);
        for (int i = 0; i < n; i++)
        {
            int len = b.Count;
            int at = len == 0 ? 0 : rng.Next(rng.Next(4) == 0 || len < 512 ? len : 512);
            switch (rng.Next(6))
            {
                case 0 when len > 0: b[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1 when len > 0: b[at] = (byte)rng.Next(256); break;
                case 2: b.RemoveRange(at, len - at); break;
                case 3: b.Insert(at, (byte)InsertedChars[rng.Next(InsertedChars.Length)]); break;
                case 4 when len >= 4:
                    int[] interesting = [0, -1, 1, int.MaxValue, int.MinValue, 65536, 1_000_000];
                    int v = interesting[rng.Next(interesting.Length)];
                    int p = Math.Min(at, len - 4);
                    for (int k = 0; k < 4; k++)
                    {
                        b[p + k] = (byte)(v >> (8 * k));
                    }

                    break;
                case 5 when len > 0: b.RemoveRange(at, Math.Min(1 + rng.Next(16), len - at)); break;
            }
        }

        return b.ToArray();
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "LstmSharp.sln")))
            {
                return d.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
