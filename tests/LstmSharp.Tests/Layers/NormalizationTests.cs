using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;

namespace LstmSharp.Tests.Layers;

[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class NormalizationTests
{
    [Fact]
    public void AdaptComputesPerFeatureMeanAndPopulationVarianceOverAllButTheLastAxis()
    {
        // Feature 0: 1, 3, 5, 7 (mean 4, variance 5); feature 1: 10, 10, 10, 10 (variance 0).
        var data = Tensor.From(new float[,,] { { { 1, 10 }, { 3, 10 } }, { { 5, 10 }, { 7, 10 } } });
        var norm = new Normalization();
        norm.Adapt(data);
        Assert.Equal([4f, 10], norm.Mean!.Value.ToArray());
        Assert.Equal([5f, 0], norm.Variance!.Value.ToArray());
        var y = norm.Apply(data);
        Assert.Equal(-3 / MathF.Sqrt(5), y[0, 0, 0], 1e-6);
        Assert.Equal(0f, y[1, 1, 1]); // zero variance: divided by epsilon, not by zero
        var back = new Normalization([4f, 10], [5f, 0], invert: true).Apply(y);
        for (int i = 0; i < data.Length; i++)
        {
            Assert.Equal(data.Span[i], back.Span[i], 1e-5);
        }
    }

    [Fact]
    public void GradientIsDividedByTheStandardDeviationAndWeightsStayFixed()
    {
        var norm = new Normalization([1f], [4f]);
        var x = Tensor.From(new float[] { 3, 5 }.AsSpan(), 2, 1);
        x.RequiresGrad = true;
        using (var tape = Tape.Record())
        {
            var y = norm.Apply(x);
            Assert.Equal([1f, 2], y.ToArray());
            tape.Backward(y, Tensor.Full(1f, 2, 1));
        }

        Assert.Equal([0.5f, 0.5f], x.Grad!.ToArray());
        Assert.Empty(norm.TrainableParameters);
    }

    [Fact]
    public void AdaptedStatisticsAreSavedWithTheModel()
    {
        Layer.ClearSession();
        Rng.SetGlobalSeed(2);
        var norm = new Normalization(inputShape: [4, 2]);
        var data = new Tensor(8, 4, 2);
        new Rng(3).FillNormal(data.Span, 5, 2);
        norm.Adapt(data);
        var model = new Sequential();
        model.Add(norm);
        model.Add(new LSTM(3));
        model.Add(new Dense(1));
        model.Add(new Normalization([100f], [25f], invert: true));
        string path = Path.Combine(Path.GetTempPath(), $"norm-{Guid.NewGuid():N}.lstm");
        try
        {
            model.Save(path);
            var loaded = Model.Load(path);
            Assert.Equal(model.Predict(data).ToArray(), loaded.Predict(data).ToArray());
            var first = (Normalization)loaded.Layers[0];
            Assert.Equal(norm.Mean!.Value.ToArray(), first.Mean!.Value.ToArray());
            Assert.True(((Normalization)loaded.Layers[^1]).Invert);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
