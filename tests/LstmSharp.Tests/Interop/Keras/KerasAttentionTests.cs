using System.IO.Compression;
using System.Text.Json.Nodes;
using PureHDF;
using LstmSharp.Interop.Keras;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Tensors;

namespace LstmSharp.Tests.Interop.Keras;

/// <summary>
/// Keras's Attention and AdditiveAttention in .keras files: the call options Keras keeps in a
/// node's kwargs (use_causal_mask, return_attention_scores) become the layer's options, the
/// weights sit where saving_lib puts them, and SaveKeras writes both back the Keras way.
/// </summary>
public class KerasAttentionTests
{
    private static string Fixture => FrameworkFixtures.Keras("func_attention.keras");

    private static Tensor[] Inputs() =>
        [FrameworkFixtures.Npy(FrameworkFixtures.Keras("func_attention_q.npy")), FrameworkFixtures.Npy(FrameworkFixtures.Keras("func_attention_v.npy"))];

    [Fact]
    public void AKeras3AttentionModelMatchesTheEquationsComputedByNumpy()
    {
        var model = KerasImport.LoadKeras(Fixture);
        var attention = Assert.IsType<Attention>(model.Layers.Single(l => l.Name == "attention"));
        Assert.True(attention.UseCausalMask);
        Assert.True(attention.ReturnAttentionScores);
        Assert.True(attention.UseScale);
        Assert.Equal(1.7f, attention.Scale!.Value.Span[0]);
        var additive = Assert.IsType<AdditiveAttention>(model.Layers.Single(l => l.Name == "additive_attention"));
        Assert.False(additive.UseCausalMask);
        Assert.Equal([3], additive.Scale!.Value.ShapeArray);

        var outputs = model.Call(Inputs(), training: false);
        Assert.Equal(2, outputs.Count);
        FrameworkFixtures.AssertClose("dense output", FrameworkFixtures.Npy(FrameworkFixtures.Keras("func_attention_y.npy")), outputs[0]);
        FrameworkFixtures.AssertClose("attention weights", FrameworkFixtures.Npy(FrameworkFixtures.Keras("func_attention_scores.npy")), outputs[1]);
    }

