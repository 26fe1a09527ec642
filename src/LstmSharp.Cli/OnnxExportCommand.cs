using System.CommandLine;
using LstmSharp.Interop.Onnx;

namespace LstmSharp.Cli;

/// <summary><c>export-onnx model.lstm model.onnx [--opset N]</c>: a saved model as an ONNX file for ONNX Runtime.</summary>
internal static class OnnxExportCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "A model file saved by Save (.lstm) or a JSON config." };
        var output = new Argument<string>("output") { Description = "The ONNX file to write (written whole or not at all)." };
        var opset = new Option<int>("--opset") { Description = $"ONNX opset, {OnnxExport.MinOpset}..{OnnxExport.MaxOpset}.", DefaultValueFactory = _ => 17 };
        var cmd = new Command("export-onnx", "Write a model as ONNX (LSTM/GRU/RNN operators, weights as initializers) for ONNX Runtime.") { model, output, opset };
        cmd.SetAction(r => ModelCommands.Run(() =>
        {
            var m = ModelCommands.Open(r.GetValue(model)!, out _);
            string path = r.GetValue(output)!;
            m.ExportOnnx(path, new OnnxExportOptions { Opset = r.GetValue(opset) });
            Console.WriteLine($"wrote {path} ({new FileInfo(path).Length:N0} bytes, opset {r.GetValue(opset)})");
        }));
        return cmd;
    }
}
