using System.CommandLine;
using LstmSharp.Interop.Torch;

namespace LstmSharp.Cli;

/// <summary>
/// <c>import-torch</c>: a PyTorch state dict into a model described by a JSON config (the
/// format <c>summary --json</c> prints) or a .lstm file.
/// </summary>
internal static class FrameworkCommands
{
    public static void AddTo(Command root)
    {
        root.Subcommands.Add(ImportTorch());
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
