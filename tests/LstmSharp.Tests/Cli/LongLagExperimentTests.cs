using LstmSharp.Cli.Experiments;
using LstmSharp.Data.Synthetic;

namespace LstmSharp.Tests.Cli;

[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class LongLagExperimentTests
{
    [Fact]
    public void LstmBeatsTheAddingBaselineClearlyAtTenSteps()
    {
        var task = LongLagTask.FromName("adding");
        var test = task.Generate(300, 10, seed: 77);
        var dir = TempDir();
        var s = new LongLagSettings { Steps = 400, Batch = 32, Units = 16, EvalEvery = 100, TestSamples = 300, Out = dir, Verbose = 0, Seed = 3 };
        var r = LongLagExperiment.TrainOne(task, 10, "lstm", s, test.X, test.Y);
        Assert.Equal(AdditionBaseline, r.Baseline, 12);
        Assert.True(r.FinalError < 0.25 * r.Baseline, $"MSE {r.FinalError:0.0000} after 400 steps; baseline {r.Baseline:0.0000}; curve {string.Join(", ", r.Curve.Select(c => $"{c.Step}:{c.Error:0.0000}"))}");
        Assert.Equal([100, 200, 300, 400], r.Curve.Select(c => c.Step));
        Assert.Equal(r.FinalError < r.Threshold, r.Solved);
        Assert.True(File.Exists(Path.Combine(dir, "adding-T10-lstm.lstm")));
    }

    [Fact]
    public void EveryModelNameBuildsAndTrainsOnEveryTask()
    {
        var dir = TempDir();
        foreach (var taskName in new[] { "adding", "copy", "order" })
        {
            var task = LongLagTask.FromName(taskName);
            int t = Math.Max(task.MinLength, 10);
            var test = task.Generate(20, t, seed: 1);
            foreach (var model in LongLagModels.Names)
            {
                var s = new LongLagSettings { Task = taskName, Steps = 2, Batch = 4, Units = 3, EvalEvery = 1, TestSamples = 20, Out = dir, Verbose = 0 };
                var r = LongLagExperiment.TrainOne(task, t, model, s, test.X, test.Y);
                Assert.True(double.IsFinite(r.FinalError), $"{taskName} {model}: error {r.FinalError}");
                Assert.Equal(2, r.StepsRun);
            }
        }
    }

    [Fact]
    public void BaselinesAndErrorsUseTheTasksDefinitions()
    {
        Assert.Equal(1.0 / 6.0, LongLagTask.FromName("adding").Baseline(50), 12);
        Assert.Equal(CopyTask.MemorylessCrossEntropy(30), LongLagTask.FromName("copy").Baseline(30), 12);
        Assert.Equal(0.75, LongLagTask.FromName("order").Baseline(30), 12);
        Assert.Equal(50, LongLagTask.FromName("copy").SequenceLength(30));
        var e = Assert.Throws<ArgumentException>(() => LongLagTask.FromName("parity"));
        Assert.Contains("adding, copy or order", e.Message);
        var m = Assert.Throws<ArgumentException>(() => LongLagModels.Create("lstm-xyz", 4, [10, 2], false));
        Assert.Contains("lstm-xyz", m.Message);
    }

    private const double AdditionBaseline = AddingProblem.ConstantPredictorMse;

    internal static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
