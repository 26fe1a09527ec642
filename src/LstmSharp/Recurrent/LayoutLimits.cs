namespace LstmSharp.Recurrent;

/// <summary>
/// The size check every recurrent layout makes before anything is allocated: G·units columns
/// must fit an int and W [inputSize, G·units], U [units, G·units] (and the LSTM's gate
/// recurrence) an array, so a huge <c>units</c> (from code or a hostile model file) fails here,
/// by name, not as an overflow into a negative shape or an <see cref="OutOfMemoryException"/>.
/// </summary>
internal static class LayoutLimits
{
    /// <summary>G·<paramref name="units"/>, checked.</summary>
    public static int GateWidth(string owner, int gates, int units, int inputSize)
    {
        Int128 width = (Int128)gates * units;
        Int128 largest = width * Math.Max(units, inputSize);
        if (width > int.MaxValue || largest > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(units),
                $"{owner}: units={units} on {inputSize} inputs needs W [{inputSize}, {width}] and U [{units}, {width}]; one weight holds at most {Array.MaxLength} values.");
        }

        return (int)width;
    }

    /// <summary>A square [n, n] weight with n = <paramref name="blocks"/>·<paramref name="units"/>, checked.</summary>
    public static void Square(string owner, string weight, int blocks, int units)
    {
        Int128 n = (Int128)blocks * units;
        if (n * n > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(units), $"{owner}: units={units} needs {weight} [{n}, {n}]; one weight holds at most {Array.MaxLength} values.");
        }
    }
}
