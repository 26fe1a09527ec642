using System.CommandLine;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace LstmSharp.Cli;

/// <summary>
/// Marks a property of an experiment's settings record as a command-line option. The option's
/// name and help are given here, its default is the property's initial value (none is shown for
/// a required option, a flag or a null default); options are listed in the order the properties
/// are declared. A property of type <c>int[]</c>, <c>string[]</c> or <c>IReadOnlyList&lt;string&gt;</c>
/// is one comma-separated value.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class CliOptionAttribute(string name, string description, [CallerLineNumber] int line = 0) : Attribute
{
    public string Name { get; } = name;

    public string Description { get; } = description;

    public bool Required { get; set; }

    /// <summary>Where the property is declared (the help lists the options in this order).</summary>
    public int Line { get; } = line;
}

/// <summary>Help texts that several commands share word for word.</summary>
internal static class CliHelp
{
    public const string Epochs = "Training epochs.";
    public const string Batch = "Batch size.";
    public const string AdamLearningRate = "Adam learning rate.";
    public const string ClipNorm = "Adam clipnorm (0 = off).";
    public const string RecurrentUnits = "Recurrent units.";
    public const string LstmUnits = "LSTM units.";
    public const string EncoderDecoderUnits = "Units of the encoder and decoder LSTMs.";
    public const string NumWords = "Vocabulary: the most frequent words kept.";
    public const string Maxlen = "Reviews padded/truncated to this many words.";
    public const string Embedding = "Embedding size.";
    public const string ResultsFolder = "Folder for results.md, history.csv, plots and trained models.";
    public const string Data = "Data folder (default: $LSTMSHARP_DATA, else ~/.lstmsharp/datasets; missing files are downloaded).";
    public const string GlobalSeed = "Global seed (weights, shuffling, dropout).";
    public const string Seed = "Global seed.";
    public const string Verbose = "0 silent, 1 progress bar per epoch, 2 one line per epoch.";
}

/// <summary>
/// An experiment's command built from its settings record: one option per <see cref="CliOptionAttribute"/>
/// property, and the parsed command line read back into a new record, so an option is stated once,
/// at the setting it fills.
/// </summary>
internal static class SettingsCommand
{
    /// <summary>The command <paramref name="name"/>; its action runs <paramref name="run"/> on the settings and the command line as the user typed it.</summary>
    public static Command Create<TSettings>(string name, string description, Func<TSettings, string, int> run, string[] args)
        where TSettings : class
    {
        var bindings = Bindings<TSettings>();
        var cmd = new Command(name, description);
        foreach (var b in bindings)
        {
            cmd.Options.Add(b.Option);
        }

        cmd.SetAction(r =>
        {
            var settings = Activator.CreateInstance<TSettings>();
            foreach (var b in bindings)
            {
                b.Property.SetValue(settings, b.Read(r));
            }

            return run(settings, Program.CommandLineOf(args));
        });
        return cmd;
    }

    private sealed record Binding(PropertyInfo Property, Option Option, Func<ParseResult, object?> Read);

    private static List<Binding> Bindings<TSettings>()
    {
        var defaults = Activator.CreateInstance<TSettings>();
        return typeof(TSettings).GetProperties()
            .Select(p => (Property: p, Cli: p.GetCustomAttribute<CliOptionAttribute>()))
            .Where(p => p.Cli is not null)
            .OrderBy(p => p.Cli!.Line)
            .Select(p => Bind(p.Property, p.Cli!, p.Property.GetValue(defaults)))
            .ToList();
    }

    private static Binding Bind(PropertyInfo p, CliOptionAttribute cli, object? defaultValue)
    {
        Type type = p.PropertyType;
        if (type == typeof(int[]))
        {
            var option = Typed(cli, defaultValue is int[] values ? string.Join(',', values) : null);
            return new(p, option, r => Split(r.GetValue(option))?.Select(v => ParseInt(cli.Name, v)).ToArray());
        }

        if (type == typeof(string[]) || type == typeof(IReadOnlyList<string>))
        {
            var option = Typed(cli, defaultValue is IEnumerable<string> values ? string.Join(',', values) : null);
            return new(p, option, r => Split(r.GetValue(option)));
        }

        return (Binding)typeof(SettingsCommand).GetMethod(nameof(BindValue), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(type).Invoke(null, [p, cli, defaultValue])!;
    }

    private static Binding BindValue<T>(PropertyInfo p, CliOptionAttribute cli, object? defaultValue)
    {
        var option = Typed(cli, (T?)defaultValue);
        return new(p, option, r => r.GetValue(option));
    }

    private static Option<T> Typed<T>(CliOptionAttribute cli, T? defaultValue)
    {
        var option = new Option<T>(cli.Name) { Description = cli.Description, Required = cli.Required };
        if (!cli.Required && defaultValue is not null && typeof(T) != typeof(bool))
        {
            option.DefaultValueFactory = _ => defaultValue;
        }

        return option;
    }

    private static string[]? Split(string? list) => list?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static int ParseInt(string option, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)
            ? v
            : throw new ArgumentException($"{option}: '{value}' is not an integer.");
}
