using LstmSharp.Cli;
using LstmSharp.Models;
using LstmSharp.Tests.Data;

namespace LstmSharp.Tests.Cli;

/// <summary><c>experiment imdb-cnn-lstm</c> on a slice of the real IMDB files: the keras-io model, its files, a loadable model.</summary>
[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class ImdbCnnLstmCommandTests
{
    [SkippableFact]
    public void TrainsTheKerasIoModelOnASliceAndWritesItsFiles()
    {
        TestData.Require("imdb");
        string dir = TestData.NewTempFolder("imdb-cnn-lstm");
        try
        {
            int rc = Program.Run(["experiment", "imdb-cnn-lstm", "--limit", "120", "--epochs", "1", "--num-words", "2000", "--data", TestData.DatasetsRoot!, "--out", dir, "--verbose", "0"]);
            Assert.Equal(0, rc);
            foreach (var f in new[] { "results.md", "history.csv", "accuracy.png", "loss.png", "cnn-lstm.lstm" })
            {
                Assert.True(File.Exists(Path.Combine(dir, f)), $"missing {f}");
            }

            string md = File.ReadAllText(Path.Combine(dir, "results.md"));
            Assert.Contains("| cnn-lstm |", md);
            Assert.Contains("84.98 %", md);
            var model = Model.Load(Path.Combine(dir, "cnn-lstm.lstm"));
            Assert.Equal(["Embedding", "Dropout", "Conv1D", "MaxPooling1D", "LSTM", "Dense"], model.Layers.Select(l => l.ClassName));

            // Embedding(2000, 128) + Conv1D(64, 5) 41,024 + LSTM(70) 37,800 + Dense 71.
            Assert.Equal((2000 * 128) + 41_024 + 37_800 + 71, model.CountParams());
        }
        finally
        {
            TestData.DeleteFolder(dir);
        }
    }
}
