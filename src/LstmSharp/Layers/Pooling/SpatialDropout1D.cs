using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// Keras <c>SpatialDropout1D</c>: in training whole channels of each sequence are dropped
/// (zero at every step, probability <see cref="DropoutBase.Rate"/>), the rest scaled by 1/(1 − rate);
/// the identity at inference. Input <c>[batch, steps, channels]</c>; masks pass through.
/// </summary>
public sealed class SpatialDropout1D : DropoutBase
{
    /// <param name="rate">Fraction of channels to drop, in [0, 1).</param>
    /// <param name="seed">Seed of the mask generator; null forks one from <see cref="Layer.SetRandomSeed"/> or the global generator.</param>
    /// <param name="name">Layer name; null = automatic ("spatial_dropout1d", ...).</param>
    /// <param name="inputShape">Per-sample input shape <c>[steps, channels]</c>.</param>
    public SpatialDropout1D(float rate, int? seed = null, string? name = null, int[]? inputShape = null)
        : base(rate, seed, name, inputShape)
    {
    }

    public static SpatialDropout1D FromConfig(JsonObject c)
    {
        var (rate, seed, name, inputShape) = ReadConfig(c);
        return new SpatialDropout1D(rate, seed, name, inputShape).WithBase(c);
    }

    protected override void OnBuild(int[] inputShape) => ExpectStepsAndChannels(inputShape);

    protected override Tensor Call(Tensor input, Tensor? mask, bool training)
    {
        if (input.Rank != 3)
        {
            throw ShapeError("[*, steps, channels] (rank 3)", input.Shape);
        }

        return Ops.SpatialDropout1D(input, Rate, MaskRandom, training);
    }
}
