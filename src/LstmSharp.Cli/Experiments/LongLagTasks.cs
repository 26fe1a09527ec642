namespace LstmSharp.Cli.Experiments;

/// <summary>
/// One synthetic long-time-lag task as the long-lag experiment sees it: how to draw data for a
/// lag T, the head on top of the recurrent layer, the loss, the error reported and its baseline.
/// </summary>
/// <remarks>
/// "Solved" is the same rule for every task: the test error is below
/// <see cref="LongLagExperiment.SolvedFraction"/> (10%) of the error of the best predictor that
/// ignores the input, i.e. the model removes at least 90% of the baseline's error. For the
/// adding problem that is MSE &lt; 0.0167, an R² above 0.9; for the temporal order an error rate
/// below 7.5% (accuracy above 92.5%); for the copy task a per-step cross-entropy below a tenth of
/// the memoryless <c>10 ln 8 / (T + 20)</c>.
/// </remarks>
public abstract class LongLagTask
{
    public abstract string Name { get; }

    /// <summary>What <see cref="Error"/> measures, for tables and plots.</summary>
    public abstract string ErrorName { get; }

    /// <summary>Keras loss name the model is compiled with.</summary>
    public abstract string LossName { get; }

    /// <summary>Metric names the model is compiled with.</summary>
    public virtual string[] Metrics => [];

    /// <summary>Number of input features per step.</summary>
    public abstract int Features { get; }

    /// <summary>Smallest lag the generator accepts.</summary>
    public virtual int MinLength => 2;

    /// <summary>Steps in a sequence for lag <paramref name="t"/>.</summary>
    public virtual int SequenceLength(int t) => t;

    /// <summary>Whether the recurrent layer must return its whole sequence (one prediction per step).</summary>
    public virtual bool PerStepOutput => false;

    /// <summary>Error of the best predictor that ignores the input, for lag <paramref name="t"/>.</summary>
    public abstract double Baseline(int t);

    public abstract SyntheticData Generate(int samples, int t, long seed);

    /// <summary>The layers after the recurrent layer.</summary>
    public abstract IEnumerable<Layer> Head();

    /// <summary>The task's error of <paramref name="model"/> on (x, y): MSE, cross-entropy or error rate.</summary>
    public abstract double Error(Model model, Tensor x, Tensor y);

    public static LongLagTask FromName(string name) => (name ?? string.Empty).ToLowerInvariant() switch
    {
        "adding" => new AddingTask(),
        "copy" => new CopyMemoryTask(),
        "order" => new OrderTask(),
        _ => throw new ArgumentException($"long-lag: unknown task '{name}'; expected adding, copy or order."),
    };

    private sealed class AddingTask : LongLagTask
    {
        public override string Name => "adding";

        public override string ErrorName => "MSE";

        public override string LossName => "mse";

        public override int Features => AddingProblem.Features;

        public override double Baseline(int t) => AddingProblem.ConstantPredictorMse;

        public override SyntheticData Generate(int samples, int t, long seed) => AddingProblem.Generate(samples, t, seed);

        public override IEnumerable<Layer> Head() => [new Dense(1)];

        public override double Error(Model model, Tensor x, Tensor y) => model.Evaluate(x, y, batchSize: 256).Loss;
    }

    private sealed class CopyMemoryTask : LongLagTask
    {
        public override string Name => "copy";

        public override string ErrorName => "cross-entropy (nats/step)";

        public override string LossName => "sparse_categorical_crossentropy";

        public override int Features => CopyTask.Categories;

        public override int MinLength => 1;

        public override int SequenceLength(int t) => CopyTask.SequenceLength(t);

        public override bool PerStepOutput => true;

        public override double Baseline(int t) => CopyTask.MemorylessCrossEntropy(t);

        public override SyntheticData Generate(int samples, int t, long seed) => CopyTask.Generate(samples, t, seed);

        public override IEnumerable<Layer> Head() => [new Dense(CopyTask.Categories, activation: "softmax")];

        public override double Error(Model model, Tensor x, Tensor y) => model.Evaluate(x, y, batchSize: 256).Loss;
    }

    private sealed class OrderTask : LongLagTask
    {
        public override string Name => "order";

        public override string ErrorName => "error rate";

        public override string LossName => "categorical_crossentropy";

        public override string[] Metrics => ["accuracy"];

        public override int Features => TemporalOrderTask.Symbols;

        public override int MinLength => TemporalOrderTask.MinTimeSteps;

        public override double Baseline(int t) => 1 - TemporalOrderTask.BaselineAccuracy;

        public override SyntheticData Generate(int samples, int t, long seed) => TemporalOrderTask.Generate(samples, t, seed);

        public override IEnumerable<Layer> Head() => [new Dense(TemporalOrderTask.Classes, activation: "softmax")];

        public override double Error(Model model, Tensor x, Tensor y) => 1 - model.Evaluate(x, y, batchSize: 256)["accuracy"];
    }
}

/// <summary>The recurrent layers the long-lag experiment compares, by command-line name.</summary>
public static class LongLagModels
{
    /// <summary>
    /// Names accepted by <see cref="Create"/>; lstm-* are Greff et al.'s variants, lstm-proj the
    /// LSTM with a projection to units/2 (Sak et al. 2014) and lnlstm the <see cref="LayerNormLSTM"/>.
    /// </summary>
    public static readonly IReadOnlyList<string> Names = NameList.Split(", ");

    /// <summary>The <see cref="Names"/> as the help and the error messages list them.</summary>
    public const string NameList =
        "srn, lstm, gru, lstm-vanilla, lstm-cifg, lstm-nfg, lstm-noaf, lstm-1997, "
        + "lstm-nig, lstm-nog, lstm-niaf, lstm-fgr, lstm-np, lstm-proj, lnlstm";

    /// <summary>The recurrent layer <paramref name="name"/> with <paramref name="units"/> units.</summary>
    public static RecurrentLayer Create(string name, int units, int[] inputShape, bool returnSequences)
    {
        string key = (name ?? string.Empty).ToLowerInvariant();
        return key switch
        {
            "srn" => new SimpleRNN(units, returnSequences: returnSequences, inputShape: inputShape),
            "lstm" => new LSTM(units, returnSequences: returnSequences, inputShape: inputShape),
            "gru" => new GRU(units, returnSequences: returnSequences, inputShape: inputShape),
            "lstm-proj" => new LSTM(units, returnSequences: returnSequences, inputShape: inputShape, projSize: Math.Max(1, units / 2)),
            "lnlstm" => new LayerNormLSTM(units, returnSequences: returnSequences, inputShape: inputShape),
            _ when key.StartsWith("lstm-", StringComparison.Ordinal) && Names.Contains(key) =>
                new LSTM(units, returnSequences: returnSequences, variant: LstmVariant.FromName(key["lstm-".Length..]), inputShape: inputShape),
            _ => throw new ArgumentException($"long-lag: unknown model '{name}'; expected one of {NameList}."),
        };
    }
}
