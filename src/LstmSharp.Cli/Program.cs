using System.Numerics;
using System.Reflection;
using System.Runtime.Intrinsics;

namespace LstmSharp.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h")
        {
            Console.WriteLine("lstmsharp — recurrent neural networks for .NET");
            Console.WriteLine("usage: lstmsharp info | --version");
            return 0;
        }

        switch (args[0])
        {
            case "--version":
                Console.WriteLine(typeof(LstmSharp.Tensors.Tensor).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown");
                return 0;
            case "info":
                Console.WriteLine($"simd: Vector512 {(Vector512.IsHardwareAccelerated ? "yes" : "no")}, Vector256 {(Vector256.IsHardwareAccelerated ? "yes" : "no")}, Vector<float> width {Vector<float>.Count} floats");
                Console.WriteLine($"cores: {Environment.ProcessorCount}");
                return 0;
            default:
                Console.Error.WriteLine($"lstmsharp: unknown command '{args[0]}'. Try 'lstmsharp --help'.");
                return 2;
        }
    }
}
