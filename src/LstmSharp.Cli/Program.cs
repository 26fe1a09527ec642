using System.CommandLine;
using System.Numerics;
using System.Reflection;
using System.Runtime.Intrinsics;

namespace LstmSharp.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        var root = new RootCommand("lstmsharp — recurrent neural networks (SimpleRNN, LSTM, GRU) for .NET");

        var info = new Command("info", "Print the SIMD width and core count LstmSharp will use.");
        info.SetAction(_ =>
        {
            Console.WriteLine($"lstmsharp {Version}");
            Console.WriteLine($"simd: Vector512 {(Vector512.IsHardwareAccelerated ? "yes" : "no")}, Vector256 {(Vector256.IsHardwareAccelerated ? "yes" : "no")}, Vector<float> width {Vector<float>.Count} floats");
            Console.WriteLine($"cores: {Environment.ProcessorCount}");
            return 0;
        });
        root.Subcommands.Add(info);

        return root.Parse(args).Invoke();
    }

    internal static string Version =>
        typeof(LstmSharp.Tensors.Tensor).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
