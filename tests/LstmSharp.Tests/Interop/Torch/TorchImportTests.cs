using LstmSharp.Interop.Torch;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;

namespace LstmSharp.Tests.Interop.Torch;

/// <summary>State dicts written by torch.save (PyTorch 1.13) load and reproduce PyTorch's outputs.</summary>
public class TorchImportTests
{
    [Theory]
    [InlineData("lstm2", "tanh", "LSTM")]
    [InlineData("gru2_bi", "tanh", "Bidirectional")]
    [InlineData("rnn2_relu", "relu", "SimpleRNN")]
    [InlineData("rnn_tanh_bi", "tanh", "Bidirectional")]
    [InlineData("lstm_double", "tanh", "LSTM")]
    public void BuildSequentialReproducesAPlainRecurrentStack(string name, string nonlinearity, string firstClass)
    {
        var sd = TorchStateDict.Load(FrameworkFixtures.Torch(name + ".pt"));
        var model = TorchImport.BuildSequential(sd, nonlinearity: nonlinearity);
        Assert.Equal(firstClass, model.Layers[0].ClassName);
        var y = model.Predict(FrameworkFixtures.Npy(FrameworkFixtures.Torch(name + "_x.npy")));
        FrameworkFixtures.AssertClose(name, FrameworkFixtures.Npy(FrameworkFixtures.Torch(name + "_y.npy")), y);
    }

    [Fact]
    public void EmbeddingBidirectionalLstmAndLinearLoadInOrder()
    {
        var model = new Sequential(
        [
            new Embedding(20, 6, inputShape: [9], name: "embed"),
            new Bidirectional(new LSTM(8, name: "enc"), name: "bi"),
            new Dense(3, name: "head"),
        ]);
        var log = model.LoadTorchStateDict(FrameworkFixtures.Torch("embed_bilstm_linear.pt"));
        Assert.Contains(log, m => m.TorchName == "encoder.weight_ih_l0_reverse" && m.ParameterPath == "bi/backward_enc/kernel");
        Assert.Contains(log, m => m.TorchName == "encoder.bias_ih_l0 + encoder.bias_hh_l0" && m.ParameterPath == "bi/forward_enc/bias");
        var y = model.Predict(FrameworkFixtures.Npy(FrameworkFixtures.Torch("embed_bilstm_linear_x.npy")));
        FrameworkFixtures.AssertClose("embed_bilstm_linear", FrameworkFixtures.Npy(FrameworkFixtures.Torch("embed_bilstm_linear_y.npy")), y);
    }

    [Theory]
    [InlineData("gru2_linear.pt")]
    [InlineData("gru2_linear.safetensors")]
    public void GruStackWithAPerStepLinearLoadsFromPtAndSafetensors(string file)
    {
        var model = GruLinearModel();
        model.LoadTorchStateDict(FrameworkFixtures.Torch(file));
        var y = model.Predict(FrameworkFixtures.Npy(FrameworkFixtures.Torch("gru2_linear_x.npy")));
        FrameworkFixtures.AssertClose(file, FrameworkFixtures.Npy(FrameworkFixtures.Torch("gru2_linear_y.npy")), y);
    }

    [Fact]
    public void AnExplicitMapPinsAModuleAndTheRestFollowInOrder()
    {
        // Functional model whose layer list is out/second... : pin the GRU stack by name.
        var model = GruLinearModel();
        var log = model.LoadTorchStateDict(FrameworkFixtures.Torch("gru2_linear.pt"), new Dictionary<string, string> { ["rnn"] = "gru_a" });
        Assert.Contains(log, m => m.TorchName == "rnn.weight_hh_l1" && m.ParameterPath == "gru_b/recurrent_kernel");
        Assert.Contains(log, m => m.TorchName == "out.weight" && m.ParameterPath == "dense_out/kernel");

        var ex = Assert.Throws<TorchFormatException>(() => GruLinearModel().LoadTorchStateDict(FrameworkFixtures.Torch("gru2_linear.pt"), new Dictionary<string, string> { ["rnn"] = "gru_b" }));
        FrameworkFixtures.AssertMentions(ex, "'rnn.weight_ih_l0' [18, 4]");
        FrameworkFixtures.AssertMentions(ex, "'gru_b/kernel' is [6, 18]");
        ex = Assert.Throws<TorchFormatException>(() => GruLinearModel().LoadTorchStateDict(FrameworkFixtures.Torch("gru2_linear.pt"), new Dictionary<string, string> { ["nope"] = "gru_a" }));
        FrameworkFixtures.AssertMentions(ex, "no module 'nope'");
    }

