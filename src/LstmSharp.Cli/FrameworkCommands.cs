using System.CommandLine;
using LstmSharp.Interop.Keras;
using LstmSharp.Interop.Torch;

namespace LstmSharp.Cli;

/// <summary>
/// <c>import-torch</c>: a PyTorch state dict into a model described by a JSON config (the
/// format <c>summary --json</c> prints) or a .lstm file; <c>import-keras</c> / <c>export-keras</c>:
/// Keras .keras/.h5 files to .lstm and back to .keras.
/// </summary>
internal static class FrameworkCommands
{
    public static void AddTo(Command root)
    {
        root.Subcommands.Add(ImportTorch());
        root.Subcommands.Add(ImportKeras());
        root.Subcommands.Add(ExportKeras());
    }

    private static Command ImportKeras() => Conversion(
        "import-keras",
        "Rebuild a Keras model (Sequential or functional; LSTM, GRU, SimpleRNN, Bidirectional, Dense, Embedding, ...) with its weights and save it.",
        new Argument<string>("model") { Description = "A Keras 3 .keras file or a tf.keras 2 .h5 model file." },
        new Argument<string>("out") { Description = "The model file to write (.lstm)." },
        KerasImport.LoadKeras,
        (m, path) =>
        {
            m.Save(path);
            return $"saved {path}: {m.GetType().Name} of {m.Layers.Count} layers, {m.CountParams()} weights";
        });

    private static Command ExportKeras() => Conversion(
        "export-keras",
        "Write a model as a Keras 3 .keras file (config.json + model.weights.h5) that keras.saving.load_model opens.",
        new Argument<string>("model") { Description = "A model file (.lstm) or a JSON config." },
        new Argument<string>("out") { Description = "The Keras 3 file to write (.keras)." },
        path => ModelCommands.Open(path, out _),
        (m, path) =>
        {
            m.SaveKeras(path);
            return $"saved {path} ({m.CountParams()} weights)";
        });

    /// <summary>A command that opens the model <paramref name="input"/> names and writes it where <paramref name="output"/> says, printing what <paramref name="save"/> returns.</summary>
    private static Command Conversion(string name, string description, Argument<string> input, Argument<string> output, Func<string, Model> open, Func<Model, string, string> save)
    {
        var cmd = new Command(name, description) { input, output };
        cmd.SetAction(r => ModelCommands.Run(() =>
        {
            var m = open(r.GetValue(input)!);
            Console.WriteLine(save(m, r.GetValue(output)!));
        }));
        return cmd;
    }

    private static Command ImportTorch()
    {
        var stateDict = new Argument<string>("state-dict") { Description = "A torch.save(model.state_dict()) file (.pt/.pth) or a safetensors state dict." };
        var output = new Argument<string>("out") { Description = "The model file to write (.lstm)." };
        var model = new Option<string>("--model") { Description = "The architecture: a JSON config (as `summary --json` prints) or a .lstm file.", Required = true };
        var map = new Option<string[]>("--map")
        {
            Description = "torchPrefix=layerName: the PyTorch module that goes to a layer (a k-layer stack takes it and the k-1 after it); others follow in order.",
            AllowMultipleArgumentsPerToken = true,
        };
        var cmd = new Command("import-torch", "Load a PyTorch state dict (nn.LSTM/GRU/RNN stacks, bidirectional, nn.Linear, nn.Embedding) into a model and save it.")
        {
            stateDict, output, model, map,
        };
        cmd.SetAction(r => ModelCommands.Run(() =>
        {
            var pins = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string pair in r.GetValue(map) ?? [])
            {
                int eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq < 0)
                {
                    throw new ArgumentException($"--map: '{pair}' is not torchPrefix=layerName.");
                }

                if (!pins.TryAdd(pair[..eq], pair[(eq + 1)..]))
                {
                    throw new ArgumentException($"--map: the PyTorch prefix '{pair[..eq]}' is given twice.");
                }
            }

            var m = ModelCommands.Open(r.GetValue(model)!, out _);
            foreach (var line in m.LoadTorchStateDict(r.GetValue(stateDict)!, pins))
            {
                Console.WriteLine(line);
            }

            string path = r.GetValue(output)!;
            m.Save(path);
            Console.WriteLine($"saved {path} ({m.CountParams()} weights)");
        }));
        return cmd;
    }
}
