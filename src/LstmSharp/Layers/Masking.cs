using System.Globalization;
using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// Marks padded time steps (Keras <c>Masking</c>): a step whose features ALL equal
/// <see cref="MaskValue"/> is masked. Input <c>[batch, time, features]</c> (any rank ≥ 2; the
/// last axis holds the features); output the same with masked steps set to 0, as Keras does,
/// and the mask <c>[batch, time]</c> (1 = valid) for the layers downstream (LSTM skips masked steps).
/// </summary>
public sealed class Masking : Layer
{
    public Masking(float maskValue = 0f, string? name = null, int[]? inputShape = null)
        : base(name, inputShape)
    {
        if (float.IsNaN(maskValue))
        {
            throw new ArgumentException($"{Describe()}: maskValue must be a number, got NaN (NaN never equals itself, so nothing would be masked).", nameof(maskValue));
        }

        MaskValue = maskValue;
        SupportsMasking = true;
    }

    public float MaskValue { get; }

    public static Masking FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        return new Masking(c["mask_value"] is null ? 0f : c.GetFloat("mask_value"), b.Name, b.InputShape).WithBase(c);
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["mask_value"] = (double)MaskValue;
        return c;
    }

    /// <summary>1 where any feature differs from <see cref="MaskValue"/>, else 0; shape = input shape without the last axis.</summary>
    public override Tensor? ComputeMask(Tensor input, Tensor? mask)
    {
        CheckInput(input);
        int features = input.Dim(-1);
        var m = new Tensor(input.ShapeArray[..^1]);
        var x = input.Span;
        var mv = m.Span;
        for (int r = 0; r < mv.Length; r++)
        {
            mv[r] = x.Slice(r * features, features).ContainsAnyExcept(MaskValue) ? 1f : 0f;
        }

        return m;
    }

    protected override void OnBuild(int[] inputShape)
    {
        if (inputShape.Length == 0)
        {
            throw ShapeError("input [batch, time, features]", [-1]);
        }
    }

    protected override Tensor Call(Tensor input, Tensor? mask, bool training)
    {
        CheckInput(input);
        var keep = ComputeMask(input, mask)!;
        int features = input.Dim(-1);
        var y = new Tensor(input.ShapeArray);
        var k = keep.Span;
        for (int r = 0; r < k.Length; r++)
        {
            if (k[r] != 0f)
            {
                input.Span.Slice(r * features, features).CopyTo(y.Span.Slice(r * features, features));
            }
        }

        Tape.Track("masking", y, input, () =>
        {
            if (!input.RequiresGrad)
            {
                return;
            }

            var dx = input.EnsureGrad().Span;
            var dy = y.Grad!.Span;
            var kk = keep.Span;
            for (int r = 0; r < kk.Length; r++)
            {
                if (kk[r] != 0f)
                {
                    Ops.AddInto(dx.Slice(r * features, features), dy.Slice(r * features, features));
                }
            }
        });
        return y;
    }

    private void CheckInput(Tensor input)
    {
        if (input.Rank < 2)
        {
            throw ShapeError("input [batch, time, features] (rank >= 2)", input.Shape);
        }
    }
}
