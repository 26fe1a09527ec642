using Google.Protobuf;
using LstmSharp.Interop.Onnx;
using LstmSharp.Interop.Onnx.Proto;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using static LstmSharp.Interop.Onnx.OnnxGraphBuilder;
using static LstmSharp.Tests.Interop.OnnxRuntimeCheck;

namespace LstmSharp.Tests.Interop;

/// <summary>
/// Right-padding masks computed from the input in other shapes than export-onnx's — ReduceMax of
/// Not(Equal), Not of ReduceMin of Equal, ReduceSum with keepdims then Greater and Squeeze — and fed
/// as sequence_lens to a node whose X is the unmasked input: the import puts a Masking layer on X
/// and matches ONNX Runtime on the same graph for rows of length 5, 3, 1 and 0.
/// </summary>
public sealed class OnnxPaddingPatternTests
{
    private const int Time = 5, Features = 3, Hidden = 4;
    private static readonly int[] Lengths = [Time, 3, 1, 0];

    [Theory]
    [InlineData("reducemax")]
    [InlineData("not_reducemin")]
    [InlineData("reducesum_keepdims_greater_squeeze")]
    public void PaddingMaskPatternsImportAsMasking(string variant)
    {
        const float pad = 0.5f;
        byte[] onnx = Graph(variant, pad);
        var model = OnnxImport.Load(onnx, name: variant);
        Assert.Equal(pad, Assert.Single(model.Layers.OfType<Masking>()).MaskValue);

        var x = RandomInput(11, Lengths.Length, Time, Features);
        for (int b = 0; b < Lengths.Length; b++)
        {
            x.Span.Slice(((b * Time) + Lengths[b]) * Features, (Time - Lengths[b]) * Features).Fill(pad);
        }

        var ort = Run(onnx, [x]);
        var mine = model.Call([x]);
        Assert.Equal(ort.Count, mine.Count);
        for (int k = 0; k < ort.Count; k++)
        {
            AssertClose($"{variant} {ort[k].Name}", mine[k], ort[k].Values, ort[k].Shape);
        }
    }

    /// <summary>x [batch, time, features] → step mask by <paramref name="variant"/> → lengths → LSTM (layout 0) → Y_h [batch, hidden] and Y [batch, time, hidden].</summary>
    private static byte[] Graph(string variant, float pad)
    {
        var rng = new Rng(5);
        float[] Draw(int n) => Enumerable.Range(0, n).Select(_ => rng.NextFloat() - 0.5f).ToArray();
        var g = new OnnxGraphBuilder();
        g.Graph.Name = "padding_" + variant;
        foreach (string n in new[] { "x", "last", "sequence" })
        {
            g.Reserve(n);
        }

        g.Graph.Input.Add(ValueInfo("x", 1, [-1, Features]));
        string eq = g.Node("Equal", "is_pad", ["x", g.FloatScalar("pad_value", pad)]);
        string step = variant switch
        {
            "reducemax" => g.Node("ReduceMax", "any_differs", [g.Node("Cast", "differs", [g.Node("Not", "not_pad", [eq])], Attr("to", 1L))], Attr("axes", new long[] { -1 }), Attr("keepdims", 0L)),
            "not_reducemin" => g.Node("Cast", "valid", [g.Node("Not", "not_all_pad", [g.Node("Cast", "all_pad_bool", [g.Node("ReduceMin", "all_pad", [g.Node("Cast", "pad_float", [eq], Attr("to", 1L))], Attr("axes", new long[] { 2 }), Attr("keepdims", 0L))], Attr("to", 9L))])], Attr("to", 1L)),
            _ => g.Node("Cast", "valid", [g.Node("Squeeze", "drop_feature_axis", [g.Node("Greater", "some_differ", [g.Node("ReduceSum", "count", [g.Node("Cast", "differs", [g.Node("Not", "not_pad", [eq])], Attr("to", 1L)), g.Int64s(-1)], Attr("keepdims", 1L)), g.FloatScalar("zero", 0f)]), g.Int64s(2)])], Attr("to", 1L)),
        };
        string lens = g.Node("Cast", "lengths", [g.Node("ReduceSum", "steps", [step, g.Int64s(1)], Attr("keepdims", 0L))], Attr("to", 6L));
        string xt = g.Node("Transpose", "time_major", ["x"], Attr("perm", new long[] { 1, 0, 2 }));
        string w = g.Weight("W", [1, 4 * Hidden, Features], Draw(4 * Hidden * Features));
        string r = g.Weight("R", [1, 4 * Hidden, Hidden], Draw(4 * Hidden * Hidden));
        string b = g.Weight("B", [1, 8 * Hidden], Draw(8 * Hidden));
        var outs = g.NodeN("LSTM", "lstm", [xt, w, r, b, lens], 3, Attr("hidden_size", (long)Hidden));
        g.Graph.Node.Add(new NodeProto { OpType = "Squeeze", Name = "last_h", Input = { outs[1], g.Int64s(0) }, Output = { "last" } });
        string seq = g.Node("Squeeze", "one_direction", [outs[0], g.Int64s(1)]);
        g.Graph.Node.Add(new NodeProto { OpType = "Transpose", Name = "batch_major", Input = { seq }, Output = { "sequence" }, Attribute = { Attr("perm", new long[] { 1, 0, 2 }) } });
        g.Graph.Output.Add(ValueInfo("last", 1, [Hidden]));
        g.Graph.Output.Add(ValueInfo("sequence", 1, [-1, Hidden]));
        var model = new ModelProto { IrVersion = 8, ProducerName = "LstmSharp.Tests", Graph = g.Graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 14 });
        return model.ToByteArray();
    }
}
