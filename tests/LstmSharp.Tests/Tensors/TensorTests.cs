using LstmSharp.Tensors;

namespace LstmSharp.Tests.Tensors;

public class TensorTests
{
    [Fact]
    public void ReshapeAndSliceAreViewsOverTheSameStorage()
    {
        var t = new Tensor(2, 3, 4);
        for (int i = 0; i < t.Length; i++)
        {
            t.Span[i] = i;
        }

        var r = t.Reshape(6, -1);
        Assert.Equal(new[] { 6, 4 }, r.ShapeArray);
        Assert.Same(t.Data, r.Data);
        Assert.Equal(t[1, 2, 3], r[5, 3]);

        var s = t.Slice(1, 1);
        Assert.Equal(new[] { 1, 3, 4 }, s.ShapeArray);
        s[0, 0, 0] = -1;
        Assert.Equal(-1, t[1, 0, 0]);
        Assert.Equal(t[1, 2, 1], t.Row(1)[2, 1]);
    }

    [Fact]
    public void BadShapesAndIndicesGiveClearErrors()
    {
        var t = new Tensor(2, 3);
        var e = Assert.Throws<ArgumentException>(() => t.Reshape(4, 2));
        Assert.Contains("[4, 2]", e.Message);
        Assert.Throws<IndexOutOfRangeException>(() => t[2, 0]);
        Assert.Throws<ArgumentException>(() => t[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Slice(1, 2));
        Assert.Throws<ArgumentException>(() => new Tensor(new float[5], 2, 3));
    }
}
