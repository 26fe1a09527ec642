using LstmSharp.Data.Synthetic;

namespace LstmSharp.Tests.Data;

public class AdditionTaskTests
{
    [Fact]
    public void QuestionsAnswersAndTeacherForcingInputsAreEncodedAsDocumented()
    {
        var data = AdditionTask.Encode([(535, 61)], digits: 3);
        Assert.Equal("535+61 ", AdditionTask.Question(535, 61, 3));
        Assert.Equal("596 ", AdditionTask.Answer(535, 61, 3));
        Assert.Equal([1, 7, AdditionTask.Vocabulary], data.Source.ShapeArray);
        Assert.Equal([1, 4, AdditionTask.Vocabulary], data.DecoderInput.ShapeArray);
        Assert.Equal([1, 4], data.Target.ShapeArray);
        Assert.Equal("535+61 ", Text(data.Source));
        Assert.Equal("^596", Text(data.DecoderInput));
        Assert.Equal("596 ", AdditionTask.Text(Enumerable.Range(0, 4).Select(t => (int)data.Target[0, t])));
    }

    [Fact]
    public void ReversedSourceReadsTheSamePaddedQuestionBackwards()
    {
        var pairs = AdditionTask.Pairs(50, digits: 2, seed: 9);
        var plain = AdditionTask.Encode(pairs, 2);
        var reversed = AdditionTask.Encode(pairs, 2, reverseSource: true);
        int len = AdditionTask.SourceLength(2), v = AdditionTask.Vocabulary;
        for (int i = 0; i < pairs.Length; i++)
        {
            for (int t = 0; t < len; t++)
            {
                for (int k = 0; k < v; k++)
                {
                    Assert.Equal(plain.Source[i, t, k], reversed.Source[i, len - 1 - t, k]);
                }
            }
        }

        // Only the source changes: the decoder sees the answer in reading order either way.
        Assert.Equal(plain.DecoderInput.ToArray(), reversed.DecoderInput.ToArray());
        Assert.Equal(plain.Target.ToArray(), reversed.Target.ToArray());
        Assert.Equal(" 16+535", AdditionTask.Question(535, 61, 3, reverse: true));
    }

    [Fact]
    public void PairsAreDistinctUpToOrderReproducibleAndInRange()
    {
        var a = AdditionTask.Pairs(2000, digits: 2, seed: 1);
        var b = AdditionTask.Pairs(2000, digits: 2, seed: 1);
        Assert.Equal(a, b);
        Assert.Equal(2000, a.Select(p => (Math.Min(p.A, p.B), Math.Max(p.A, p.B))).Distinct().Count());
        Assert.All(a, p => Assert.InRange(p.A, 0, 99));
        Assert.All(a, p => Assert.InRange(p.B, 0, 99));
        Assert.Equal(55, AdditionTask.DistinctQuestions(1));
        Assert.Equal(55, AdditionTask.Pairs(55, 1, seed: 3).Length);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => AdditionTask.Pairs(56, 1, seed: 3));
        Assert.Contains("[1, 55]", e.Message);
    }

    private static string Text(LstmSharp.Tensors.Tensor oneHot)
    {
        var tokens = new List<int>();
        for (int t = 0; t < oneHot.Dim(1); t++)
        {
            for (int k = 0; k < oneHot.Dim(2); k++)
            {
                if (oneHot[0, t, k] == 1f)
                {
                    tokens.Add(k);
                }
            }
        }

        return AdditionTask.Text(tokens);
    }
}
