using LstmSharp.Autograd;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Recurrent;

/// <summary>
/// An LSTM reading an embedding output through the table (<see cref="TokenProjection"/>):
/// same outputs and gradients as reading the looked-up sequence, the embedding's gradient
/// accumulated straight into the table, fallbacks where the table path does not apply, and
/// results independent of the thread count.
/// </summary>
[Collection(Kernels.WorkerPoolCollection.Name)]
public class TokenProjectionTests
{
    private const int Features = 3, Units = 4;

    public static TheoryData<bool, bool, bool, bool> Options() => new()
    {
        { false, false, false, true },
        { true, false, false, true },
        { false, true, false, true },
        { false, false, true, true },
        { true, true, true, false },
    };

    [Theory]
    [MemberData(nameof(Options))]
    public void ReadingThroughTheTableMatchesReadingTheSequence(bool maskZero, bool goBackwards, bool returnSequences, bool useBias)
    {
        // 3 × 5 = 15 rows ≥ vocabulary 7: the table path applies.
        var ids = Tensor.FromArray([1, 2, 3, 0, 0, 6, 6, 5, 1, 2, 0, 4, 4, 4, 3], 3, 5);
        var (table, viaTable) = Run(ids, maskZero, goBackwards, returnSequences, useBias, throughTable: true);
        var (sequence, viaSequence) = Run(ids, maskZero, goBackwards, returnSequences, useBias, throughTable: false);

        Assert.True(table.EmbeddingGradFormed == false, "the table path formed the embedding output's gradient");
        Assert.True(sequence.EmbeddingGradFormed, "the sequence path formed no embedding output gradient");
        AssertClose("output", sequence.Output, table.Output);
        for (int i = 0; i < viaTable.Length; i++)
        {
            AssertClose(viaTable[i].Name, viaSequence[i].Grad, viaTable[i].Grad);
        }
    }

