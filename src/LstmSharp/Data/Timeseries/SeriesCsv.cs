using System.Globalization;
using nietras.SeparatedValues;
using LstmSharp.Tensors;

namespace LstmSharp.Data;

/// <summary>How <see cref="SeriesCsv.Read(string, SeriesCsvOptions?)"/> reads a series.</summary>
public sealed record SeriesCsvOptions
{
    /// <summary>The date/time column (null: none; rows are steps in file order).</summary>
    public string? TimeColumn { get; init; }

    /// <summary>Numeric columns to read, in this order (null: every column but the time column).</summary>
    public IReadOnlyList<string>? Columns { get; init; }

    /// <summary>A .NET exact date format (e.g. <c>dd.MM.yyyy</c>); null tries the common forms (see <see cref="SeriesCsv"/>).</summary>
    public string? TimeFormat { get; init; }

    /// <summary>Fill missing cells and missing time steps by linear interpolation (reported in <see cref="SeriesTable.Repairs"/>) instead of failing.</summary>
    public bool Interpolate { get; init; }

    /// <summary>Column separator.</summary>
    public char Separator { get; init; } = ',';
}

/// <summary>A series read from CSV: one row per time step, <see cref="Columns"/> as features.</summary>
public sealed class SeriesTable
{
    internal SeriesTable(string source, string[] columns, float[] values, DateTime[]? times, string? timeStep, string[] repairs)
    {
        Source = source;
        Columns = columns;
        Values = new Tensor(values, values.Length / columns.Length, columns.Length);
        Times = times;
        TimeStep = timeStep;
        Repairs = repairs;
    }

    public string Source { get; }

    public IReadOnlyList<string> Columns { get; }

    /// <summary>The values, <c>[time, columns]</c>.</summary>
    public Tensor Values { get; }

    /// <summary>The time of each row, when a time column was read.</summary>
    public IReadOnlyList<DateTime>? Times { get; }

    /// <summary>The regular step found ("1 month", "1 day", ...), when a time column was read.</summary>
    public string? TimeStep { get; }

    /// <summary>What <see cref="SeriesCsvOptions.Interpolate"/> filled in, one line each ("line 12, column 'wind': interpolated").</summary>
    public IReadOnlyList<string> Repairs { get; }

    public int Length => Values.Dim(0);

    /// <summary>One column's values.</summary>
    public float[] Column(string name)
    {
        int c = Array.IndexOf((string[])Columns, name);
        if (c < 0)
        {
            throw new ArgumentException($"{Source}: no column '{name}'; columns: {string.Join(", ", Columns)}.", nameof(name));
        }

        var v = new float[Length];
        for (int t = 0; t < v.Length; t++)
        {
            v[t] = Values[t, c];
        }

        return v;
    }
}

