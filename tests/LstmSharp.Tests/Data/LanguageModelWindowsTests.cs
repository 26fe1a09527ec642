using LstmSharp.Data;

namespace LstmSharp.Tests.Data;

public class LanguageModelWindowsTests
{
    [Fact]
    public void WindowsAreNonOverlappingWithTargetsShiftedByOne()
    {
        int[] ids = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
        var (x, y) = LanguageModelWindows.Create(ids, 3);
        Assert.Equal([3, 3], x.ShapeArray);
        Assert.Equal([10f, 11, 12, 13, 14, 15, 16, 17, 18], x.ToArray());
        Assert.Equal([11f, 12, 13, 14, 15, 16, 17, 18, 19], y.ToArray());

        var (x2, y2) = LanguageModelWindows.Create(ids, 4, offset: 1);
        Assert.Equal([2, 4], x2.ShapeArray); // (10 - 1 - 1) / 4 = 2
        Assert.Equal([11f, 12, 13, 14, 15, 16, 17, 18], x2.ToArray());
        Assert.Equal([12f, 13, 14, 15, 16, 17, 18, 19], y2.ToArray());
        Assert.Equal(0, LanguageModelWindows.Count(4, 4));
        Assert.Contains("too few", Assert.Throws<ArgumentException>(() => LanguageModelWindows.Create(ids.AsSpan(0, 4), 4)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => LanguageModelWindows.Create(ids, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LanguageModelWindows.Create(ids, 2, offset: 10));
    }
}
