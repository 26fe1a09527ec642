using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Serialization;
using LstmSharp.Tensors;
using LstmSharp.Training;
using LstmSharp.Training.Callbacks;

namespace LstmSharp.Tests.Reliability;

/// <summary>
/// The NaN/Inf policy: stored weights with NaN/Inf are refused unless the caller opts in;
/// clipping (norm, value, global norm) never hides a non-finite gradient unless opted in; a run
/// whose loss becomes NaN says so; Model.Load reads weights straight into the model.
/// </summary>
[Collection(Tensors.GlobalRngCollection.Name)]
public sealed class NonFinitePolicyTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", "nan-" + Guid.NewGuid().ToString("N"));

    public NonFinitePolicyTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, true);

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void WeightsWithNaNOrInfAreRefusedUnlessAllowed(float bad)
    {
        var model = SmallModel();
        model.Compile(new Adam(0.01), "mse");
        var kernel = model.Parameters.Single(p => p.Path == "lstm/recurrent_kernel");
        kernel.Value.Span[5] = bad;
        string path = Path.Combine(dir, "bad.lstm");
        model.Save(path);

        var e = Assert.Throws<ModelFormatException>(() => Model.Load(path));
        Assert.Equal("lstm/recurrent_kernel", e.TensorName);
        Assert.Contains("[5]", e.Problem);
        Assert.Contains("allowNonFiniteWeights", e.Problem);

        var loaded = Model.Load(path, allowNonFiniteWeights: true);
        Assert.Equal(bad, loaded.Parameters.Single(p => p.Path == "lstm/recurrent_kernel").Value.Span[5]);

        // LoadWeights refuses them too, and leaves the model as it was.
        var target = SmallModel();
        var before = target.Parameters.Select(p => p.Value.ToArray()).ToArray();
        Assert.Throws<ModelFormatException>(() => target.LoadWeights(path));
        Assert.All(target.Parameters.Select((p, i) => (p, i)), x => Assert.Equal(before[x.i], x.p.Value.ToArray()));
        target.LoadWeights(path, allowNonFiniteWeights: true);
        Assert.Equal(bad, target.Parameters.Single(p => p.Path == "lstm/recurrent_kernel").Value.Span[5]);
    }

    [Theory]
    [InlineData("clipnorm", float.PositiveInfinity)]
    [InlineData("clipvalue", float.PositiveInfinity)]
    [InlineData("global_clipnorm", float.PositiveInfinity)]
    [InlineData("clipnorm", float.NaN)]
    [InlineData("clipvalue", float.NaN)]
    [InlineData("global_clipnorm", float.NaN)]
    public void EveryClippingModeThrowsOnANonFiniteGradientNamingTheParameter(string mode, float bad)
    {
        Optimizer Make(bool allow) => mode switch
        {
            "clipnorm" => new Sgd(0.1) { ClipNorm = 1, AllowNonFiniteGradients = allow },
            "clipvalue" => new Sgd(0.1) { ClipValue = 1, AllowNonFiniteGradients = allow },
            _ => new Sgd(0.1) { GlobalClipNorm = 1, AllowNonFiniteGradients = allow },
        };

        var good = Param("dense/bias", [0.5f, 0.25f], [1f, 2f]);
        var broken = Param("lstm/kernel", [1f, 2f, 3f], [0.1f, bad, 0.3f]);
        var e = Assert.Throws<InvalidOperationException>(() => Make(false).Step([good, broken]));
        Assert.Contains("'lstm/kernel'", e.Message);
        Assert.Contains("AllowNonFiniteGradients", e.Message);
        Assert.Equal(new[] { 0.5f, 0.25f }, good.Value.ToArray()); // nothing was updated

        // Opted in: clipped as Keras does, whatever that makes of the value.
        Make(true).Step([good, broken]);

        var back = Optimizers.FromConfig(Make(true).GetConfig());
        Assert.True(back.AllowNonFiniteGradients);
        Assert.False(Optimizers.FromConfig(Make(false).GetConfig()).AllowNonFiniteGradients);
    }

    [Fact]
    public void WithoutClippingNonFiniteGradientsAreNotCheckedHere()
    {
        var p = Param("w", [1f], [float.PositiveInfinity]);
        new Sgd(0.1).Step([p]);
        Assert.Equal(float.NegativeInfinity, p.Value.Span[0]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void ARunWhoseLossBecomesNaNSaysSoWithoutTerminateOnNaN(int verbose)
    {
        var model = SmallModel();
        model.Compile(new Sgd(0.01), "mse");
        model.Parameters[0].Value.Span[0] = float.NaN;
        var x = new Tensor(Enumerable.Range(0, 8 * 4 * 2).Select(i => (float)Math.Sin(i)).ToArray(), 8, 4, 2);
        var y = new Tensor(8, 2);
        var listener = new WarningListener();
        var output = new StringWriter();
        var saved = Console.Out;
        History history;
        lock (ConsoleLock)
        {
            Console.SetOut(output);
            try
            {
                history = model.Fit(x, y, batchSize: 4, epochs: 2, verbose: verbose, shuffle: false, callbacks: [listener]);
            }
            finally
            {
                Console.SetOut(saved);
            }
        }

        Assert.True(history.LossBecameNonFinite);
        Assert.Equal((0, 0), history.FirstNonFiniteLoss);
        Assert.Single(history.Warnings);
        Assert.Contains("epoch 1, batch 1", history.Warnings[0]);
        Assert.Equal(history.Warnings, listener.Warnings);
        Assert.Equal(2, history.Epochs.Count); // warned, not stopped: TerminateOnNaN stops
        Assert.Equal(verbose > 0, output.ToString().Contains("WARNING: Model", StringComparison.Ordinal));

        var clean = SmallModel();
        clean.Compile(new Sgd(0.01), "mse");
        var ok = clean.Fit(x, y, batchSize: 4, epochs: 1, verbose: 0);
        Assert.False(ok.LossBecameNonFinite);
        Assert.Empty(ok.Warnings);
    }

    [Fact]
    public void LoadReadsWeightsStraightIntoTheModel()
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(5);
        var model = new Sequential([new Dense(1024, inputShape: [1024])]);
        string path = Path.Combine(dir, "big.lstm");
        model.Save(path);
        long fileSize = new FileInfo(path).Length;

        Model.Load(path); // warm up the code paths
        long before = GC.GetAllocatedBytesForCurrentThread();
        var loaded = Model.Load(path);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // The weights themselves are the file's size; reading the file into memory first cost as much again.
        Assert.True(allocated < fileSize * 1.2, $"Model.Load of a {fileSize}-byte file allocated {allocated} bytes ({(double)allocated / fileSize:F2}x)");
        Assert.Equal(model.Parameters[0].Value.ToArray(), loaded.Parameters[0].Value.ToArray());
    }

    internal static readonly object ConsoleLock = new();

    private static Sequential SmallModel()
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(7);
        return new Sequential([new LSTM(3, inputShape: [4, 2]), new Dense(2)]);
    }

    private static Parameter Param(string path, float[] values, float[] grad)
    {
        var p = new Parameter(path.Split('/')[^1], Tensor.FromArray(values, values.Length)) { Path = path };
        grad.CopyTo(p.Grad.Span);
        return p;
    }

    private sealed class WarningListener : Callback
    {
        public List<string> Warnings { get; } = [];

        public override void OnWarning(string message) => Warnings.Add(message);
    }
}
