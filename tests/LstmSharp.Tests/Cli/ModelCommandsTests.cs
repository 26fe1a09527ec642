using System.Text.Json.Nodes;
using LstmSharp.Data;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;

namespace LstmSharp.Tests.Cli;

[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class ModelCommandsTests
{
    [Fact]
    public void PredictTakesOneInputFilePerInputOfAMultiInputModel()
    {
        string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", "cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            Layer.SetRandomSeed(4);
            var a = Input.Create([4, 3], name: "sequence");
            var lengths = Input.Create([], name: "lengths");
            var masked = new SequenceLengthMask().ApplyAll(a, lengths)[0];
            var model = new Functional([a, lengths], [new Dense(2).Apply(new LSTM(5).Apply(masked))]);
            var x = new Tensor(6, 4, 3);
            var len = new Tensor(6);
            var rng = new Rng(2);
            for (int i = 0; i < x.Length; i++)
            {
                x.Span[i] = rng.NextFloat() - 0.5f;
            }

            for (int i = 0; i < 6; i++)
            {
                len[i] = 1 + (i % 4);
            }

            string saved = Path.Combine(dir, "two.lstm");
            model.Save(saved);
            ArrayFiles.SaveNpy(Path.Combine(dir, "x.npy"), x);
            ArrayFiles.SaveNpy(Path.Combine(dir, "len.npy"), len);
            string predictions = Path.Combine(dir, "p.npy");
            Assert.Equal(0, LstmSharp.Cli.Program.Run(["predict", saved, "--input", Path.Combine(dir, "x.npy"), "--input", Path.Combine(dir, "len.npy"), "--out", predictions]));
            Assert.Equal(model.Predict([x, len]).ToArray(), ArrayFiles.LoadNpy(predictions).ToArray());

            var error = new StringWriter();
            Assert.Equal(1, LstmSharp.Cli.Program.Run(["predict", saved, "--input", Path.Combine(dir, "x.npy")], null, error));
            Assert.Contains("--input: the model takes 2 inputs, got 1", error.ToString());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void TrainEvaluatePredictAndSummaryWorkOnNpyAndCsvFilesWithAJsonConfig()
    {
        string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", "cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            // Target: the mean of a 5-step sequence — learnable by a small LSTM in a few epochs.
            var rng = new Rng(3);
            int n = 256;
            var x = new Tensor(n, 5, 1);
            var y = new Tensor(n, 1);
            for (int i = 0; i < n; i++)
            {
                float s = 0;
                for (int t = 0; t < 5; t++)
                {
                    x[i, t, 0] = rng.NextFloat();
                    s += x[i, t, 0];
                }

                y[i, 0] = s / 5;
            }

            ArrayFiles.SaveNpy(Path.Combine(dir, "x.npy"), x);
            ArrayFiles.SaveCsv(Path.Combine(dir, "y.csv"), y, header: "target");

            Layer.ClearSession();
            var model = new Sequential();
            model.Add(new LSTM(8, inputShape: [5, 1]));
            model.Add(new Dense(1));
            var config = model.GetConfig();
            config["compile"] = new JsonObject { ["loss"] = "mse", ["metrics"] = new JsonArray() };
            File.WriteAllText(Path.Combine(dir, "model.json"), config.ToJsonString());

            string saved = Path.Combine(dir, "trained.lstm");
            int code = LstmSharp.Cli.Program.Run(["train", Path.Combine(dir, "model.json"), "--input", Path.Combine(dir, "x.npy"), "--targets", Path.Combine(dir, "y.csv"), "--epochs", "30", "--batch", "16", "--lr", "0.01", "--out", saved, "--verbose", "0"]);
            Assert.Equal(0, code);
            var trained = Model.Load(saved, out int? epoch);
            Assert.Equal(30, epoch);
            double mse = trained.Evaluate(x, y).Loss;
            // The constant predictor's MSE is the target variance, about (1/12)/5 ≈ 0.017.
            Assert.True(mse < 0.004, $"MSE after training {mse}");

            Assert.Equal(0, LstmSharp.Cli.Program.Run(["evaluate", saved, "--input", Path.Combine(dir, "x.npy"), "--targets", Path.Combine(dir, "y.csv")]));
            string predictions = Path.Combine(dir, "p.csv");
            Assert.Equal(0, LstmSharp.Cli.Program.Run(["predict", saved, "--input", Path.Combine(dir, "x.npy"), "--out", predictions]));
            var p = ArrayFiles.LoadCsv(predictions);
            Assert.Equal(trained.Predict(x).ToArray(), p.ToArray());
            Assert.Equal(0, LstmSharp.Cli.Program.Run(["summary", saved]));

            // Bad input: a clear error and exit code 1, no crash.
            File.WriteAllText(Path.Combine(dir, "bad.json"), "{\"class_name\": \"Sequential\"");
            Assert.Equal(1, LstmSharp.Cli.Program.Run(["summary", Path.Combine(dir, "bad.json")]));
            Assert.Equal(1, LstmSharp.Cli.Program.Run(["predict", saved, "--input", Path.Combine(dir, "y.csv")]));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void NpyRoundTripAndMalformedFilesAreRejected()
    {
        string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", "npy-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var t = new Tensor(new float[] { 1, -2.5f, 3e-8f, 4, 5, 6 }, 2, 3);
            string path = Path.Combine(dir, "a.npy");
            ArrayFiles.SaveNpy(path, t);
            var back = ArrayFiles.LoadNpy(path);
            Assert.Equal(t.ShapeArray, back.ShapeArray);
            Assert.Equal(t.ToArray(), back.ToArray());
            byte[] bytes = File.ReadAllBytes(path);
            File.WriteAllBytes(Path.Combine(dir, "short.npy"), bytes[..^4]);
            var e = Assert.Throws<InvalidDataException>(() => ArrayFiles.LoadNpy(Path.Combine(dir, "short.npy")));
            Assert.Contains("needs 24 data bytes, the file has 20", e.Message);
            File.WriteAllBytes(Path.Combine(dir, "junk.npy"), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
            Assert.Throws<InvalidDataException>(() => ArrayFiles.LoadNpy(Path.Combine(dir, "junk.npy")));
            File.WriteAllText(Path.Combine(dir, "ragged.csv"), "1,2,3\n4,5\n");
            var ragged = Assert.Throws<InvalidDataException>(() => ArrayFiles.LoadCsv(Path.Combine(dir, "ragged.csv")));
            Assert.Contains("line 2: 2 columns, expected 3", ragged.Message);
            var shaped = Assert.Throws<ArgumentException>(() => ArrayFiles.Load(path, [4]));
            Assert.Contains("[4]", shaped.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
