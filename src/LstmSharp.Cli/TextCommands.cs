using System.CommandLine;

namespace LstmSharp.Cli;

/// <summary><c>generate</c>: text from a saved language model (one trained by <c>experiment char-lm</c>).</summary>
internal static class TextCommands
{
    public static Command GenerateCommand()
    {
        var model = new Argument<string>("model") { Description = "A language model saved with its TextVectorization (e.g. results/char-lm/char-lm.lstm)." };
        var prime = new Option<string>("--prime") { Description = "Text the generation continues.", Required = true };
        var length = new Option<int>("--length") { Description = "Characters (tokens) to generate.", DefaultValueFactory = _ => 500 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature (0 = greedy).", DefaultValueFactory = _ => 1.0 };
        var topK = new Option<int?>("--top-k") { Description = "Draw from the K most likely tokens only." };
        var topP = new Option<double?>("--top-p") { Description = "Draw from the smallest set of tokens whose probability sums to P (nucleus)." };
        var seed = new Option<int>("--seed") { Description = "Seed of the draws.", DefaultValueFactory = _ => 42 };
        var cmd = new Command("generate", "Generate text from a saved language model (lstmsharp generate model.lstm --prime \"ROMEO:\" --length 500 --temperature 0.8).")
        {
            model, prime, length, temperature, topK, topP, seed,
        };
        cmd.SetAction(r => ModelCommands.Run(() =>
        {
            var options = new SamplingOptions(r.GetValue(temperature), r.GetValue(topK), r.GetValue(topP));
            options.Validate();
            int n = r.GetValue(length);
            if (n < 0)
            {
                throw new ArgumentException($"generate: --length must be >= 0, got {n}.");
            }

            var generator = new TextGenerator(Model.Load(r.GetValue(model)!));
            Console.WriteLine(generator.Generate(r.GetValue(prime)!, n, options, r.GetValue(seed)));
        }));
        return cmd;
    }
}