/// <summary>
/// Reads numeric time series from CSV (RFC 4180 via Sep): a header row, numbers in the
/// invariant culture (<c>1234.5</c>, <c>1e-3</c>), an optional date/time column in ISO 8601
/// (<c>2013-05-01</c>, <c>2013-05-01T12:30:00Z</c>, <c>2013-05</c>), <c>yyyy/MM/dd[ HH:mm[:ss]]</c>,
/// compact <c>yyyyMMdd[HHmm]</c>, a year <c>yyyy</c>, or the <see cref="SeriesCsvOptions.TimeFormat"/>.
/// The form is fixed by the first row. Every problem — a ragged row, a non-numeric cell, a
/// missing value, time going backwards, an irregular step or missing steps — is a
/// <see cref="InvalidDataException"/> naming the file, line and column; with
/// <see cref="SeriesCsvOptions.Interpolate"/> missing values and whole missing steps are filled
/// linearly instead (and listed), the rest still fails.
/// </summary>
public static class SeriesCsv
{
    private static readonly string[] TimeFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd", "yyyy-MM",
        "yyyy/MM/dd HH:mm:ss", "yyyy/MM/dd HH:mm", "yyyy/MM/dd", "yyyyMMddHHmmss", "yyyyMMddHHmm", "yyyyMMdd", "yyyy",
    ];

    public static SeriesTable Read(string path, SeriesCsvOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"{path}: file not found.");
        }

        using var text = File.OpenText(path);
        return Read(text, path, options);
    }

    public static SeriesTable Read(TextReader text, string source, SeriesCsvOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        options ??= new SeriesCsvOptions();
        try
        {
            using var reader = Sep.Reader(o => o with { Sep = new Sep(options.Separator), Unescape = true, Trim = SepTrim.All, DisableColCountCheck = true }).From(text);
            if (reader.Header.ColNames.Count == 0)
            {
                throw new InvalidDataException($"{source}: empty file (expected a header row and at least two rows of values).");
            }

            var header = reader.Header.ColNames.ToArray();
            int timeCol = -1;
            if (options.TimeColumn is { } tc)
            {
                timeCol = Array.IndexOf(header, tc);
                if (timeCol < 0)
                {
                    throw new InvalidDataException($"{source}: no time column '{tc}'; the header has {string.Join(", ", header)}.");
                }
            }

            var names = options.Columns?.ToArray() ?? header.Where((_, i) => i != timeCol).ToArray();
            if (names.Length == 0)
            {
                throw new InvalidDataException($"{source}: no value columns to read (header: {string.Join(", ", header)}).");
            }

            var cols = names.Select(n => Array.IndexOf(header, n) is int i and >= 0 ? i : throw new InvalidDataException($"{source}: no column '{n}'; the header has {string.Join(", ", header)}.")).ToArray();
            var values = new List<float>();
            var lines = new List<int>();
            var times = timeCol >= 0 ? new List<DateTime>() : null;
            string? format = options.TimeFormat;
            var missing = new List<(int Row, int Col)>();
            foreach (var row in reader)
            {
                int line = row.LineNumberFrom;
                if (row.ColCount != header.Length)
                {
                    throw new InvalidDataException($"{source}:{line}: {row.ColCount} columns, the header has {header.Length}.");
                }

                if (times is not null)
                {
                    var cell = row[timeCol].Span;
                    format ??= DetectFormat(cell, source, line, header[timeCol]);
                    if (!DateTime.TryParseExact(cell, format, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time))
                    {
                        throw new InvalidDataException($"{source}:{line}, column '{header[timeCol]}': '{cell}' is not a time in the form {format} (the form of the first row).");
                    }

                    times.Add(time);
                }

                for (int k = 0; k < cols.Length; k++)
                {
                    var cell = row[cols[k]].Span;
                    if (cell.IsEmpty || cell.Equals("NA", StringComparison.OrdinalIgnoreCase) || cell.Equals("NaN", StringComparison.OrdinalIgnoreCase))
                    {
                        missing.Add((lines.Count, k));
                        values.Add(float.NaN);
                    }
                    else if (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) && Math.Abs(v) <= float.MaxValue)
                    {
                        values.Add((float)v);
                    }
                    else
                    {
                        throw new InvalidDataException($"{source}:{line}, column '{names[k]}': '{cell}' is not a number (expected invariant-culture numbers such as 12.5 or 1e-3).");
                    }
                }

                lines.Add(line);
            }

            if (lines.Count < 2)
            {
                throw new InvalidDataException($"{source}: {lines.Count} rows of values; a series needs at least 2.");
            }

            var repairs = new List<string>();
            var data = values.ToArray();
            string? step = null;
            if (times is not null)
            {
                (data, lines, times, step) = CheckTimeSteps(data, names.Length, lines, times, source, header[timeCol], options.Interpolate, repairs, missing);
            }

            if (missing.Count > 0)
            {
                if (!options.Interpolate)
                {
                    var (r, c) = missing[0];
                    throw new InvalidDataException($"{source}:{lines[r]}, column '{names[c]}': missing value ({missing.Count} missing in all; pass interpolate / --interpolate to fill them linearly).");
                }

                FillLinearly(data, names, lines, source, repairs);
            }

            return new SeriesTable(source, names, data, times?.ToArray(), step, [.. repairs]);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(source, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{source}: {e.Message}", e);
        }
        catch (ArgumentException e) when (e.Source == "Sep")
        {
            // Sep rejects a header with duplicate column names this way.
            throw new InvalidDataException($"{source}:1: {e.Message}", e);
        }
    }

    private static string DetectFormat(ReadOnlySpan<char> cell, string source, int line, string column)
    {
        foreach (var f in TimeFormats)
        {
            if (DateTime.TryParseExact(cell, f, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out _))
            {
                return f;
            }
        }

        throw new InvalidDataException($"{source}:{line}, column '{column}': '{cell}' is not a recognised time (ISO 8601, yyyy/MM/dd[ HH:mm], yyyyMMdd, yyyy); give its form with --time-format.");
    }

    /// <summary>
    /// Finds the regular step (the most common difference, in months when every time is at the
    /// start of a month, else as a time span) and checks every row against it.
    /// </summary>
    private static (float[] Data, List<int> Lines, List<DateTime> Times, string Step) CheckTimeSteps(
        float[] data, int width, List<int> lines, List<DateTime> times, string source, string column, bool interpolate, List<string> repairs, List<(int Row, int Col)> missing)
    {
        bool monthly = times.All(t => t.Day == 1 && t.TimeOfDay == TimeSpan.Zero);
        long Diff(int i) => monthly
            ? ((times[i].Year - times[i - 1].Year) * 12L) + times[i].Month - times[i - 1].Month
            : (times[i] - times[i - 1]).Ticks;
        for (int i = 1; i < times.Count; i++)
        {
            if (Diff(i) <= 0)
            {
                throw new InvalidDataException($"{source}:{lines[i]}, column '{column}': time {times[i]:O} does not come after {times[i - 1]:O} (line {lines[i - 1]}); sort the file by time.");
            }
        }

        long step = Enumerable.Range(1, times.Count - 1).Select(Diff).GroupBy(d => d).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
        string stepText = monthly ? (step % 12 == 0 ? $"{step / 12} year" : $"{step} month") : new TimeSpan(step).ToString("c", CultureInfo.InvariantCulture);
        var outData = new List<float>(data.Length);
        var outLines = new List<int>(lines.Count);
        var outTimes = new List<DateTime>(times.Count);
        var newMissing = new List<(int Row, int Col)>();
        int m = 0;
        for (int i = 0; i < times.Count; i++)
        {
            if (i > 0)
            {
                long d = Diff(i);
                if (d % step != 0)
                {
                    throw new InvalidDataException($"{source}:{lines[i]}, column '{column}': irregular time step: {times[i - 1]:O} to {times[i]:O} is not a multiple of the series' step ({stepText}).");
                }

                long gap = (d / step) - 1;
                if (gap > 0 && !interpolate)
                {
                    throw new InvalidDataException($"{source}:{lines[i]}, column '{column}': {gap} missing time step{(gap == 1 ? string.Empty : "s")} between {times[i - 1]:O} and {times[i]:O} (step {stepText}); pass interpolate / --interpolate to fill them linearly.");
                }

                for (long g = 1; g <= gap; g++)
                {
                    outTimes.Add(monthly ? times[i - 1].AddMonths((int)(g * step)) : times[i - 1].AddTicks(g * step));
                    outLines.Add(lines[i]);
                    for (int c = 0; c < width; c++)
                    {
                        newMissing.Add((outLines.Count - 1, c));
                        outData.Add(float.NaN);
                    }
                }

                if (gap > 0)
                {
                    repairs.Add($"line {lines[i]}: {gap} missing time step{(gap == 1 ? string.Empty : "s")} before {times[i]:O} inserted");
                }
            }

            while (m < missing.Count && missing[m].Row == i)
            {
                newMissing.Add((outLines.Count, missing[m].Col));
                m++;
            }

            outTimes.Add(times[i]);
            outLines.Add(lines[i]);
            outData.AddRange(data.AsSpan(i * width, width));
        }

        missing.Clear();
        missing.AddRange(newMissing);
        return (outData.ToArray(), outLines, outTimes, stepText);
    }

    private static void FillLinearly(float[] data, string[] names, List<int> lines, string source, List<string> repairs)
    {
        int width = names.Length;
        int rows = data.Length / width;
        for (int c = 0; c < width; c++)
        {
            int prev = -1;
            for (int r = 0; r <= rows; r++)
            {
                if (r < rows && float.IsNaN(data[(r * width) + c]))
                {
                    continue;
                }

                // Rows (prev, r) are missing: interpolate between the known neighbours, or copy the one that exists at an edge.
                if (r - prev > 1)
                {
                    if (prev < 0 && r == rows)
                    {
                        throw new InvalidDataException($"{source}: column '{names[c]}' has no values at all.");
                    }

                    for (int k = prev + 1; k < r; k++)
                    {
                        float v = prev < 0 ? data[(r * width) + c]
                            : r == rows ? data[(prev * width) + c]
                            : data[(prev * width) + c] + ((data[(r * width) + c] - data[(prev * width) + c]) * (k - prev) / (r - prev));
                        data[(k * width) + c] = v;
                    }

                    repairs.Add($"line {lines[prev + 1]}{(r - prev > 2 ? $"-{lines[r - 1]}" : string.Empty)}, column '{names[c]}': {r - prev - 1} missing value{(r - prev > 2 ? "s" : string.Empty)} interpolated");
                }

                prev = r;
            }
        }
    }
}
