using LstmSharp.Data;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;

namespace LstmSharp.Tests.Cli;

/// <summary>A config with no input shape takes it from the data; the saved model keeps it (Keras's build_input_shape).</summary>
[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class InputShapeFromDataTests
{
    private const string Config = """
        { "class_name": "Sequential", "config": { "layers": [
          { "class_name": "LSTM", "config": { "units": 4 } }, { "class_name": "Dense", "config": { "units": 1 } } ] },
          "compile": { "loss": "mse", "metrics": [] } }
        """;

    [Theory]
    [InlineData("csv", new[] { 5, 1 })]
    [InlineData("npy", new[] { 5, 2 })]
    public void TrainTakesTheShapeFromTheDataAndTheSavedModelPredicts(string kind, int[] expected)
    {
        string dir = LongLagExperimentTests.TempDir();
        var rng = new Rng(5);
        int n = 24;
        var x = kind == "csv" ? new Tensor(n, 5) : new Tensor(n, 5, 2);
        for (int i = 0; i < x.Length; i++)
        {
            x.Span[i] = rng.NextFloat();
        }

        var y = new Tensor(n, 1);
        string xPath = Path.Combine(dir, "x." + kind);
        if (kind == "csv")
        {
            ArrayFiles.SaveCsv(xPath, x);
        }
        else
        {
            ArrayFiles.SaveNpy(xPath, x);
        }

        ArrayFiles.SaveCsv(Path.Combine(dir, "y.csv"), y);
        File.WriteAllText(Path.Combine(dir, "m.json"), Config);
        string saved = Path.Combine(dir, "m.lstm");
        var output = new StringWriter();
        var stdout = Console.Out;
        int code;
        try
        {
            Console.SetOut(output);
            code = LstmSharp.Cli.Program.Run(["train", Path.Combine(dir, "m.json"), "--input", xPath, "--targets", Path.Combine(dir, "y.csv"), "--out", saved, "--verbose", "0"]);
        }
        finally
        {
            Console.SetOut(stdout);
        }

        Assert.True(code == 0, output.ToString());
        Assert.Contains($"Input shape from {xPath}: {Tensor.FormatShape(expected)}", output.ToString());
        var model = (Sequential)Model.Load(saved);
        Assert.Equal(expected, model.Layers[0].BuiltInputShapes![0]);
        Assert.Equal(4 * 4 * (expected[1] + 4 + 1), model.Layers[0].CountParams());
        Assert.Equal(0, LstmSharp.Cli.Program.Run(["predict", saved, "--input", xPath, "--out", Path.Combine(dir, "p.csv")]));
        Assert.Equal([n, 1], ArrayFiles.LoadCsv(Path.Combine(dir, "p.csv")).Shape.ToArray());
    }

    [Fact]
    public void BuildSetsTheShapeAndChecksIt()
    {
        Layer.ClearSession();
        var model = new Sequential();
        model.Add(new LSTM(3));
        model.Add(new Dense(2));
        var unbuilt = Assert.Throws<InvalidOperationException>(() => model.SummaryText());
        Assert.Contains("call Build(inputShape)", unbuilt.Message);
        Assert.Throws<ArgumentException>(() => model.Build(4, 0));
        model.Build(4, 2);
        Assert.Equal(4 * 3 * (2 + 3 + 1) + (3 + 1) * 2, model.CountParams());
        var e = Assert.Throws<ArgumentException>(() => model.Build(4, 3));
        Assert.Contains("[4, 2]", e.Message);
        Assert.Contains("[4, 3]", e.Message);

        var copy = Model.FromConfig(model.GetConfig());
        Assert.Equal(model.CountParams(), copy.CountParams());
    }
}
