using System.CommandLine;

namespace LstmSharp.Cli;

/// <summary><c>experiment char-lm</c> (a character-level language model on a text file) and <c>generate</c> (text from a saved one).</summary>
internal static class TextCommands
{
    public static Command CharLmCommand(string[] args)
    {
        var d = new CharLmSettings();
        var text = new Option<string>("--text") { Description = "A UTF-8 text file (e.g. ../shared/datasets/text/tinyshakespeare.txt).", Required = true };
        var maxChars = new Option<int?>("--max-chars") { Description = "Use only the first N characters (quick runs)." };
        var seqLen = new Option<int>("--seq-len") { Description = "Characters per training window (truncated BPTT length).", DefaultValueFactory = _ => d.SequenceLength };
        var batch = new Option<int>("--batch") { Description = "Windows per batch.", DefaultValueFactory = _ => d.Batch };
        var embedding = new Option<int>("--embedding") { Description = "Embedding size of a character.", DefaultValueFactory = _ => d.Embedding };
        var units = new Option<int>("--units") { Description = "Units of each LSTM.", DefaultValueFactory = _ => d.Units };
        var layers = new Option<int>("--layers") { Description = "Stacked LSTMs (1-4).", DefaultValueFactory = _ => d.Layers };
        var dropout = new Option<double>("--dropout") { Description = "Dropout after each LSTM.", DefaultValueFactory = _ => d.Dropout };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs (one pass over the training characters each).", DefaultValueFactory = _ => d.Epochs };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => d.LearningRate };
        var lrDecay = new Option<double>("--lr-decay") { Description = "Learning rate multiplied by this after every epoch.", DefaultValueFactory = _ => d.LearningRateDecay };
        var clip = new Option<double>("--clipnorm") { Description = "Adam clipnorm (0 = off).", DefaultValueFactory = _ => d.ClipNorm };
        var timeLimit = new Option<double>("--time-limit") { Description = "Stop after the epoch in which this many minutes have passed (0 = none).", DefaultValueFactory = _ => d.TimeLimitMinutes };
        var sampleLength = new Option<int>("--sample-length") { Description = "Characters sampled after each epoch.", DefaultValueFactory = _ => d.SampleLength };
        var samplePrime = new Option<string?>("--sample-prime") { Description = "Prime of the samples (default: the first training character)." };
        var output = new Option<string>("--out") { Description = "Folder for results.md, history.csv, loss.png and the model.", DefaultValueFactory = _ => d.Out };
        var seed = new Option<int>("--seed") { Description = "Global seed.", DefaultValueFactory = _ => d.Seed };
        var initFrom = new Option<string?>("--init-from") { Description = "Start from the weights of a char-lm model saved earlier (same vocabulary and sizes), e.g. to fine-tune with --dropout." };
        var verbose = new Option<int>("--verbose") { Description = "0 epoch lines only, 1 progress bar too.", DefaultValueFactory = _ => d.Verbose };
        var cmd = new Command("char-lm", "Character-level language model: first 90% of the text trains, last 10% validates; loss in nats and bits per character, samples at temperatures 0.5 and 1.0 after each epoch.")
        {
            text, maxChars, seqLen, batch, embedding, units, layers, dropout, epochs, lr, lrDecay, clip, timeLimit, sampleLength, samplePrime, output, seed, initFrom, verbose,
        };
        cmd.SetAction(r => ModelCommands.Run(() => CharLmExperiment.Run(
            new CharLmSettings
            {
                Text = r.GetValue(text)!,
                MaxChars = r.GetValue(maxChars),
                SequenceLength = r.GetValue(seqLen),
                Batch = r.GetValue(batch),
                Embedding = r.GetValue(embedding),
                Units = r.GetValue(units),
                Layers = r.GetValue(layers),
                Dropout = r.GetValue(dropout),
                Epochs = r.GetValue(epochs),
                LearningRate = r.GetValue(lr),
                LearningRateDecay = r.GetValue(lrDecay),
                ClipNorm = r.GetValue(clip),
                TimeLimitMinutes = r.GetValue(timeLimit),
                SampleLength = r.GetValue(sampleLength),
                SamplePrime = r.GetValue(samplePrime),
                Out = r.GetValue(output)!,
                Seed = r.GetValue(seed),
                InitFrom = r.GetValue(initFrom),
                Verbose = r.GetValue(verbose),
            },
            Program.CommandLineOf(args))));
        return cmd;
    }

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
