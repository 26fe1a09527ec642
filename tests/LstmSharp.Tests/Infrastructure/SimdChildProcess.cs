using System.Diagnostics;
using System.Reflection;
using System.Runtime.Intrinsics;

namespace LstmSharp.Tests.Infrastructure;

/// <summary>Which hardware paths of the vectorised kernels a child process may use.</summary>
public enum SimdPath
{
    /// <summary>Everything the machine has (Vector512 where AVX-512F exists).</summary>
    Native,

    /// <summary>
    /// <c>DOTNET_EnableAVX512=0</c> (the .NET 10 name; <c>DOTNET_EnableAVX512F=0</c>, the older one, is
    /// ignored by .NET 10 and set as well): Vector512 is off, so kernels take their Vector256 path.
    /// </summary>
    Vector256,

    /// <summary><c>DOTNET_EnableHWIntrinsic=0</c>: no SIMD at all, so kernels take their scalar path.</summary>
    Scalar,
}

/// <summary>
/// Re-runs a public static parameterless test body in a child process with instruction sets
/// switched off, so the Vector512, Vector256 and scalar paths of a kernel are all exercised
/// on one machine. The child is this test assembly itself (see <see cref="ChildEntryPoint"/>).
/// </summary>
/// <example>
/// <code>
/// [Theory]
/// [InlineData(SimdPath.Vector256)]
/// [InlineData(SimdPath.Scalar)]
/// public void MatchesReferenceOnEveryPath(SimdPath path) =&gt; SimdChildProcess.Run(path, typeof(MyTests), nameof(MatchesReference));
/// </code>
/// </example>
public static class SimdChildProcess
{
    internal const string Marker = "--simd-child";

    /// <summary>
    /// Runs <paramref name="type"/>.<paramref name="method"/> in a child process under
    /// <paramref name="path"/>; fails with the child's output when the body throws, when the child
    /// did not actually run with the requested instruction sets, or on timeout.
    /// </summary>
    public static void Run(SimdPath path, Type type, string method, int timeoutSeconds = 120) => Run(path, type, new[] { method }, timeoutSeconds);

    /// <summary>Runs several static test methods of <paramref name="type"/>, in order, in one child process (one start-up instead of many).</summary>
    public static void Run(SimdPath path, Type type, string[] methods, int timeoutSeconds = 120)
    {
        foreach (string m in methods)
        {
            _ = type.GetMethod(m, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static, Type.EmptyTypes)
                ?? throw new ArgumentException($"SimdChildProcess: {type.FullName}.{m} must be a static method without parameters.", nameof(methods));
        }

        string method = string.Join(",", methods);

        string assembly = typeof(SimdChildProcess).Assembly.Location;
        var psi = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(assembly);
        psi.ArgumentList.Add(Marker);
        psi.ArgumentList.Add(path.ToString());
        psi.ArgumentList.Add(type.AssemblyQualifiedName!);
        psi.ArgumentList.Add(method);
        switch (path)
        {
            case SimdPath.Vector256:
                psi.Environment["DOTNET_EnableAVX512"] = "0";
                psi.Environment["DOTNET_EnableAVX512F"] = "0";
                break;
            case SimdPath.Scalar:
                psi.Environment["DOTNET_EnableHWIntrinsic"] = "0";
                break;
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("SimdChildProcess: could not start the child process.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"SimdChildProcess: {type.Name}.{method} under {path} did not finish within {timeoutSeconds} s.");
        }

        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            Assert.Fail($"SimdChildProcess: {type.Name}.{method} under {path} exited with {process.ExitCode}.\n--- stdout\n{stdout.Result}\n--- stderr\n{stderr.Result}");
        }
    }

    internal static string DotnetHostPath() => DotnetHost();

    private static string DotnetHost()
    {
        // Set by the dotnet CLI for the processes it starts (dotnet test -> testhost).
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        string? self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }

        return "dotnet";
    }

    /// <summary>The child's side: checks the instruction sets really are as requested, then runs the body.</summary>
    internal static int RunChild(string[] args)
    {
        if (args.Length != 4)
        {
            Console.Error.WriteLine($"SimdChildProcess child: expected '{Marker} <path> <type> <method>', got {args.Length} arguments.");
            return 2;
        }

        var path = Enum.Parse<SimdPath>(args[1]);
        string state = $"Vector512={Vector512.IsHardwareAccelerated}, Vector256={Vector256.IsHardwareAccelerated}, Vector128={Vector128.IsHardwareAccelerated}";
        bool ok = path switch
        {
            SimdPath.Vector256 => !Vector512.IsHardwareAccelerated,
            SimdPath.Scalar => !Vector512.IsHardwareAccelerated && !Vector256.IsHardwareAccelerated && !Vector128.IsHardwareAccelerated,
            _ => true,
        };
        if (!ok)
        {
            Console.Error.WriteLine($"SimdChildProcess child: asked for {path} but the runtime reports {state}.");
            return 3;
        }

        var type = Type.GetType(args[2], throwOnError: true)!;
        foreach (string name in args[3].Split(','))
        {
            var method = type.GetMethod(name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static, Type.EmptyTypes)!;
            try
            {
                method.Invoke(null, null);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                Console.Error.WriteLine($"[{path}: {state}] {type.Name}.{name}: {e.InnerException}");
                return 1;
            }

            Console.WriteLine($"[{path}: {state}] {type.Name}.{name} passed.");
        }

        return 0;
    }
}

/// <summary>
/// Entry point of the test assembly (replacing the test SDK's empty generated one) so that
/// <see cref="SimdChildProcess"/> can start it as a child with <c>dotnet exec</c>.
/// </summary>
public static class ChildEntryPoint
{
    public static int Main(string[] args) => args.Length == 0 ? 0 : args[0] switch
    {
        SimdChildProcess.Marker => SimdChildProcess.RunChild(args),
        Reliability.SaveLoopChild.Marker => Reliability.SaveLoopChild.Run(args),
        _ => 0,
    };
}
