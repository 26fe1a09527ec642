using LstmSharp.Data;

namespace LstmSharp.Tests.Data;

public class SeriesCsvTests
{
    private static SeriesTable Read(string csv, SeriesCsvOptions? o = null) => SeriesCsv.Read(new StringReader(csv), "test.csv", o);

    private static string Error(string csv, SeriesCsvOptions? o = null) => Assert.Throws<InvalidDataException>(() => Read(csv, o)).Message;

    [Fact]
    public void ReadsNumbersInvariantlyWithTheCommonTimeForms()
    {
        var t = Read("date,a,b\n2012/01/01,0.5,1e3\n2012/01/02,-2,\"7\"\n2012/01/03,3.25,8\n", new SeriesCsvOptions { TimeColumn = "date" });
        Assert.Equal(["a", "b"], t.Columns);
        Assert.Equal([0.5f, 1000, -2, 7, 3.25f, 8], t.Values.ToArray());
        Assert.Equal(new DateTime(2012, 1, 2), t.Times![1]);
        Assert.Equal("1.00:00:00", t.TimeStep);

        Assert.Equal("1 month", Read("month,x\n1749-01,58\n1749-02,62.6\n1749-03,70\n", new SeriesCsvOptions { TimeColumn = "month" }).TimeStep);
        Assert.Equal("1 year", Read("\"YEAR\",\"V\"\n1700,5\n1701,11\n", new SeriesCsvOptions { TimeColumn = "YEAR" }).TimeStep);
        Assert.Equal(new DateTime(2020, 2, 29), Read("d,x\n20200228,1\n20200229,2\n", new SeriesCsvOptions { TimeColumn = "d" }).Times![1]);
        Assert.Equal(new DateTime(2020, 1, 1, 1, 30, 0), Read("d,x\n2020/01/01 01:00,1\n2020/01/01 01:30,2\n", new SeriesCsvOptions { TimeColumn = "d" }).Times![1]);
        Assert.Equal(new DateTime(2020, 1, 1, 12, 0, 0), Read("d,x\n2020-01-01T11:00:00Z,1\n2020-01-01T12:00:00Z,2\n", new SeriesCsvOptions { TimeColumn = "d" }).Times![1]);
        Assert.Equal(new DateTime(2020, 1, 2), Read("d,x\n01.01.2020,1\n02.01.2020,2\n", new SeriesCsvOptions { TimeColumn = "d", TimeFormat = "dd.MM.yyyy" }).Times![1]);
        Assert.Equal([2f, 4], Read("a,b,c\n1,2,3\n3,4,5\n", new SeriesCsvOptions { Columns = ["b"] }).Column("b"));
    }

    [Fact]
    public void BadInputIsOneErrorNamingFileLineAndColumn()
    {
        var o = new SeriesCsvOptions { TimeColumn = "d" };
        Assert.Equal("test.csv:3: 2 columns, the header has 3.", Error("d,a,b\n2020-01-01,1,2\n2020-01-02,1\n", o));
        Assert.StartsWith("test.csv:3, column 'b': '1,5' is not a number", Error("d,a,b\n2020-01-01,1,2\n2020-01-02,1,\"1,5\"\n", o));
        Assert.StartsWith("test.csv:2, column 'a': 'abc' is not a number", Error("d,a\n2020-01-01,abc\n2020-01-02,1\n", o));
        Assert.StartsWith("test.csv:3, column 'a': missing value (1 missing in all", Error("d,a\n2020-01-01,1\n2020-01-02,\n2020-01-03,3\n", o));
        Assert.StartsWith("test.csv:4, column 'd': 1 missing time step between", Error("d,a\n2020-01-01,1\n2020-01-02,2\n2020-01-04,4\n2020-01-05,5\n", o));
        Assert.StartsWith("test.csv:3, column 'd': time", Error("d,a\n2020-01-02,1\n2020-01-01,2\n", o));
        Assert.StartsWith("test.csv:4, column 'd': irregular time step", Error("d,a\n2020/01/01 00:00,1\n2020/01/01 01:00,2\n2020/01/01 01:30,2\n2020/01/01 02:30,2\n", o));
        Assert.StartsWith("test.csv:3, column 'd': '2020/01/02' is not a time in the form yyyy-MM-dd", Error("d,a\n2020-01-01,1\n2020/01/02,2\n", o));
        Assert.Equal("test.csv: 0 rows of values; a series needs at least 2.", Error("d,a\n", o));
        Assert.StartsWith("test.csv: empty file", Error(string.Empty, o));
        Assert.StartsWith("test.csv: no column 'x'", Error("d,a\n2020-01-01,1\n", new SeriesCsvOptions { Columns = ["x"] }));
        Assert.StartsWith("test.csv: no time column 'date'", Error("d,a\n2020-01-01,1\n", new SeriesCsvOptions { TimeColumn = "date" }));
    }

    [Fact]
    public void InterpolateFillsMissingValuesAndStepsAndListsThem()
    {
        var t = Read("d,a,b\n2020-01-01,1,10\n2020-01-02,,20\n2020-01-03,3,\n2020-01-06,6,60\n", new SeriesCsvOptions { TimeColumn = "d", Interpolate = true });
        Assert.Equal(6, t.Length);
        Assert.Equal([1f, 2, 3, 4, 5, 6], t.Column("a"));
        Assert.Equal([10f, 20, 30, 40, 50, 60], t.Column("b"));
        Assert.Equal(new DateTime(2020, 1, 5), t.Times![4]);
        Assert.Contains("line 5: 2 missing time steps before 2020-01-06T00:00:00.0000000Z inserted", t.Repairs);
        Assert.Contains("line 3, column 'a': 1 missing value interpolated", t.Repairs);
        Assert.Contains("line 4-5, column 'b': 3 missing values interpolated", t.Repairs);
    }

    [Fact]
    public void TruncatedAndMutatedFilesEndInTheDocumentedException()
    {
        const string good = "date,a,b\n2012/01/01,0.5,1\n2012/01/02,2,7\n2012/01/03,3.25,8\n2012/01/04,4,9\n";
        var rng = new Random(5);
        for (int i = 0; i < 300; i++)
        {
            var chars = good.ToCharArray();
            int cut = rng.Next(chars.Length + 1);
            for (int k = 0; k < 3; k++)
            {
                chars[rng.Next(chars.Length)] = ",\"\n x-9.:/"[rng.Next(10)];
            }

            string text = new string(chars)[..cut];
            try
            {
                var t = Read(text, new SeriesCsvOptions { TimeColumn = "date" });
                Assert.All(t.Values.ToArray(), v => Assert.True(float.IsFinite(v)));
            }
            catch (InvalidDataException)
            {
            }
        }
    }
}
