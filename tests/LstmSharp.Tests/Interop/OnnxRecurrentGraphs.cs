using Google.Protobuf;
using LstmSharp.Interop.Onnx;
using LstmSharp.Interop.Onnx.Proto;
using LstmSharp.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static LstmSharp.Interop.Onnx.OnnxGraphBuilder;
using Tensor = LstmSharp.Tensors.Tensor;

namespace LstmSharp.Tests.Interop;

/// <summary>
/// One ONNX LSTM / GRU / RNN node with the attributes a test asks for, built with the generated
/// protobuf classes (weights as initializers, X [time, batch, features] and optionally
/// sequence_lens / initial states as graph inputs), and ONNX Runtime to run it.
/// </summary>
internal sealed record RecurrentNodeSpec(string Op, string Direction = "forward", int Features = 3, int Hidden = 4)
{
    public string[]? Activations { get; init; }

    public float[]? Alphas { get; init; }

    public float[]? Betas { get; init; }

    public float? Clip { get; init; }

    public bool InputForget { get; init; }

    public bool LinearBeforeReset { get; init; }

    public bool Peepholes { get; init; }

    /// <summary>sequence_lens as an int32 [batch] graph input.</summary>
    public bool LengthsInput { get; init; }

    /// <summary>initial_h (and initial_c) as graph inputs.</summary>
    public bool InitialStates { get; init; }

    /// <summary>Only Y is an output (a single-output model, which Fit trains).</summary>
    public bool YOnly { get; init; }

    /// <summary>Weights are drawn uniformly from [−Scale, Scale], so pre-activations reach past a small clip.</summary>
    public float Scale { get; init; } = 0.8f;

    public int Seed { get; init; } = 1;

    public int Dirs => Direction == "bidirectional" ? 2 : 1;

    public int Gates => Op == "LSTM" ? 4 : Op == "GRU" ? 3 : 1;

    public int StateCount => Op == "LSTM" ? 2 : 1;

    public override string ToString() => $"{Op} {Direction} {string.Join(",", Activations ?? ["defaults"])} clip={Clip}";

    /// <summary>The serialized model; graph inputs X [, sequence_lens] [, initial_h [, initial_c]], outputs Y, Y_h [, Y_c].</summary>
    public byte[] Build()
    {
        var rng = new Rng(Seed);
        float[] Draw(int n) => Enumerable.Range(0, n).Select(_ => ((2 * rng.NextFloat()) - 1) * Scale).ToArray();
        var g = new OnnxGraphBuilder();
        g.Graph.Name = "recurrent_node";
        foreach (string n in new[] { "X", "sequence_lens", "initial_h", "initial_c", "Y", "Y_h", "Y_c" })
        {
            g.Reserve(n);
        }

        g.Graph.Input.Add(ValueInfo("X", 1, [-1, Features], batchAxis: 1));
        string w = g.Weight("W", [Dirs, Gates * Hidden, Features], Draw(Dirs * Gates * Hidden * Features));
        string r = g.Weight("R", [Dirs, Gates * Hidden, Hidden], Draw(Dirs * Gates * Hidden * Hidden));
        string b = g.Weight("B", [Dirs, 2 * Gates * Hidden], Draw(Dirs * 2 * Gates * Hidden));
        var inputs = new List<string> { "X", w, r, b, string.Empty, string.Empty };
        if (LengthsInput)
        {
            g.Graph.Input.Add(ValueInfo("sequence_lens", 6, [], batchAxis: 0));
            inputs[4] = "sequence_lens";
        }

        if (InitialStates)
        {
            g.Graph.Input.Add(ValueInfo("initial_h", 1, [Dirs, Hidden], batchAxis: 1));
            inputs[5] = "initial_h";
            if (Op == "LSTM")
            {
                g.Graph.Input.Add(ValueInfo("initial_c", 1, [Dirs, Hidden], batchAxis: 1));
                inputs.Add("initial_c");
            }
        }

        if (Peepholes)
        {
            while (inputs.Count < 7)
            {
                inputs.Add(string.Empty);
            }

            inputs.Add(g.Weight("P", [Dirs, 3 * Hidden], Draw(Dirs * 3 * Hidden)));
        }

        var attrs = new List<AttributeProto> { Attr("hidden_size", (long)Hidden), Attr("direction", Direction) };
        if (Activations is not null)
        {
            attrs.Add(Attr("activations", Activations));
        }

        if (Alphas is not null)
        {
            attrs.Add(Attr("activation_alpha", Alphas));
        }

        if (Betas is not null)
        {
            attrs.Add(Attr("activation_beta", Betas));
        }

        if (Clip is { } clip)
        {
            attrs.Add(Attr("clip", clip));
        }

        if (InputForget)
        {
            attrs.Add(Attr("input_forget", 1L));
        }

        if (LinearBeforeReset)
        {
            attrs.Add(Attr("linear_before_reset", 1L));
        }

        var node = new NodeProto { OpType = Op, Name = Op.ToLowerInvariant() + "_node" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(YOnly ? ["Y"] : StateCount == 2 ? ["Y", "Y_h", "Y_c"] : ["Y", "Y_h"]);
        node.Attribute.AddRange(attrs);
        g.Graph.Node.Add(node);
        g.Graph.Output.Add(ValueInfo("Y", 1, [-1, Dirs, Hidden], batchAxis: 2));
        if (!YOnly)
        {
            g.Graph.Output.Add(ValueInfo("Y_h", 1, [Dirs, Hidden], batchAxis: 1));
        }

        if (StateCount == 2 && !YOnly)
        {
            g.Graph.Output.Add(ValueInfo("Y_c", 1, [Dirs, Hidden], batchAxis: 1));
        }

        var model = new ModelProto { IrVersion = 8, ProducerName = "LstmSharp.Tests", Graph = g.Graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 14 });
        return model.ToByteArray();
    }

    /// <summary>Runs <paramref name="onnx"/> in ONNX Runtime: float inputs as given, <paramref name="lengths"/> (if any) as the int32 sequence_lens.</summary>
    public static List<(string Name, float[] Values, int[] Shape)> RunOrt(byte[] onnx, IReadOnlyList<Tensor> floats, int[]? lengths = null)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        using var session = new InferenceSession(onnx, options);
        var feeds = new List<NamedOnnxValue>();
        int k = 0;
        foreach (string name in session.InputNames)
        {
            if (session.InputMetadata[name].ElementType == typeof(int))
            {
                feeds.Add(NamedOnnxValue.CreateFromTensor(name, new DenseTensor<int>(lengths ?? throw new ArgumentException("no lengths given"), [lengths.Length])));
                continue;
            }

            var t = floats[k++];
            feeds.Add(NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(t.ToArray(), t.ShapeArray)));
        }

        using var results = session.Run(feeds);
        var byName = results.ToDictionary(r => r.Name, r => r.AsTensor<float>());
        return session.OutputNames.Select(n => (n, byName[n].ToArray(), byName[n].Dimensions.ToArray())).ToList();
    }
}
