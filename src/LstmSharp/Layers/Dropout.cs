using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// Inverted dropout: in training each input unit is zeroed with probability <see cref="DropoutBase.Rate"/>
/// and survivors are scaled by 1/(1 − rate); at inference the layer is the identity. With a
/// <see cref="DropoutBase.Seed"/> the sequence of masks is reproducible.
/// </summary>
public sealed class Dropout : DropoutBase
{
    /// <param name="rate">Fraction of units to drop, in [0, 1). Out-of-range values throw (no silent clamping).</param>
    /// <param name="seed">Seed of the mask generator; null forks one from <see cref="Layer.SetRandomSeed"/> or the global generator.</param>
    /// <param name="name">Layer name; null = automatic.</param>
    /// <param name="inputShape">Per-sample input shape (batch excluded), for the first layer of a model.</param>
    public Dropout(float rate, int? seed = null, string? name = null, int[]? inputShape = null)
        : base(rate, seed, name, inputShape)
    {
    }

    public static Dropout FromConfig(JsonObject c)
    {
        var (rate, seed, name, inputShape) = ReadConfig(c);
        return new Dropout(rate, seed, name, inputShape).WithBase(c);
    }

    protected override Tensor Call(Tensor input, Tensor? mask, bool training) =>
        training && Rate > 0 && SampleRandom.Active
            ? Ops.Dropout(input, SampleRandom.DropoutMask(SampleStreamOrName, Seed, input.Length, Rate))
            : Ops.Dropout(input, Rate, MaskRandom, training);
}
