namespace LstmSharp.Bench;

internal static class Program
{
    private static int Main(string[] args)
    {
        switch (args.Length == 0 ? "" : args[0])
        {
            case "gemm":
                GemmBenchmark.Run(args[1..]);
                return 0;
            case "lstm-kernel":
                LstmKernelBenchmark.Run(args[1..]);
                return 0;
            case "gru-kernel":
                GruKernelBenchmark.Run(args[1..]);
                return 0;
            case "imdb-breakdown":
                ImdbBreakdownBenchmark.Run(args[1..]);
                return 0;
            case "cellmath":
                CellMathBenchmark.Run(args[1..]);
                return 0;
            case "text-vectorize":
                TextVectorizeBenchmark.Run(args[1..]);
                return 0;
            case "conv":
                RnnBenchmark.Run(["--only", "conv", .. args[1..]]);
                return 0;
            case "attention":
                RnnBenchmark.Run(["--only", "attention", .. args[1..]]);
                RnnBenchmark.Run(["--only", "lstm-seq2seq", .. args[1..]]);
                return 0;
            case "rnn":
                RnnBenchmark.Run(args[1..]);
                return 0;
            default:
                Console.Error.WriteLine("usage: LstmSharp.Bench gemm [--only WORKLOAD-PREFIX] [--no-torch] | lstm-kernel [variant] | gru-kernel [gru-reset-after|gru-reset-before|simple-rnn] | imdb-breakdown [--steps-only N] | cellmath | text-vectorize [--data FOLDER] | conv [--rounds N] [--steps N] | attention [--rounds N] [--steps N] | rnn [--rounds N] [--steps N] [--threads N] [--only WORKLOAD-PREFIX]");
                return 2;
        }
    }
}
