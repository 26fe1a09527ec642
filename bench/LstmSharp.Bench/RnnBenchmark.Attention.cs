using LstmSharp.Autograd;
using LstmSharp.Layers;
using TorchSharp;
using static TorchSharp.torch;
using LsTensor = LstmSharp.Tensors.Tensor;

namespace LstmSharp.Bench;

/// <summary>
/// <c>attention-seq2seq</c> (also <c>bench attention</c>): one Keras-style dot-product
/// <see cref="Attention"/> with <c>use_scale</c>, forward + backward, on the shapes of
/// <c>experiment seq2seq-attention</c> — batch 64, 41 decoder steps (query), 40 encoder steps
/// (value = key), 128 units — against libtorch's <c>bmm → softmax → bmm</c> with the same learned
/// scalar scale; both compute the gradients of query, value and scale from the same dy. Beside
/// it, <c>lstm-seq2seq-decoder</c> times an LSTM(128) layer forward + backward on the decoder's
/// shape (batch 64, 41 steps, 32 inputs), LstmSharp against <c>nn.LSTM</c>, so the attention's
/// cost reads against the recurrent layer it sits on.
/// </summary>
internal static partial class RnnBenchmark
{
    private const int AttBatch = 64, AttQuery = 41, AttValue = 40, AttUnits = 128, AttEmbed = 32;

    private static LsTensor Rand(Random rng, params int[] shape)
    {
        var t = new LsTensor(shape);
        for (int i = 0; i < t.Length; i++)
        {
            t.Span[i] = (rng.NextSingle() * 2) - 1;
        }

        return t;
    }

    private static Side OursAttention()
    {
        var rng = new Random(11);
        var layer = new Attention(useScale: true);
        var q = Rand(rng, AttBatch, AttQuery, AttUnits);
        var v = Rand(rng, AttBatch, AttValue, AttUnits);
        var dy = Rand(rng, AttBatch, AttQuery, AttUnits);
        layer.Build([q.ShapeArray[1..], v.ShapeArray[1..]]);
        q.RequiresGrad = v.RequiresGrad = true;
        return new Side(
            () =>
            {
                q.Grad?.Clear();
                v.Grad?.Clear();
                layer.Scale!.Value.Grad?.Clear();
                using var tape = Tape.Record();
                var y = layer.Apply([q, v], null, true, out _)[0];
                tape.Backward(y, dy);
            },
            "Attention(use_scale) layer forward + Tape.Backward (dq, dv, dscale), q [64, 41, 128], v [64, 40, 128]");
    }

    private static Side TheirsAttention()
    {
        var q = torch.rand([AttBatch, AttQuery, AttUnits]).mul_(2).sub_(1).requires_grad_(true);
        var v = torch.rand([AttBatch, AttValue, AttUnits]).mul_(2).sub_(1).requires_grad_(true);
        var scale = torch.ones([]).requires_grad_(true);
        var dy = torch.rand([AttBatch, AttQuery, AttUnits]).mul_(2).sub_(1);
        return new Side(
            () =>
            {
                using var scope = torch.NewDisposeScope();
                q.grad?.zero_();
                v.grad?.zero_();
                scale.grad?.zero_();
                var scores = torch.bmm(q, v.transpose(1, 2)).mul(scale);
                var y = torch.bmm(scores.softmax(-1), v);
                y.backward([dy]);
            },
            "bmm(q, vᵀ)·scale → softmax(-1) → bmm(·, v) forward + backward (dq, dv, dscale), q [64, 41, 128], v [64, 40, 128]");
    }

    private static Side OursDecoderLstm()
    {
        var rng = new Random(12);
        var layer = new LstmSharp.Recurrent.LSTM(AttUnits, returnSequences: true);
        var x = Rand(rng, AttBatch, AttQuery, AttEmbed);
        var dy = Rand(rng, AttBatch, AttQuery, AttUnits);
        layer.Build(x.ShapeArray[1..]);
        x.RequiresGrad = true;
        return new Side(
            () =>
            {
                x.Grad?.Clear();
                foreach (var p in layer.Parameters)
                {
                    p.Value.Grad?.Clear();
                }

                using var tape = Tape.Record();
                var y = layer.Apply(x, null, true, out _);
                tape.Backward(y, dy);
            },
            "LSTM(128, return_sequences) layer forward + Tape.Backward (dx, dW, dU, db), x [64, 41, 32]");
    }

    private static Side TheirsDecoderLstm()
    {
        var lstm = nn.LSTM(AttEmbed, AttUnits, batchFirst: true);
        var x = torch.rand([AttBatch, AttQuery, AttEmbed]).mul_(2).sub_(1).requires_grad_(true);
        var dy = torch.rand([AttBatch, AttQuery, AttUnits]).mul_(2).sub_(1);
        return new Side(
            () =>
            {
                using var scope = torch.NewDisposeScope();
                lstm.zero_grad();
                x.grad?.zero_();
                var (y, _, _) = lstm.call(x);
                y.backward([dy]);
            },
            "nn.LSTM(32, 128, batch_first) forward + backward (dx, dweights), x [64, 41, 32]");
    }
}
