namespace LstmSharp.Bench;

internal static class Program
{
    private static int Main(string[] args)
    {
        switch (args.Length == 0 ? "" : args[0])
        {
            case "gemm":
                GemmBenchmark.Run();
                return 0;
            default:
                Console.Error.WriteLine("usage: LstmSharp.Bench gemm | rnn");
                return 2;
        }
    }
}
