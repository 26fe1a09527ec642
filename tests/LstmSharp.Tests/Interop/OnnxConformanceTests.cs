using LstmSharp.Interop.Onnx;
using LstmSharp.Models;
using LstmSharp.Tensors;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Interop;

/// <summary>
/// ONNX's own backend conformance cases for LSTM, GRU and RNN (shared/onnx/node): each model
/// is imported with its weights bound as constants (they are graph inputs fed from the .pb
/// files), run on input_0.pb, and must reproduce every output_N.pb.
/// </summary>
public class OnnxConformanceTests
{
    private static readonly string[] Names =
    [
        "test_gru_batchwise", "test_gru_defaults", "test_gru_seq_length", "test_gru_with_initial_bias",
        "test_lstm_batchwise", "test_lstm_defaults", "test_lstm_with_initial_bias", "test_lstm_with_peepholes",
        "test_rnn_seq_length", "test_simple_rnn_batchwise", "test_simple_rnn_defaults", "test_simple_rnn_with_initial_bias",
    ];

    public static TheoryData<string> Cases() => new(Names);

    [SkippableFact]
    public void AllTwelveCasesArePresent()
    {
        string root = OnnxTestFiles.RequireConformanceRoot();

        var present = Directory.GetDirectories(root).Select(d => Path.GetFileName(d)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(Names.Order(StringComparer.Ordinal), present);
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void CaseMatchesItsOutputs(string name)
    {
        string root = OnnxTestFiles.RequireConformanceRoot();

        string dir = Path.Combine(root, name);
        string data = Path.Combine(dir, "test_data_set_0");
        var inputs = Directory.GetFiles(data, "input_*.pb").Order(StringComparer.Ordinal).Select(f => (Tensor: OnnxImport.ReadTensor(f, out string n), Name: n)).ToList();
        var outputs = Directory.GetFiles(data, "output_*.pb").Order(StringComparer.Ordinal).Select(f => OnnxImport.ReadTensor(f, out _)).ToList();

        // X and the initial states stay run-time inputs; weights, biases, peepholes and lengths are bound.
        string[] runtime = ["X", "initial_h", "initial_c"];
        var constants = inputs.Where(i => !runtime.Contains(i.Name)).ToDictionary(i => i.Name, i => i.Tensor);
        var feeds = inputs.Where(i => runtime.Contains(i.Name)).Select(i => i.Tensor).ToArray();
        var model = Model.LoadOnnx(Path.Combine(dir, "model.onnx"), constants);
        Assert.Equal(feeds.Length, model.InputCount);

        var results = model.Call(feeds);
        Assert.Equal(outputs.Count, results.Count);
        for (int k = 0; k < outputs.Count; k++)
        {
            Assert.Equal(outputs[k].ShapeArray, results[k].ShapeArray);
            Check.Close($"{name} output {k}", outputs[k].ToArray().Select(v => (double)v).ToArray(), results[k].Span, rel: 1e-5, abs: 1e-6);
        }

        // And through Predict, which batches along the graph's own batch axis.
        var predicted = model.PredictAll(feeds, batchSize: 1);
        for (int k = 0; k < outputs.Count; k++)
        {
            Check.Close($"{name} predict output {k}", outputs[k].ToArray().Select(v => (double)v).ToArray(), predicted[k].Span, rel: 1e-5, abs: 1e-6);
        }

        // The imported model is an ordinary one: saved and loaded, it keeps its layout and outputs.
        string path = Path.Combine(Path.GetTempPath(), $"lstmsharp-onnx-{name}-{Guid.NewGuid():N}.lstm");
        try
        {
            model.Save(path);
            var again = Model.Load(path);
            Assert.Equal(model.InputBatchAxes, again.InputBatchAxes);
            Assert.Equal(model.OutputBatchAxes, again.OutputBatchAxes);
            var reloaded = again.Call(feeds);
            for (int k = 0; k < outputs.Count; k++)
            {
                Check.Identical($"{name} reloaded output {k}", results[k].Span, reloaded[k].Span);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
