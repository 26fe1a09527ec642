using LstmSharp.Data;
using LstmSharp.Tensors;

namespace LstmSharp.Tests.Data;

/// <summary>Keras's pad_sequences and to_categorical rules, on hand-worked examples.</summary>
public class SequencesTests
{
    private static readonly int[][] Seqs = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10], []];

    [Fact]
    public void DefaultsPadAndTruncateAtTheFrontToTheLongest()
    {
        var t = Sequences.PadSequences(Seqs);
        Assert.Equal(new[] { 4, 5 }, t.ShapeArray);
        AssertRows(t, [0, 0, 1, 2, 3], [0, 0, 0, 4, 5], [6, 7, 8, 9, 10], [0, 0, 0, 0, 0]);
    }

    [Fact]
    public void PostPaddingPutsTheValuesFirst()
    {
        var t = Sequences.PadSequences(Seqs, padding: "post");
        AssertRows(t, [1, 2, 3, 0, 0], [4, 5, 0, 0, 0], [6, 7, 8, 9, 10], [0, 0, 0, 0, 0]);
    }

    [Fact]
    public void PreTruncationKeepsTheEndPostTruncationKeepsTheStart()
    {
        AssertRows(Sequences.PadSequences(Seqs, maxlen: 2), [2, 3], [4, 5], [9, 10], [0, 0]);
        AssertRows(Sequences.PadSequences(Seqs, maxlen: 2, truncating: "post"), [1, 2], [4, 5], [6, 7], [0, 0]);
        AssertRows(Sequences.PadSequences(Seqs, maxlen: 4, padding: "post", truncating: "post"), [1, 2, 3, 0], [4, 5, 0, 0], [6, 7, 8, 9], [0, 0, 0, 0]);
        AssertRows(Sequences.PadSequences(Seqs, maxlen: 4, padding: "pre", truncating: "post"), [0, 1, 2, 3], [0, 0, 4, 5], [6, 7, 8, 9], [0, 0, 0, 0]);
    }

    [Fact]
    public void PaddingValueAndLongerMaxlen()
    {
        var t = Sequences.PadSequences([[3], [1, 2]], maxlen: 4, value: -1f);
        AssertRows(t, [-1, -1, -1, 3], [-1, -1, 1, 2]);
        Assert.Equal(new[] { 0, 0 }, Sequences.PadSequences([]).ShapeArray);
        Assert.Equal(new[] { 0, 7 }, Sequences.PadSequences([], maxlen: 7).ShapeArray);
        Assert.Equal(new[] { 2, 0 }, Sequences.PadSequences([[], []]).ShapeArray);
    }

    [Fact]
    public void BadArgumentsNameTheArgumentAndTheValue()
    {
        var e = Assert.Throws<ArgumentException>(() => Sequences.PadSequences(Seqs, padding: "middle"));
        Assert.Equal("padding", e.ParamName);
        Assert.Contains("\"pre\" or \"post\", got \"middle\"", e.Message);
        e = Assert.Throws<ArgumentException>(() => Sequences.PadSequences(Seqs, truncating: "Pre"));
        Assert.Equal("truncating", e.ParamName);
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => Sequences.PadSequences(Seqs, maxlen: -1));
        Assert.Contains("got -1", r.Message);
        e = Assert.Throws<ArgumentException>(() => Sequences.PadSequences([[1], null!]));
        Assert.Contains("sequences[1] is null", e.Message);
        Assert.Throws<ArgumentNullException>(() => Sequences.PadSequences(null!));
    }

    [Fact]
    public void ToCategoricalIsOneHot()
    {
        var t = Labels.ToCategorical([2, 0, 1, 2], 4);
        Assert.Equal(new[] { 4, 4 }, t.ShapeArray);
        Assert.Equal(new float[] { 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0 }, t.ToArray());
        Assert.Equal(new[] { 2, 3 }, Labels.ToCategorical([2, 0]).ShapeArray);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Labels.ToCategorical([1, 5], 3));
        Assert.Contains("labels[1] = 5, expected 0..2", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Labels.ToCategorical([-1], 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Labels.ToCategorical([0], 0));
    }

    private static void AssertRows(Tensor t, params float[][] rows)
    {
        Assert.Equal(new[] { rows.Length, rows[0].Length }, t.ShapeArray);
        for (int i = 0; i < rows.Length; i++)
        {
            Assert.Equal(rows[i], t.Row(i).ToArray());
        }
    }
}