    [Fact]
    public void AMisfitNamesBothSidesAndLeavesTheModelUnchanged()
    {
        // An LSTM state dict into GRU layers.
        var gru = new Sequential([new GRU(5, returnSequences: true, inputShape: [-1, 3], name: "g1"), new GRU(5, returnSequences: true, name: "g2")]);
        var before = gru.GetWeights();
        var ex = Assert.Throws<TorchFormatException>(() => gru.LoadTorchStateDict(FrameworkFixtures.Torch("lstm2.pt")));
        FrameworkFixtures.AssertMentions(ex, "nn.LSTM");
        FrameworkFixtures.AssertMentions(ex, "GRU 'g1'");
        FrameworkFixtures.AssertMentions(ex, "lstm2.pt");

        // Wrong units: the shapes of both sides are named.
        var wide = new Sequential([new LSTM(6, returnSequences: true, inputShape: [-1, 3], name: "w1"), new LSTM(5, returnSequences: true, name: "w2")]);
        ex = Assert.Throws<TorchFormatException>(() => wide.LoadTorchStateDict(FrameworkFixtures.Torch("lstm2.pt")));
        FrameworkFixtures.AssertMentions(ex, "weight_ih_l0");
        FrameworkFixtures.AssertMentions(ex, "[3, 20]");
        FrameworkFixtures.AssertMentions(ex, "w1/kernel");
        FrameworkFixtures.AssertMentions(ex, "[3, 24]");

        // A GRU without reset_after cannot hold PyTorch's GRU.
        var classic = new Sequential([new GRU(6, returnSequences: true, resetAfter: false, inputShape: [-1, 4], name: "c1"), new GRU(6, returnSequences: true, name: "c2"), new Dense(2)]);
        ex = Assert.Throws<TorchFormatException>(() => classic.LoadTorchStateDict(FrameworkFixtures.Torch("gru2_linear.pt")));
        FrameworkFixtures.AssertMentions(ex, "reset_after");

        // Too few layers: the module left over is named.
        var shortModel = new Sequential([new LSTM(5, returnSequences: true, inputShape: [-1, 3], name: "only")]);
        ex = Assert.Throws<TorchFormatException>(() => shortModel.LoadTorchStateDict(FrameworkFixtures.Torch("lstm2.pt")));
        FrameworkFixtures.AssertMentions(ex, "2 consecutive model layers");

        // Extra model layers get no weights.
        var longModel = new Sequential([new LSTM(5, returnSequences: true, inputShape: [-1, 3]), new LSTM(5, returnSequences: true), new Dense(2, name: "extra")]);
        ex = Assert.Throws<TorchFormatException>(() => longModel.LoadTorchStateDict(FrameworkFixtures.Torch("lstm2.pt")));
        FrameworkFixtures.AssertMentions(ex, "Dense 'extra'");

        var after = gru.GetWeights();
        for (int i = 0; i < before.Length; i++)
        {
            Assert.Equal(before[i], after[i]);
        }
    }

    [Fact]
    public void ReadsTheStateDictAsPyTorchWroteIt()
    {
        var sd = TorchStateDict.Load(FrameworkFixtures.Torch("embed_bilstm_linear.pt"));
        Assert.Equal(
            ["embed.weight", "encoder.weight_ih_l0", "encoder.weight_hh_l0", "encoder.bias_ih_l0", "encoder.bias_hh_l0",
             "encoder.weight_ih_l0_reverse", "encoder.weight_hh_l0_reverse", "encoder.bias_ih_l0_reverse", "encoder.bias_hh_l0_reverse",
             "head.weight", "head.bias"],
            sd.Tensors.Select(t => t.Name));
        Assert.True(sd.TryGet("encoder.weight_ih_l0", out var w));
        Assert.Equal([32, 6], w.Shape);
        Assert.Equal(TorchDType.Float32, w.DType);
        Assert.Equal(TorchDType.Float64, TorchStateDict.Load(FrameworkFixtures.Torch("lstm_double.pt")).Tensors[0].DType);
    }

    private static Sequential GruLinearModel() => new(
    [
        new GRU(6, returnSequences: true, inputShape: [-1, 4], name: "gru_a"),
        new GRU(6, returnSequences: true, name: "gru_b"),
        new Dense(2, name: "dense_out"),
    ]);
}
