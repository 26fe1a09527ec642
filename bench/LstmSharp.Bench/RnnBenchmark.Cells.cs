using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Training;
using LsTensor = LstmSharp.Tensors.Tensor;

namespace LstmSharp.Bench;

/// <summary>
/// <c>train-cells</c>: the issue-15 cells beside the standard LSTM on the <c>train-lstm</c>
/// shapes (x [128, 28, 28] → cell(128) → Dense(10) → softmax, Adam, one TrainOnBatch step):
/// LSTM(128, projSize: 64) and LayerNormLSTM(128), timed in the same interleaved rounds as
/// LstmSharp's LSTM(128) and libtorch's nn.LSTM(128). The 'speedup' lines of the two extra
/// sides read as (their time / LstmSharp LSTM's time): above 1 = slower than the standard LSTM.
/// TorchSharp's nn.LSTM has no proj_size, so libtorch appears with the standard cell only.
/// </summary>
internal static partial class RnnBenchmark
{
    private static IReadOnlyList<(string Name, Side Side)> CellSides() =>
    [
        ("lstmsharp-proj64", OursCellTrain(new LSTM(Units, projSize: Units / 2, inputShape: [Time, Features]), "LSTM(128, projSize: 64)")),
        ("lstmsharp-lnlstm", OursCellTrain(new LayerNormLSTM(Units, inputShape: [Time, Features]), "LayerNormLSTM(128)")),
    ];

    private static Side OursCellTrain(Layer recurrent, string what)
    {
        var model = new Sequential([recurrent, new Dense(Classes), new Activation("softmax")]);
        model.Compile(new Adam(0.001), "categorical_crossentropy");
        var (x, labels) = Data(Batch);
        var y = new LsTensor(Batch, Classes);
        for (int i = 0; i < Batch; i++)
        {
            y.Span[(i * Classes) + labels[i]] = 1f;
        }

        return new Side(() => model.TrainOnBatch(x, y), $"Sequential[{what}, Dense(10), Activation(softmax)].TrainOnBatch, categorical_crossentropy, Adam(0.001)");
    }
}
