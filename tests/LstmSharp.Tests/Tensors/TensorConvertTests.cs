using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;

namespace LstmSharp.Tests.Tensors;

[Collection(GlobalRngCollection.Name)]
public class TensorConvertTests
{
    [Fact]
    public void ArraysRoundTripThroughTensorsAndAreCopied()
    {
        var a3 = new float[2, 3, 4];
        for (int i = 0; i < 2; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                for (int k = 0; k < 4; k++)
                {
                    a3[i, j, k] = (100 * i) + (10 * j) + k;
                }
            }
        }

        var t = Tensor.From(a3);
        Assert.Equal([2, 3, 4], t.ShapeArray);
        Assert.Equal(123f, t[1, 2, 3]);
        a3[0, 0, 0] = -1;
        Assert.Equal(0f, t[0, 0, 0]);
        var back = t.ToArray3D();
        Assert.Equal(123f, back[1, 2, 3]);
        Assert.Equal(21f, Tensor.From(new float[,] { { 10, 11 }, { 20, 21 } })[1, 1]);
        Assert.Equal(new float[,] { { 10, 11 }, { 20, 21 } }, Tensor.From(new float[,] { { 10, 11 }, { 20, 21 } }).ToArray2D());

        float[][] jagged = [[1, 2, 3], [4, 5, 6]];
        Assert.Equal(jagged, Tensor.From(jagged).ToJagged());
        Assert.Equal([3, 2], Tensor.From(Enumerable.Range(0, 3).Select(i => new float[] { i, -i })).ShapeArray);
        Assert.Equal([2, 2, 1], Tensor.From(new float[][][] { [[1], [2]], [[3], [4]] }).ShapeArray);
        Assert.Equal([2, 3], Tensor.From(new float[] { 1, 2, 3, 4, 5, 6 }.AsSpan(), 2, 3).ShapeArray);
    }

    [Fact]
    public void RaggedRowsAndWrongRanksAreNamed()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.From(new float[][] { [1, 2], [3, 4], [5] }));
        Assert.Contains("row 2 has 1 values; expected 2", ex.Message);
        Assert.Throws<ArgumentException>(() => Tensor.From(new float[] { 1, 2, 3 }.AsSpan(), 2, 2));
        Assert.Throws<InvalidOperationException>(() => new Tensor(2, 2).ToArray3D());
    }

    [Fact]
    public void ArgMaxTakesTheFirstLargestOfEachRow()
    {
        var p = Tensor.From(new float[,] { { 0.1f, 0.7f, 0.2f }, { 0.5f, 0.5f, 0f }, { 0f, 0f, 1f } });
        Assert.Equal([1, 0, 2], p.ArgMax());
    }

    [Fact]
    public void PredictOnOneSequenceAddsAndRemovesTheBatchAxis()
    {
        Layer.ClearSession();
        Rng.SetGlobalSeed(3);
        var model = new Sequential();
        model.Add(new LSTM(4, inputShape: [6, 2]));
        model.Add(new Dense(3, activation: "softmax"));
        var batch = new Tensor(5, 6, 2);
        new Rng(1).FillUniform(batch.Span, -1, 1);
        var all = model.Predict(batch);
        var one = model.Predict(batch.Row(2));
        Assert.Equal([3], one.ShapeArray);
        // Batch 1 takes the latency path (units split between threads): equal to rounding.
        var expected = all.Row(2).ToArray();
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], one.Span[i], 1e-6);
        }

        Assert.Equal(all.ArgMax(), model.PredictClasses(batch));
        Assert.Equal(all.ArgMax()[2], model.PredictClasses(batch.Row(2)).Single());
        var ex = Assert.Throws<ArgumentException>(() => model.Predict(new Tensor(6)));
        Assert.Contains("expected a batch [*, 6, 2] or one sample [6, 2], got [6]", ex.Message);
    }
}
