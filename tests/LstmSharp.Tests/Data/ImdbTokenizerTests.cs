using LstmSharp.Data;

namespace LstmSharp.Tests.Data;

public class ImdbTokenizerTests
{
    [Theory]
    [InlineData("The movie was GREAT!", "the movie was great")]
    [InlineData("Bad.<br /><br />Really bad.", "bad really bad")]
    [InlineData("one<br/>two<BR>three<br / >four", "one two three four")]
    [InlineData("It's a 'cult' classic, isn't it?", "it's a cult classic isn't it")]
    [InlineData("rock'n'roll ''' don’t", "rock'n'roll don't")]
    [InlineData("well-made, 7/10 (B+)", "well made 7 10 b")]
    [InlineData("Amélie ÉTAIT là", "amélie était là")]
    [InlineData("a<b>bold</b> <brx> 3.5", "a b bold b brx 3 5")]
    [InlineData("   ", "")]
    [InlineData("", "")]
    public void SplitsLikeTheDocumentedRule(string text, string expected)
    {
        Assert.Equal(expected, string.Join(' ', ImdbTokenizer.Tokenize(text)));
    }
}

public class NumpyRandomStateTests
{
    [Fact]
    public void MersenneTwisterMatchesTheReferenceOutputs()
    {
        // Matsumoto–Nishimura's reference: init_genrand(5489) starts 3499211612, 581869302, ...;
        // its 10,000th output is 4123659995 (the value the C++ standard requires of std::mt19937).
        var mt = new NumpyRandomState(5489);
        Assert.Equal(new uint[] { 3499211612, 581869302, 3890346734, 3586334585, 545404204 }, Enumerable.Range(0, 5).Select(_ => mt.NextUInt32()).ToArray());
        for (int i = 5; i < 9999; i++)
        {
            mt.NextUInt32();
        }

        Assert.Equal(4123659995u, mt.NextUInt32());
    }

    [Fact]
    public void ShuffleMatchesNumpyRandomStatePermutation()
    {
        // np.random.RandomState(0).permutation(10) == [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]
        var x = Enumerable.Range(0, 10).ToArray();
        new NumpyRandomState(0).Shuffle(x);
        Assert.Equal(new[] { 2, 8, 4, 9, 1, 6, 7, 3, 0, 5 }, x);
    }

    [Fact]
    public void IntervalStaysInRange()
    {
        var mt = new NumpyRandomState(113);
        foreach (uint max in new uint[] { 0, 1, 2, 5, 24999, uint.MaxValue })
        {
            for (int i = 0; i < 200; i++)
            {
                Assert.InRange(mt.Interval(max), 0u, max);
            }
        }
    }
}
