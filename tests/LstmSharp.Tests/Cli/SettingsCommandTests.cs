using System.CommandLine;
using LstmSharp.Cli;

namespace LstmSharp.Tests.Cli;

/// <summary>
/// <see cref="SettingsCommand"/>: the options of an experiment command come from its settings
/// record's <see cref="CliOptionAttribute"/> properties (order, help, defaults) and are read back into it.
/// </summary>
public class SettingsCommandTests
{
    internal sealed record Probe
    {
        [CliOption("--name", "A required name.", Required = true)]
        public string Name { get; init; } = string.Empty;

        [CliOption("--count", "A count.")]
        public int Count { get; init; } = 7;

        /// <summary>No option: keeps its initial value.</summary>
        public double Hidden { get; init; } = 0.5;

        [CliOption("--rate", "A rate.")]
        public double Rate { get; init; } = 0.25;

        [CliOption("--flag", "A flag.")]
        public bool Flag { get; init; }

        [CliOption("--limit", "An optional limit.")]
        public int? Limit { get; init; }

        [CliOption("--lengths", "Comma-separated lengths.")]
        public int[] Lengths { get; init; } = [10, 20];

        [CliOption("--models", "Comma-separated models.")]
        public string[] Models { get; init; } = ["a", "b"];

        [CliOption("--columns", "Comma-separated columns.")]
        public IReadOnlyList<string>? Columns { get; init; }
    }

    private static (int Code, Probe? Settings, string Command) Parse(params string[] args)
    {
        Probe? got = null;
        string? commandLine = null;
        var cmd = SettingsCommand.Create<Probe>("probe", "A probe.", (s, line) =>
        {
            got = s;
            commandLine = line;
            return 3;
        }, args);
        int code = cmd.Parse(args).Invoke(new InvocationConfiguration { Output = TextWriter.Null, Error = TextWriter.Null });
        return (code, got, commandLine ?? string.Empty);
    }

    [Fact]
    public void OptionsFollowTheDeclarationOrderWithTheRecordsDefaults()
    {
        var cmd = SettingsCommand.Create<Probe>("probe", "A probe.", (_, _) => 0, []);
        Assert.Equal(["--name", "--count", "--rate", "--flag", "--limit", "--lengths", "--models", "--columns"], cmd.Options.Select(o => o.Name));
        Assert.Equal("A count.", cmd.Options[1].Description);
        Assert.True(cmd.Options[0].Required);

        var help = new StringWriter();
        cmd.Options.Add(new System.CommandLine.Help.HelpOption()); // as the root command gives every command
        Assert.Equal(0, cmd.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = help }));
        string Line(string name) => help.ToString().Split('\n').Single(l => l.TrimStart().StartsWith(name + " ", StringComparison.Ordinal));
        Assert.DoesNotContain("[default", Line("--name"), StringComparison.Ordinal); // required
        Assert.EndsWith("A count. [default: 7]", Line("--count").TrimEnd(), StringComparison.Ordinal);
        Assert.EndsWith("[default: 0.25]", Line("--rate").TrimEnd(), StringComparison.Ordinal);
        Assert.DoesNotContain("[default", Line("--flag"), StringComparison.Ordinal); // a flag shows none
        Assert.DoesNotContain("[default", Line("--limit"), StringComparison.Ordinal); // null
        Assert.EndsWith("[default: 10,20]", Line("--lengths").TrimEnd(), StringComparison.Ordinal);
        Assert.EndsWith("[default: a,b]", Line("--models").TrimEnd(), StringComparison.Ordinal);
        Assert.DoesNotContain("[default", Line("--columns"), StringComparison.Ordinal);
        Assert.DoesNotContain("--hidden", help.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void UnsetOptionsKeepTheRecordsDefaults()
    {
        var (code, s, line) = Parse("--name", "x");
        Assert.Equal(3, code);
        Assert.Equal(new Probe { Name = "x" } with { Lengths = s!.Lengths, Models = s.Models }, s);
        Assert.Equal([10, 20], s.Lengths);
        Assert.Equal(["a", "b"], s.Models);
        Assert.Null(s.Columns);
        Assert.Equal("lstmsharp --name x", line);
    }

    [Fact]
    public void EveryOptionIsReadIntoItsProperty()
    {
        var (_, s, _) = Parse("--name", "n", "--count", "3", "--rate", "1.5", "--flag", "--limit", "9",
            "--lengths", "1, 2,3", "--models", "x,,y ", "--columns", "p,q");
        Assert.Equal(
            new Probe { Name = "n", Count = 3, Rate = 1.5, Flag = true, Limit = 9, Lengths = s!.Lengths, Models = s.Models, Columns = s.Columns },
            s);
        Assert.Equal(0.5, s.Hidden);
        Assert.Equal([1, 2, 3], s.Lengths);
        Assert.Equal(["x", "y"], s.Models);
        Assert.Equal(["p", "q"], s.Columns!);
    }

    [Fact]
    public void AnIntegerListNamesTheOptionAndTheBadValue()
    {
        var cmd = SettingsCommand.Create<Probe>("probe", "A probe.", (_, _) => 0, []);
        var e = Assert.Throws<ArgumentException>(() => cmd.Parse(["--name", "n", "--lengths", "4,x"]).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
        Assert.Equal("--lengths: 'x' is not an integer.", e.Message);
    }

    [Fact]
    public void AMissingRequiredOptionIsAParseError()
    {
        var (code, s, _) = Parse("--count", "2");
        Assert.Equal(1, code);
        Assert.Null(s);
    }
}
