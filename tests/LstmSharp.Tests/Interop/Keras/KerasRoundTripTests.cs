using LstmSharp.Interop.Keras;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using PureHDF;

namespace LstmSharp.Tests.Interop.Keras;

/// <summary>SaveKeras writes Keras 3's layout; reading it back gives the same weights and outputs, bit for bit.</summary>
[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class KerasRoundTripTests
{
    [Theory]
    [InlineData("seq_lstm_gru.keras")]
    [InlineData("func_embed_bidi.keras")]
    [InlineData("legacy_seq.h5")]
    [InlineData("legacy_func.h5")]
    [InlineData("seq_cnn_norm.keras")]
    public void ImportedModelsExportAndImportBitIdentical(string file)
    {
        var model = KerasImport.LoadKeras(FrameworkFixtures.Keras(file));
        string stem = Path.GetFileNameWithoutExtension(file);
        AssertRoundTrip(model, FrameworkFixtures.Npy(FrameworkFixtures.Keras(stem + "_x.npy")));
    }

    [Fact]
    public void ALstmSharpModelWithEveryExportedLayerRoundTrips()
    {
        Rng.SetGlobalSeed(7);
        var model = new Sequential(
        [
            new Embedding(30, 6, inputShape: [8], name: "tokens"),
            new Bidirectional(new LSTM(5, returnSequences: true), name: "bi"),
            new Dropout(0.2f),
            new GRU(4, returnSequences: true, resetAfter: false),
            new SimpleRNN(3, activation: "relu", returnSequences: true),
            new TimeDistributed(new Dense(2, activation: "tanh")),
            new Flatten(),
            new Dense(1, activation: "sigmoid"),
        ]);
        var x = new Tensor(3, 8);
        var rng = new Rng(1);
        for (int i = 0; i < x.Length; i++)
        {
            x.Span[i] = rng.NextInt(30);
        }

        string path = AssertRoundTrip(model, x, keep: true);
        try
        {
            // The weights sit where Keras 3's saving_lib looks for them.
            using var h5Bytes = new MemoryStream(ReadEntry(path, "model.weights.h5"));
            using var h5 = H5File.Open(h5Bytes, leaveOpen: true);
            Assert.Equal([6, 20], h5.Group("layers/bidirectional/forward_layer/cell/vars").Dataset("0").Space.Dimensions.Select(d => (int)d).ToArray());
            Assert.Equal([12], h5.Group("layers/gru/cell/vars").Dataset("2").Space.Dimensions.Select(d => (int)d).ToArray());
            Assert.Equal([30, 6], h5.Group("layers/embedding/vars").Dataset("0").Space.Dimensions.Select(d => (int)d).ToArray());
            Assert.Equal([2], h5.Group("layers/time_distributed/layer/vars").Dataset("1").Space.Dimensions.Select(d => (int)d).ToArray());
            Assert.Equal([16, 1], h5.Group("layers/dense/vars").Dataset("0").Space.Dimensions.Select(d => (int)d).ToArray());
            string config = System.Text.Encoding.UTF8.GetString(ReadEntry(path, "config.json"));
            Assert.Contains("\"class_name\":\"InputLayer\"", config);
            Assert.DoesNotContain("variant", config);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ConvolutionPoolingAndNormalizationLayersRoundTripWithKerasNamesAndPaths()
    {
        Rng.SetGlobalSeed(8);
        var model = new Sequential(
        [
            new Conv1D(5, 3, strides: 2, padding: "same", activation: "tanh", inputShape: [11, 4]),
            new SpatialDropout1D(0.3f),
            new BatchNormalization(momentum: 0.9f, center: false),
            new AveragePooling1D(2, 1, "same"),
            new LayerNormalization([1, 2], epsilon: 1e-4f),
            new Conv1D(3, 2, padding: "causal", dilationRate: 2, useBias: false),
            new GlobalMaxPooling1D(keepDims: true),
            new Flatten(),
            new Dense(2),
        ]);
        foreach (var p in model.Parameters)
        {
            // Moving statistics and gains away from their initial 0/1, so a misplaced one shows.
            var s = p.Value.Span;
            for (int i = 0; i < s.Length; i++)
            {
                s[i] = p.Name == "moving_variance" ? 0.5f + (0.1f * i) : s[i] + (0.01f * (i + 1));
            }
        }

        var x = new Tensor(2, 11, 4);
        var rng = new Rng(3);
        for (int i = 0; i < x.Length; i++)
        {
            x.Span[i] = rng.NextFloat() - 0.5f;
        }

        string path = AssertRoundTrip(model, x, keep: true);
        try
        {
            using var h5Bytes = new MemoryStream(ReadEntry(path, "model.weights.h5"));
            using var h5 = H5File.Open(h5Bytes, leaveOpen: true);
            Assert.Equal([3, 4, 5], h5.Group("layers/conv1d/vars").Dataset("0").Space.Dimensions.Select(d => (int)d).ToArray());
            Assert.Equal([5], h5.Group("layers/batch_normalization/vars").Dataset("2").Space.Dimensions.Select(d => (int)d).ToArray());
            Assert.Equal(3, h5.Group("layers/batch_normalization/vars").Children().Count());
            Assert.Equal([6, 5], h5.Group("layers/layer_normalization/vars").Dataset("0").Space.Dimensions.Select(d => (int)d).ToArray());
            Assert.Equal([2, 5, 3], h5.Group("layers/conv1d_1/vars").Dataset("0").Space.Dimensions.Select(d => (int)d).ToArray());
            string config = System.Text.Encoding.UTF8.GetString(ReadEntry(path, "config.json"));
            foreach (string cls in new[] { "Conv1D", "SpatialDropout1D", "BatchNormalization", "AveragePooling1D", "LayerNormalization", "GlobalMaxPooling1D" })
            {
                Assert.Contains($"\"class_name\":\"{cls}\"", config);
            }

            Assert.Contains("\"kernel_size\":[3]", config);
            Assert.Contains("\"dilation_rate\":[2]", config);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ACellKerasCannotHoldIsRefusedWithItsName()
    {
        var model = new Sequential([new LSTM(3, variant: LstmVariant.Vanilla, inputShape: [4, 2], name: "peep")]);
        var ex = Assert.Throws<NotSupportedException>(() => model.SaveKeras(Path.Combine(Path.GetTempPath(), "never.keras")));
        FrameworkFixtures.AssertMentions(ex, "'peep'");
    }

    private static string AssertRoundTrip(Model model, Tensor x, bool keep = false)
    {
        string path = Path.Combine(FrameworkFixtures.NewTempFolder("keras-roundtrip"), "model.keras");
        model.SaveKeras(path);
        var back = KerasImport.LoadKeras(path);
        Assert.Equal(model.GetType(), back.GetType());
        var a = model.GetWeights();
        var b = back.GetWeights();
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i], b[i]);
        }

        Assert.Equal(model.Predict(x).ToArray(), back.Predict(x).ToArray());
        if (!keep)
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }

        return path;
    }

    private static byte[] ReadEntry(string zipPath, string name)
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(zipPath);
        using var s = zip.GetEntry(name)!.Open();
        var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }
}