    [Fact]
    public void GradientThroughTheTableMatchesFiniteDifferences()
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(5);
        var embedding = new Embedding(6, Features);
        var lstm = new LSTM(Units, returnSequences: true, name: "table_path");
        lstm.Build([-1, Features]);
        var ids = Tensor.FromArray([1, 2, 3, 5, 0, 4, 2, 2], 2, 4);
        GradientChecker.CheckFloat(
            "LSTM reading an Embedding through its table",
            t => lstm.Apply(embedding.Apply(t[0])),
            [ids, embedding.Embeddings.Value, .. lstm.Parameters.Select(p => p.Value)],
            constant: [0]);
    }

    [Fact]
    public void LargeVocabulariesAndInputDropoutReadTheSequence()
    {
        // 2 × 3 = 6 rows < vocabulary 50: projecting the table would cost more.
        var ids = Tensor.FromArray([1, 20, 30, 40, 49, 7], 2, 3);
        Assert.True(Formed(ids, new Embedding(50, Features), new LSTM(Units)));

        var many = Tensor.FromArray([1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6], 2, 6);
        Assert.False(Formed(many, new Embedding(7, Features), new LSTM(Units)));
        Assert.True(Formed(many, new Embedding(7, Features), new LSTM(Units, dropout: 0.3f, seed: 1)));
    }

    [Fact]
    public void ResultsAreBitIdenticalForAnyThreadCount()
    {
        // Enough rows (16 × 200) for the gather and the products to split over threads.
        var rng = new Random(3);
        var values = new float[16 * 200];
        for (int i = 0; i < values.Length; i++) values[i] = rng.Next(0, 300);
        var ids = Tensor.FromArray(values, 16, 200);
        SequenceChunkTests.AssertSameBitsForThreadCounts(() =>
        {
            Layer.ClearSession();
            Layer.SetRandomSeed(9);
            var embedding = new Embedding(300, 8);
            var lstm = new LSTM(12, returnSequences: true);
            using var tape = Tape.Record();
            var y = lstm.Apply(embedding.Apply(ids));
            var dy = new Tensor(y.ShapeArray);
            dy.Fill(0.01f);
            tape.Backward(y, dy);
            return [y.ToArray(), embedding.Embeddings.Grad.Span.ToArray(), .. lstm.Parameters.Select(p => p.Grad.ToArray())];
        });
    }

    [Fact]
    public void KernelRejectsBadTokensNamingTheLayer()
    {
        var layout = new LstmLayout(LstmVariant.Standard, 2, 3);
        var kernel = new LstmKernel(layout, "tokens");
        var x = new float[1 * 2 * 2];
        var w = new float[2 * layout.GateWidth];
        var u = new float[3 * layout.GateWidth];
        var last = new float[3];
        var table = new float[4 * 2];
        void Forward(int[] tokens, float[] tableValues, float[]? inputDrop = null) => kernel.Forward(
            new SequenceRun(x, 1, 2, 2) { Tokens = tokens, TokenTable = tableValues, InputDropoutMask = inputDrop },
            new LstmWeights { Kernel = w, RecurrentKernel = u, Bias = new float[layout.GateWidth] },
            default,
            default,
            new RnnOutputs { Last = last },
            null);

        Assert.Contains("LSTM 'tokens'", Assert.Throws<ArgumentOutOfRangeException>(() => Forward([0, 4], table)).Message);
        Assert.Contains("tokens", Assert.Throws<ArgumentException>(() => Forward([0, 1, 2], table)).Message);
        Assert.Contains("token table", Assert.Throws<ArgumentException>(() => Forward([0, 1], new float[7])).Message);
        Assert.Contains("input dropout", Assert.Throws<ArgumentException>(() => Forward([0, 1], table, [1f, 1f])).Message);
    }

    /// <summary>Whether the LSTM formed the embedding output's gradient (it does not when it reads through the table).</summary>
    private static bool Formed(Tensor ids, Embedding embedding, LSTM lstm)
    {
        using var tape = Tape.Record();
        var e = embedding.Apply(ids);
        var y = lstm.Apply([e], null, true, out _)[0];
        tape.Backward(y, Ones(y));
        return e.Grad is not null;
    }

    private static (Result Result, Tensor[] Parameters) Run(Tensor ids, bool maskZero, bool goBackwards, bool returnSequences, bool useBias, bool throughTable)
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(21);
        var embedding = new Embedding(7, Features, maskZero: maskZero);
        var lstm = new LSTM(Units, useBias: useBias, goBackwards: goBackwards, returnSequences: returnSequences);
        using var tape = Tape.Record();
        var e = embedding.Apply(ids, null, true, out var mask);

        // A reshape to the same shape is a view on the tape without the lookup's provenance.
        var input = throughTable ? e : Ops.Reshape(e, e.ShapeArray);
        var y = lstm.Apply([input], [mask], true, out _)[0];
        var dy = GradientChecker.Random(8, -1, 1, y.ShapeArray);
        tape.Backward(y, dy);
        Tensor[] parameters = [embedding.Embeddings.Value, .. lstm.Parameters.Select(p => p.Value)];
        return (new Result(y.ToArray(), e.Grad is not null), parameters);
    }

    private static Tensor Ones(Tensor like)
    {
        var t = new Tensor(like.ShapeArray);
        t.Fill(1f);
        return t;
    }

    private static void AssertClose(string? what, float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(
                Math.Abs(expected[i] - actual[i]) <= 1e-5f * Math.Max(1f, Math.Abs(expected[i])),
                $"{what} element {i}: sequence path {expected[i]:R}, table path {actual[i]:R}");
        }
    }

    private static void AssertClose(string? what, Tensor? expected, Tensor? actual) =>
        AssertClose(what, expected!.ToArray(), actual!.ToArray());

    private sealed record Result(float[] Output, bool EmbeddingGradFormed);
}
