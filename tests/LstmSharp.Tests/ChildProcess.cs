using System.Diagnostics;

namespace LstmSharp.Tests;

/// <summary>
/// Re-runs a check in a fresh process (`dotnet exec LstmSharp.Tests.dll child NAME`) with extra
/// environment variables, e.g. <c>DOTNET_EnableAVX512F=0</c>, so the Vector256 and scalar paths
/// run on a machine whose JIT would otherwise pick Vector512. Add checks to <see cref="Checks"/>.
/// </summary>
internal static class ChildProcess
{
    /// <summary>Named child checks; each returns the process exit code (0 = pass) and writes its report to stdout.</summary>
    public static readonly IReadOnlyDictionary<string, Func<int>> Checks = new Dictionary<string, Func<int>>
    {
        ["gemm-core"] = Kernels.GemmReference.ChildMain,
    };

    /// <summary>Runs check <paramref name="name"/> in a child process; returns its exit code and combined output.</summary>
    public static (int ExitCode, string Output) Run(string name, params (string Name, string Value)[] environment)
    {
        string assembly = typeof(ChildProcess).Assembly.Location;
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(assembly);
        start.ArgumentList.Add("child");
        start.ArgumentList.Add(name);
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"child '{name}' timed out after 3 minutes\n{stdout.Result}{stderr.Result}");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static string DotnetHost()
    {
        // The SDK sets DOTNET_HOST_PATH for the processes it starts (dotnet test); else use our own host.
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        string? self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }
}

/// <summary>
/// Entry point of the test assembly (the test SDK's generated one is turned off in the .csproj):
/// <c>child NAME</c> runs a <see cref="ChildProcess"/> check; anything else is an error.
/// </summary>
internal static class TestProgram
{
    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "child" && ChildProcess.Checks.TryGetValue(args[1], out Func<int>? check))
        {
            return check();
        }

        Console.Error.WriteLine($"usage: LstmSharp.Tests child <{string.Join('|', ChildProcess.Checks.Keys)}>");
        return 2;
    }
}
