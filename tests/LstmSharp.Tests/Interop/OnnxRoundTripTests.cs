using LstmSharp.Interop.Onnx;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using static LstmSharp.Tests.Interop.OnnxRuntimeCheck;

namespace LstmSharp.Tests.Interop;

/// <summary>Export, then import: the weights come back bit for bit and the model computes the same outputs.</summary>
public sealed class OnnxRoundTripTests
{
    private const int Batch = 3, Time = 5, Features = 4, Units = 6;

    public static TheoryData<string> Cases() => new(Models.Keys);

    private static readonly Dictionary<string, Func<Model>> Models = new()
    {
        ["lstm + dense"] = () => new Sequential([new LSTM(Units, inputShape: [-1, Features]), new Dense(3, "softmax")]),
        ["lstm sequence + time-distributed dense"] = () => new Sequential([new LSTM(Units, returnSequences: true, inputShape: [-1, Features]), new TimeDistributed(new Dense(2))]),
        ["peephole lstm"] = () => new Sequential([new LSTM(Units, variant: LstmVariant.Peephole, inputShape: [-1, Features])]),
        ["gru reset_after"] = () => new Sequential([new GRU(Units, inputShape: [-1, Features]), new Dense(2, "sigmoid")]),
        ["gru reset_before"] = () => new Sequential([new GRU(Units, resetAfter: false, returnSequences: true, inputShape: [-1, Features])]),
        ["simple_rnn"] = () => new Sequential([new SimpleRNN(Units, inputShape: [-1, Features]), new Dense(2)]),
        ["bidirectional lstm"] = () => new Sequential([new Bidirectional(new LSTM(Units, returnSequences: true), inputShape: [-1, Features]), new LSTM(Units)]),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ExportThenImportKeepsWeightsBitForBitAndOutputs(string name)
    {
        Layer.SetRandomSeed(1);
        var model = Models[name]();
        RandomizeWeights(model, 2);
        var back = OnnxImport.Load(model.ToOnnxBytes());

        var expected = model.GetWeights().SelectMany(w => w).OrderBy(v => v).ToArray();
        var actual = back.GetWeights().SelectMany(w => w).Where(v => v != 0f).OrderBy(v => v).ToArray();
        Assert.Equal(expected.Where(v => v != 0f).ToArray(), actual);

        var x = RandomInput(3, Batch, Time, Features);
        var y = back.Call(x);
        AssertClose(name + " after import", model.Call(x), y.ToArray(), y.ShapeArray);
    }
}
