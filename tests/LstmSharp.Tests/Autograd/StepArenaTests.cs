using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Tests.Autograd;

/// <summary>
/// The training step's arena: storage rented inside a step is reused by the next step only,
/// never handed out twice within a step, and never used outside a step (so tensors a caller
/// receives from Call or Predict are not overwritten by later calls, predictions, evaluations
/// or training steps).
/// </summary>
public class StepArenaTests
{
    [Fact]
    public void StorageIsReusedByTheNextStepOnlyAndNeverOutsideAStep()
    {
        var arena = new StepArena();
        float[] a, b, first;
        using (StepArena.Enter(arena))
        {
            a = StepArena.Floats(100);
            b = StepArena.Floats(100);
            Assert.NotSame(a, b);
            Assert.Equal(2, arena.RentedCount);
        }

        Assert.Equal(0, arena.RentedCount);
        using (StepArena.Enter(arena))
        {
            first = StepArena.Floats(100);
            Assert.True(ReferenceEquals(first, a) || ReferenceEquals(first, b));
            Assert.NotSame(first, StepArena.Floats(100));
            Assert.Equal(7, StepArena.Floats(7).Length);
        }

        // Outside a step every call allocates.
        Assert.NotSame(a, StepArena.Floats(100));
        Assert.NotSame(b, StepArena.Floats(100));
        Assert.NotSame(StepArena.Ints(5), StepArena.Ints(5));
    }

    [Fact]
    public void ANestedStepFreesOnlyItsOwnStorage()
    {
        var arena = new StepArena();
        using (StepArena.Enter(arena))
        {
            var outer = StepArena.Floats(100);
            using (StepArena.Enter(arena))
            {
                Assert.NotSame(outer, StepArena.Floats(100));
            }

            // The inner step's array is free again; the outer one is still in use.
            Assert.NotSame(outer, StepArena.Floats(100));
            Assert.NotSame(outer, StepArena.Floats(100));
            Assert.Equal(3, arena.RentedCount);
        }

        Assert.Equal(0, arena.RentedCount);
    }

    [Fact]
    public void OutputsOfCallAndPredictSurviveLaterCallsAndTrainingSteps()
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(4);
        var embedding = new Embedding(20, 3, inputShape: [6]);
        var model = new Sequential([embedding, new LSTM(4), new Dense(1, activation: "sigmoid")]);
        model.Compile(new Adam(0.01), "binary_crossentropy");
        var encoder = new Sequential([embedding]);
        var x = Tensor.FromArray([.. Enumerable.Range(0, 24).Select(i => (float)((i * 7) % 20))], 4, 6);
        var other = Tensor.FromArray([.. Enumerable.Range(0, 24).Select(i => (float)((i * 3) % 20))], 4, 6);
        var y = Tensor.FromArray([1, 0, 1, 0], 4, 1);

        var looked = encoder.Call(x);
        var lookedCopy = looked.ToArray();
        var lookedByPredict = encoder.Predict(x, batchSize: 2);
        var lookedByPredictCopy = lookedByPredict.ToArray();
        Assert.Equal(lookedCopy, lookedByPredictCopy);
        var predicted = model.Predict(x);
        var predictedCopy = predicted.ToArray();
        encoder.Call(other);
        for (int i = 0; i < 3; i++)
        {
            model.TrainOnBatch(other, y);
        }

        encoder.Call(x);
        encoder.Predict(other, batchSize: 2);
        model.Evaluate(other, y, batchSize: 2);
        Assert.Equal(lookedCopy, looked.ToArray());
        Assert.Equal(lookedByPredictCopy, lookedByPredict.ToArray());
        Assert.Equal(predictedCopy, predicted.ToArray());
    }

    [Fact]
    public void TrainingStepsWithReusedStorageEqualStepsOnFreshModels()
    {
        // Two identical models: one trains three steps in a row (reusing its arena), the other is
        // rebuilt from the first's weights before each step (a fresh arena every time).
        var x = Tensor.FromArray([.. Enumerable.Range(0, 40).Select(i => (float)((i * 11) % 9))], 5, 8);
        var y = Tensor.FromArray([1, 0, 0, 1, 1], 5, 1);
        var steady = Build(out var steadyOptimizer);
        var losses = new List<double>();
        for (int i = 0; i < 3; i++)
        {
            losses.Add(steady.TrainOnBatch(x, y));
        }

        var fresh = Build(out var freshOptimizer);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(losses[i], fresh.TrainOnBatch(x, y));
            var weights = fresh.GetWeights();
            var state = freshOptimizer.GetState();
            fresh = Build(out freshOptimizer);
            fresh.SetWeights(weights);
            freshOptimizer.SetState(state, fresh.TrainableParameters);
        }

        Assert.Equal(steady.GetWeights().SelectMany(w => w), fresh.GetWeights().SelectMany(w => w));
    }

    private static Sequential Build(out Adam optimizer)
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(12);
        var model = new Sequential([new Embedding(9, 3, inputShape: [8]), new LSTM(4), new Dense(1, activation: "sigmoid")]);
        optimizer = new Adam(0.01);
        model.Compile(optimizer, "binary_crossentropy");
        return model;
    }
}
