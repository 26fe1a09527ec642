namespace LstmSharp.Data;

/// <summary>Download progress of one file; <see cref="TotalBytes"/> is null when the server does not say.</summary>
public readonly record struct DownloadProgress(string FileName, long BytesReceived, long? TotalBytes)
{
    /// <summary>Fraction done in [0, 1], or null when the total is unknown.</summary>
    public double? Fraction => TotalBytes is > 0 ? Math.Min(1.0, (double)BytesReceived / TotalBytes.Value) : null;
}

/// <summary>
/// Progress of a loading stage such as <c>tokenize aclImdb_v1.tar.gz</c>. <see cref="Done"/> and
/// <see cref="Total"/> count <see cref="Unit"/>: <c>"bytes"</c> of the source read, or <c>"files"</c> of an extracted folder.
/// </summary>
public readonly record struct LoadProgress(string Stage, long Done, long Total)
{
    /// <summary>What <see cref="Done"/> and <see cref="Total"/> count: "bytes" (the default) or "files".</summary>
    public string Unit { get; init; } = "bytes";

    public double Fraction => Total > 0 ? Math.Min(1.0, (double)Done / Total) : 0;

    /// <summary>"12.3/80.2 MB read" for bytes, "12,288/50,000 files" otherwise.</summary>
    public string Describe() => Unit == "bytes"
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Done / 1e6:0.0}/{Total / 1e6:0.0} MB read")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Done:N0}/{Total:N0} {Unit}");
}
