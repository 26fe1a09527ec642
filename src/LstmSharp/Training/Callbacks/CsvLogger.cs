using LstmSharp.Models;
using System.Globalization;

namespace LstmSharp.Training.Callbacks;

/// <summary>Writes one CSV row per epoch: <c>epoch,loss,accuracy,val_loss,...</c> (Keras CSVLogger).</summary>
public sealed class CsvLogger(string filename, char separator = ',', bool append = false) : Callback
{
    private StreamWriter? writer;
    private string[]? keys;

    public override void OnTrainBegin()
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(filename));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        bool hasHeader = append && File.Exists(filename) && new FileInfo(filename).Length > 0;
        writer = new StreamWriter(filename, append);
        keys = null;
        if (hasHeader)
        {
            using var reader = new StreamReader(filename);
            keys = reader.ReadLine()?.Split(separator).Skip(1).ToArray();
        }
    }

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (writer is null)
        {
            return;
        }

        if (keys is null)
        {
            keys = logs.Keys.Order(StringComparer.Ordinal).ToArray();
            writer.WriteLine(string.Join(separator, new[] { "epoch" }.Concat(keys)));
        }

        var fields = new List<string> { epoch.ToString(CultureInfo.InvariantCulture) };
        fields.AddRange(keys.Select(k => logs.TryGetValue(k, out double v) ? v.ToString("R", CultureInfo.InvariantCulture) : "NA"));
        writer.WriteLine(string.Join(separator, fields));
        writer.Flush();
    }

    public override void OnTrainEnd()
    {
        writer?.Dispose();
        writer = null;
    }
}
