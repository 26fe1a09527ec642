using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// What every recurrent cell's layout has: kernel W [inputSize, G·units], recurrent kernel
/// U [H, G·units] (H = <see cref="OutputSize"/>) and an optional bias, with G column blocks
/// of <c>units</c> each; a cell's layout (<see cref="LstmLayout"/>, <see cref="GruLayout"/>,
/// <see cref="SimpleRnnLayout"/>) adds its options and further parameters.
/// </summary>
public abstract class RecurrentLayout
{
    private readonly int biasRows;

    /// <summary>
    /// Checks the sizes (errors name <paramref name="owner"/>) and that G·units fits (<see cref="LayoutLimits"/>).
    /// The bias is [G·units], or [<paramref name="biasRows"/>, G·units] for a cell with more than one bias row.
    /// </summary>
    private protected RecurrentLayout(string owner, int inputSize, int units, bool useBias, int gateCount, int biasRows = 1)
    {
        if (inputSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSize), $"{owner}: inputSize must be a positive integer, got {inputSize}.");
        }

        if (units <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(units), $"{owner}: units must be a positive integer, got {units}.");
        }

        GateWidth = LayoutLimits.GateWidth(owner, gateCount, units, inputSize);
        GateCount = gateCount;
        InputSize = inputSize;
        Units = units;
        UseBias = useBias;
        this.biasRows = biasRows;
    }

    public int InputSize { get; }

    public int Units { get; }

    public bool UseBias { get; }

    /// <summary>G: the number of column blocks of W, U and b.</summary>
    public int GateCount { get; }

    /// <summary>G·units: the width of W, U and b.</summary>
    public int GateWidth { get; }

    /// <summary>Size of h (the output and the recurrent input): units, unless the cell projects h.</summary>
    public virtual int OutputSize => Units;

    public int[] KernelShape => [InputSize, GateWidth];

    public int[] RecurrentKernelShape => [OutputSize, GateWidth];

    /// <summary>Shape of the bias, [G·units] or [rows, G·units] (a GRU with reset_after), or null when <see cref="UseBias"/> is false.</summary>
    public int[]? BiasShape => !UseBias ? null : biasRows == 1 ? [GateWidth] : [biasRows, GateWidth];

    /// <summary>Number of floats in the bias (0 without).</summary>
    public int BiasLength => UseBias ? biasRows * GateWidth : 0;

    /// <summary>Named parameter shapes in Keras order: kernel, recurrent_kernel, bias, then the cell's own (absent ones left out).</summary>
    public IReadOnlyList<(string Name, int[] Shape)> ParameterShapes
    {
        get
        {
            var list = new List<(string, int[])> { ("kernel", KernelShape), ("recurrent_kernel", RecurrentKernelShape) };
            if (BiasShape is { } b)
            {
                list.Add(("bias", b));
            }

            AddCellShapes(list);
            return list;
        }
    }

    /// <summary>Number of trainable floats: every shape of <see cref="ParameterShapes"/>.</summary>
    public long ParameterCount => ParameterShapes.Sum(p => p.Shape.Aggregate(1L, (n, d) => n * d));

    /// <summary>Appends the cell's parameters beyond W, U and b to <see cref="ParameterShapes"/>.</summary>
    private protected virtual void AddCellShapes(List<(string, int[])> shapes)
    {
    }

    /// <summary>Refuses a value outside <see cref="ActivationKind"/> for the option <paramref name="option"/>.</summary>
    private protected static ActivationKind Checked(string owner, string option, ActivationKind kind) =>
        Enum.IsDefined(kind) ? kind : throw new ArgumentException($"{owner}: {option}={(int)kind} is not an ActivationKind.", option);
}
