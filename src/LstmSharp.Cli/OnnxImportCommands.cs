using System.CommandLine;
using LstmSharp.Interop.Onnx;

namespace LstmSharp.Cli;

/// <summary><c>import-onnx</c>: an ONNX model (torch.onnx, tf2onnx, LstmSharp's exporter) into a .lstm model file.</summary>
internal static class OnnxImportCommands
{
    public static void AddTo(Command root) => root.Subcommands.Add(ImportOnnx());

    private static Command ImportOnnx()
    {
        var input = new Argument<string>("model") { Description = "The ONNX model (.onnx), weights inside." };
        var output = new Argument<string>("out") { Description = "The model file to write (.lstm)." };
        var bind = new Option<string[]>("--bind")
        {
            Description = "name=file: bind the graph input 'name' to a constant read from a .npy or a serialized TensorProto (.pb) — weights kept outside the graph.",
            AllowMultipleArgumentsPerToken = true,
        };
        var cmd = new Command("import-onnx", "Import an ONNX model (LSTM/GRU/RNN, Gemm/MatMul heads, embeddings) as an LstmSharp model and save it; it keeps the graph's input and output layout.")
        {
            input, output, bind,
        };
        cmd.SetAction(r => ModelCommands.Run(() =>
        {
            var constants = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (string pair in r.GetValue(bind) ?? [])
            {
                int eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw new ArgumentException($"--bind: '{pair}' is not name=file.");
                }

                string file = pair[(eq + 1)..];
                var value = file.EndsWith(".pb", StringComparison.OrdinalIgnoreCase) ? OnnxImport.ReadTensor(file, out _) : ArrayFiles.Load(file);
                if (!constants.TryAdd(pair[..eq], value))
                {
                    throw new ArgumentException($"--bind: the input '{pair[..eq]}' is bound twice.");
                }
            }

            var model = Model.LoadOnnx(r.GetValue(input)!, constants);
            model.Summary();
            if (model.InputBatchAxes.Any(a => a != 0) || model.OutputBatchAxes.Any(a => a != 0))
            {
                Console.WriteLine($"layout: inputs take the batch on axis {string.Join(", ", model.InputBatchAxes)}; outputs give it on axis {string.Join(", ", model.OutputBatchAxes)} (as the ONNX graph)");
            }

            string path = r.GetValue(output)!;
            model.Save(path);
            Console.WriteLine($"saved {path} ({model.CountParams()} weights)");
        }));
        return cmd;
    }
}
