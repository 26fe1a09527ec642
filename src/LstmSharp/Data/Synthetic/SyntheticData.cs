using LstmSharp.Tensors;

namespace LstmSharp.Data.Synthetic;

/// <summary>Inputs <see cref="X"/> (<c>[samples, time, features]</c>) and targets <see cref="Y"/> of a synthetic task.</summary>
public sealed record SyntheticData(Tensor X, Tensor Y)
{
    public int Samples => X.Dim(0);

    public int TimeSteps => X.Dim(1);

    public int Features => X.Dim(2);
}

internal static class SyntheticChecks
{
    public static void Positive(string task, string argument, int value, int minimum)
    {
        if (value < minimum)
        {
            throw new ArgumentOutOfRangeException(argument, value, $"{task}: {argument} must be at least {minimum}, got {value}.");
        }
    }

    public static void FitsInTensor(string task, long elements)
    {
        if (elements > Array.MaxLength)
        {
            throw new ArgumentException($"{task}: {elements} input elements do not fit in one tensor; generate fewer samples at a time.");
        }
    }
}
