using LstmSharp.Data;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Tests.Data;
using LstmSharp.Training;

namespace LstmSharp.Tests.EndToEnd;

[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class MnistEndToEndTests
{
    [SkippableFact]
    public void LstmOnSixThousandImagesForTwoEpochsExceeds85PercentTestAccuracy()
    {
        string folder = TestData.Require("mnist");

        var data = Mnist.LoadData(options: new DatasetOptions { Path = folder, AllowDownload = false });
        var x = data.TrainImages.Slice(0, 6000);
        var y = Labels.ToCategorical(data.TrainLabels.AsSpan(0, 6000), 10);
        var yTest = Labels.ToCategorical(data.TestLabels, 10);

        Layer.ClearSession();
        Rng.SetGlobalSeed(42);
        Layer.SetRandomSeed(42);
        var model = new Sequential();
        model.Add(new LSTM(128, inputShape: [28, 28]));
        model.Add(new Dense(10));
        model.Add(new Activation("softmax"));
        model.Compile(new Adam(0.001), "categorical_crossentropy", ["accuracy"]);
        model.Fit(x, y, batchSize: 16, epochs: 2, verbose: 0, seed: 1);
        var (loss, accuracy) = model.Evaluate(data.TestImages, yTest, batchSize: 500);
        Assert.True(accuracy > 0.85, $"test accuracy {accuracy:P2} (loss {loss:0.0000}) after two epochs on 6,000 images");
    }
}
