using System.Diagnostics;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Distributed;

/// <summary>
/// Starts the <c>lstmsharp</c> tool under Open MPI's <c>mpirun</c> on this machine only
/// (oversubscribed, unbound, allowed as root), always inside <c>timeout</c> so a hung job
/// cannot hang the test run. A test calls <see cref="Require"/> (with <c>[SkippableFact]</c>):
/// without <c>mpirun</c> it is skipped on a developer machine and FAILS under <c>CI=true</c>
/// (CI installs openmpi-bin).
/// </summary>
internal static class MpiRun
{
    /// <summary>Open MPI's TCP transport on the loopback interface only, instead of shared memory.</summary>
    public static readonly string[] TcpLoopback = ["--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo"];

    private static readonly Lazy<string?> Mpirun = new(() => FindOnPath("mpirun"));

    public static string Require()
    {
        string? mpirun = Mpirun.Value;
        if (mpirun is null && Environment.GetEnvironmentVariable("CI") == "true")
        {
            throw new InvalidOperationException("CI=true but mpirun is not on PATH: .ci/run installs openmpi-bin (apt-get install -y openmpi-bin).");
        }

        Skip.If(mpirun is null, "Open MPI's mpirun is not on this machine (apt-get install openmpi-bin)");
        return mpirun!;
    }

    /// <summary>The CLI's assembly beside the tests (the test project references the tool).</summary>
    public static string CliAssembly => Path.Combine(AppContext.BaseDirectory, "LstmSharp.Cli.dll");

    public sealed record Outcome(int ExitCode, string Output, string Error, TimeSpan Elapsed)
    {
        public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:0.0} s{Environment.NewLine}stdout:{Environment.NewLine}{Output}{Environment.NewLine}stderr:{Environment.NewLine}{Error}";
    }

    /// <summary><c>timeout -s KILL {seconds} mpirun ... -np {ranks} dotnet LstmSharp.Cli.dll {args}</c>.</summary>
    public static Outcome Lstmsharp(int ranks, IEnumerable<string> args, int timeoutSeconds = 120, IEnumerable<string>? mca = null, Action<Process>? whileRunning = null)
    {
        var psi = Start(ranks, timeoutSeconds, mca);
        psi.ArgumentList.Add(SimdChildProcess.DotnetHostPath());
        psi.ArgumentList.Add(CliAssembly);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return Wait(psi, timeoutSeconds, whileRunning);
    }

    /// <summary>The <c>lstmsharp</c> tool as one plain process (no mpirun), under the same timeout.</summary>
    public static Outcome LstmsharpAlone(IEnumerable<string> args, int timeoutSeconds = 120)
    {
        var psi = new ProcessStartInfo("timeout") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-s");
        psi.ArgumentList.Add("KILL");
        psi.ArgumentList.Add(timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        psi.ArgumentList.Add(SimdChildProcess.DotnetHostPath());
        psi.ArgumentList.Add(CliAssembly);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return Wait(psi, timeoutSeconds, null);
    }

    private static ProcessStartInfo Start(int ranks, int timeoutSeconds, IEnumerable<string>? mca)
    {
        var psi = new ProcessStartInfo("timeout") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";

        // No stray settings from a developer's shell; loopback only.
        psi.Environment["OMPI_MCA_btl_tcp_if_include"] = "lo";
        psi.Environment["OMPI_MCA_oob_tcp_if_include"] = "lo";
        foreach (var a in new[] { "-s", "KILL", timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), Require(), "--oversubscribe", "--bind-to", "none", "-np", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var a in mca ?? [])
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }

    private static Outcome Wait(ProcessStartInfo psi, int timeoutSeconds, Action<Process>? whileRunning)
    {
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start timeout/mpirun");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        whileRunning?.Invoke(process);

        // `timeout` kills mpirun; this is the guard behind that guard.
        if (!process.WaitForExit((timeoutSeconds + 30) * 1000))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        return new Outcome(process.ExitCode, stdout.Result, stderr.Result, watch.Elapsed);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name))
            .FirstOrDefault(File.Exists);
}
