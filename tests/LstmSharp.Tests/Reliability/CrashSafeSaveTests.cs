using System.Diagnostics;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Serialization;
using LstmSharp.Tensors;
using LstmSharp.Tests.Infrastructure;
using Xunit.Abstractions;

namespace LstmSharp.Tests.Reliability;

/// <summary>
/// A child process saves a model to one path in a loop and is SIGKILLed at random moments; after
/// every kill the file must load and be the last model saved or the one being saved, at most the
/// killed save's temporary file may remain, and the next save removes it. Short by default (12
/// kills); <c>LSTMSHARP_CRASH_KILLS=N</c> runs N.
/// </summary>
public sealed class CrashSafeSaveTests(ITestOutputHelper output) : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", "crash-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void AKilledSaveLeavesTheOldOrTheNewModelAndNoTemporaryFileAfterTheNextSave()
    {
        int kills = int.TryParse(Environment.GetEnvironmentVariable("LSTMSHARP_CRASH_KILLS"), out int k) && k > 0 ? k : 12;
        int seed = Environment.TickCount & 0xFFFF;
        var rng = new Random(seed);
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "model.lstm");
        SaveLoopChild.Build(0).Save(path);
        float version = 0;
        int midSave = 0, advanced = 0;
        var clock = Stopwatch.StartNew();
        for (int kill = 0; kill < kills; kill++)
        {
            float printed = version;
            using (var child = SaveLoopChild.Start(path, version))
            {
                using var ready = new ManualResetEventSlim();
                var lines = new List<string>();
                child.OutputDataReceived += (_, e) =>
                {
                    if (e.Data == "ready")
                    {
                        ready.Set();
                    }
                    else if (e.Data is { } d)
                    {
                        lock (lines)
                        {
                            lines.Add(d);
                        }
                    }
                };
                var errors = new System.Text.StringBuilder();
                child.ErrorDataReceived += (_, e) =>
                {
                    lock (errors)
                    {
                        errors.AppendLine(e.Data);
                    }
                };
                child.BeginOutputReadLine();
                child.BeginErrorReadLine();
                if (!ready.Wait(60_000) && !child.HasExited)
                {
                    child.Kill();
                }

                if (!ready.IsSet)
                {
                    child.WaitForExit();
                    Assert.Fail($"the save-loop child did not start: {errors}");
                }

                Thread.Sleep(rng.Next(0, 120));
                child.Kill();
                child.WaitForExit();
                lock (lines)
                {
                    foreach (string l in lines)
                    {
                        printed = Math.Max(printed, float.Parse(l, System.Globalization.CultureInfo.InvariantCulture));
                    }
                }
            }

            var temps = Temps();
            Assert.True(temps.Length <= 1, $"kill {kill} (seed {seed}): {temps.Length} temporary files: {string.Join(", ", temps)}");
            midSave += temps.Length;
            var loaded = Model.Load(path);
            float stored = loaded.Parameters.Single(p => p.Path.EndsWith("/bias", StringComparison.Ordinal)).Value.Span[0];
            Assert.True(stored == printed || stored == printed + 1, $"kill {kill} (seed {seed}): the file holds version {stored}; the last completed save was {printed}, so only {printed} or {printed + 1} may be there.");
            advanced += stored > version ? 1 : 0;
            version = stored;
        }

        // The next save to the path removes what the killed ones left.
        SaveLoopChild.Build(version + 1).Save(path);
        Assert.Empty(Temps());
        output.WriteLine($"{kills} SIGKILLs (seed {seed}) in {clock.Elapsed.TotalSeconds:F0} s: {midSave} during a save (temporary file present), the file moved forward after {advanced}; always old or new, no temporary file after the next save.");
    }

    private string[] Temps() => Directory.GetFiles(dir).Where(f => Path.GetFileName(f).StartsWith(".model.lstm.lstmsharp-save-", StringComparison.Ordinal)).ToArray();
}

/// <summary>The child side: saves versions start+1, start+2, ... of a 4 MB model to one path until killed.</summary>
internal static class SaveLoopChild
{
    public const string Marker = "--save-loop-child";

    /// <summary>A model whose first bias value is <paramref name="version"/>; 1M weights (4 MB), so a save takes a while.</summary>
    public static Sequential Build(float version)
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(3);
        var model = new Sequential([new Dense(1024, inputShape: [1024])]);
        model.Parameters.Single(p => p.Path.EndsWith("/bias", StringComparison.Ordinal)).Value.Span[0] = version;
        return model;
    }

    public static Process Start(string path, float version)
    {
        var psi = new ProcessStartInfo(SimdChildProcess.DotnetHostPath())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(typeof(SaveLoopChild).Assembly.Location);
        psi.ArgumentList.Add(Marker);
        psi.ArgumentList.Add(path);
        psi.ArgumentList.Add(version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Process.Start(psi) ?? throw new InvalidOperationException("could not start the save-loop child.");
    }

    public static int Run(string[] args)
    {
        string path = args[1];
        float version = float.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
        var model = Build(version);
        var bias = model.Parameters.Single(p => p.Path.EndsWith("/bias", StringComparison.Ordinal)).Value;
        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        while (true)
        {
            version++;
            bias.Span[0] = version;
            model.Save(path);
            Console.Out.WriteLine(version.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Console.Out.Flush();
        }
    }
}
