namespace LstmSharp.Data;

/// <summary>Download progress of one file; <see cref="TotalBytes"/> is null when the server does not say.</summary>
public readonly record struct DownloadProgress(string FileName, long BytesReceived, long? TotalBytes)
{
    /// <summary>Fraction done in [0, 1], or null when the total is unknown.</summary>
    public double? Fraction => TotalBytes is > 0 ? Math.Min(1.0, (double)BytesReceived / TotalBytes.Value) : null;
}

/// <summary>
/// Progress of a loading stage such as <c>tokenize train</c>. <see cref="Done"/> and
/// <see cref="Total"/> count bytes of the source read, or files for an extracted folder.
/// </summary>
public readonly record struct LoadProgress(string Stage, long Done, long Total)
{
    public double Fraction => Total > 0 ? Math.Min(1.0, (double)Done / Total) : 0;
}
