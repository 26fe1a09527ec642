namespace LstmSharp.Bench;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("usage: LstmSharp.Bench gemm | rnn");
        return args.Length == 0 ? 2 : 0;
    }
}