    [Fact]
    public void SaveKerasWritesTheCallOptionsAsKwargsAndReadsBackBitIdentical()
    {
        var model = KerasImport.LoadKeras(Fixture);
        string path = Path.Combine(FrameworkFixtures.NewTempFolder("keras-attention"), "model.keras");
        try
        {
            model.SaveKeras(path);
            var back = KerasImport.LoadKeras(path);
            var a = model.GetWeights();
            var b = back.GetWeights();
            Assert.Equal(a.Length, b.Length);
            for (int i = 0; i < a.Length; i++)
            {
                Assert.Equal(a[i], b[i]);
            }

            var x = Inputs();
            var expected = model.Call(x, training: false);
            var actual = back.Call(x, training: false);
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].ToArray(), actual[i].ToArray());
            }

            var config = Config(path);
            var entry = LayerEntry(config, "attention");
            Assert.False(entry["config"]!.AsObject().ContainsKey("use_causal_mask"));
            var kwargs = entry["inbound_nodes"]![0]!["kwargs"]!.AsObject();
            Assert.True(kwargs["use_causal_mask"]!.GetValue<bool>());
            Assert.True(kwargs["return_attention_scores"]!.GetValue<bool>());
            Assert.Equal(2, entry["inbound_nodes"]![0]!["args"]![0]!.AsArray().Count); // [[query, value]], as Keras passes a list
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Fact]
    public void CallsThatDisagreeOnACallOptionAreRefusedNamingTheLayer()
    {
        string folder = FrameworkFixtures.NewTempFolder("keras-attention-bad");
        string path = Path.Combine(folder, "bad.keras");
        try
        {
            File.Copy(Fixture, path);
            var config = Config(path);
            var nodes = LayerEntry(config, "attention")["inbound_nodes"]!.AsArray();
            var second = nodes[0]!.DeepClone();
            second["kwargs"]!["use_causal_mask"] = false;
            nodes.Add(second);
            using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
            {
                zip.GetEntry("config.json")!.Delete();
                using var w = new StreamWriter(zip.CreateEntry("config.json").Open());
                w.Write(config.ToJsonString());
            }

            var e = Assert.ThrowsAny<Exception>(() => KerasImport.LoadKeras(path));
            Assert.IsType<KerasFormatException>(e);
            FrameworkFixtures.AssertMentions(e, "'attention'");
            FrameworkFixtures.AssertMentions(e, "use_causal_mask");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void ALstmSharpAttentionModelRoundTripsThroughKeras()
    {
        Layer.SetRandomSeed(5);
        var q = Input.Create([5, 4], name: "q");
        var v = Input.Create([7, 4], name: "v");
        var outs = new Attention(useScale: true, scoreMode: "concat", returnAttentionScores: true).ApplyAll(q, v);
        var pooled = new GlobalMaxPooling1D().Apply(new AdditiveAttention(useCausalMask: true).Apply(outs[0], v));
        var model = new Functional([q, v], [pooled, outs[1]]);
        foreach (var p in model.Parameters)
        {
            var s = p.Value.Span;
            for (int i = 0; i < s.Length; i++)
            {
                s[i] = 0.3f + (0.1f * i);
            }
        }

        string path = Path.Combine(FrameworkFixtures.NewTempFolder("keras-attention-rt"), "model.keras");
        try
        {
            model.SaveKeras(path);
            var back = KerasImport.LoadKeras(path);
            var x = new[] { RandomTensor(1, 2, 5, 4), RandomTensor(2, 2, 7, 4) };
            var expected = model.Call(x, training: false);
            var actual = back.Call(x, training: false);
            Assert.Equal(expected.Count, actual.Count);
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].ToArray(), actual[i].ToArray());
            }

            var additive = Assert.IsType<AdditiveAttention>(back.Layers.Single(l => l is AdditiveAttention));
            Assert.True(additive.UseCausalMask);
            Assert.Equal("concat", Assert.IsType<Attention>(back.Layers.Single(l => l is Attention)).ScoreMode);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    private static Tensor RandomTensor(int seed, params int[] shape)
    {
        var rng = new Rng(seed);
        var t = new Tensor(shape);
        for (int i = 0; i < t.Length; i++)
        {
            t.Span[i] = rng.NextFloat() - 0.5f;
        }

        return t;
    }

    private static JsonObject Config(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        using var r = new StreamReader(zip.GetEntry("config.json")!.Open());
        return JsonNode.Parse(r.ReadToEnd())!.AsObject();
    }

    private static JsonObject LayerEntry(JsonObject config, string name) =>
        config["config"]!["layers"]!.AsArray().Single(l => l!["config"]!["name"]!.GetValue<string>() == name)!.AsObject();

    private static Tensor[] MhaInputs() =>
        [.. new[] { "q", "v", "k" }.Select(n => FrameworkFixtures.Npy(FrameworkFixtures.Keras($"func_mha_{n}.npy")))];

    [Fact]
    public void AKeras3MultiHeadAttentionModelMatchesNumpyAndRoundTripsWithSavingLibPaths()
    {
        // Called with query=, value=, key= keywords and use_causal_mask / return_attention_scores, as Keras records them.
        var model = KerasImport.LoadKeras(FrameworkFixtures.Keras("func_mha.keras"));
        var mha = Assert.IsType<MultiHeadAttention>(model.Layers.Single(l => l is MultiHeadAttention));
        Assert.True(mha.UseCausalMask);
        Assert.True(mha.ReturnAttentionScores);
        Assert.Equal((2, 3, 2), (mha.NumHeads, mha.KeyDim, mha.ValueDim));
        var x = MhaInputs();
        var outputs = model.Call(x, training: false);
        FrameworkFixtures.AssertClose("output", FrameworkFixtures.Npy(FrameworkFixtures.Keras("func_mha_y.npy")), outputs[0]);
        FrameworkFixtures.AssertClose("attention weights", FrameworkFixtures.Npy(FrameworkFixtures.Keras("func_mha_scores.npy")), outputs[1]);

        string path = Path.Combine(FrameworkFixtures.NewTempFolder("keras-mha"), "model.keras");
        try
        {
            model.SaveKeras(path);
            var back = KerasImport.LoadKeras(path);
            var a = model.GetWeights();
            var b = back.GetWeights();
            Assert.Equal(a.Length, b.Length);
            for (int i = 0; i < a.Length; i++)
            {
                Assert.Equal(a[i], b[i]);
            }

            var again = back.Call(x, training: false);
            Assert.Equal(outputs[0].ToArray(), again[0].ToArray());
            using (var zip = ZipFile.OpenRead(path))
            using (var h5Bytes = new MemoryStream())
            {
                zip.GetEntry("model.weights.h5")!.Open().CopyTo(h5Bytes);
                h5Bytes.Position = 0;
                using var h5 = H5File.Open(h5Bytes, leaveOpen: true);
                Assert.Equal([6, 2, 3], h5.Group("layers/multi_head_attention/query_dense/vars").Dataset("0").Space.Dimensions.Select(d => (int)d).ToArray());
                Assert.Equal([2, 2, 6], h5.Group("layers/multi_head_attention/output_dense/vars").Dataset("0").Space.Dimensions.Select(d => (int)d).ToArray());
                Assert.Equal([2, 2], h5.Group("layers/multi_head_attention/value_dense/vars").Dataset("1").Space.Dimensions.Select(d => (int)d).ToArray());
            }

            var kwargs = LayerEntry(Config(path), "multi_head_attention")["inbound_nodes"]![0]!["kwargs"]!.AsObject();
            Assert.True(kwargs["use_causal_mask"]!.GetValue<bool>());
            Assert.Equal("key", kwargs["key"]!["config"]!["keras_history"]![0]!.GetValue<string>());
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Fact]
    public void AMultiHeadAttentionWithARegularizerOrGateIsRefusedNamingIt()
    {
        string folder = FrameworkFixtures.NewTempFolder("keras-mha-bad");
        try
        {
            foreach (var (key, value) in new (string, JsonNode)[] { ("use_gate", JsonValue.Create(true)), ("kernel_regularizer", new JsonObject { ["class_name"] = "L2", ["config"] = new JsonObject { ["l2"] = 0.01 } }) })
            {
                string path = Path.Combine(folder, key + ".keras");
                File.Copy(FrameworkFixtures.Keras("func_mha.keras"), path);
                var config = Config(path);
                LayerEntry(config, "multi_head_attention")["config"]![key] = value;
                using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
                {
                    zip.GetEntry("config.json")!.Delete();
                    using var w = new StreamWriter(zip.CreateEntry("config.json").Open());
                    w.Write(config.ToJsonString());
                }

                var e = Assert.IsType<KerasFormatException>(Assert.ThrowsAny<Exception>(() => KerasImport.LoadKeras(path)));
                FrameworkFixtures.AssertMentions(e, "multi_head_attention");
                FrameworkFixtures.AssertMentions(e, key);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
