using LstmSharp.Autograd;
using TorchSharp;
using static TorchSharp.torch;
using LsTensor = LstmSharp.Tensors.Tensor;

namespace LstmSharp.Bench;

/// <summary>
/// <c>conv1d-cnn-lstm</c> (also <c>bench conv</c>): one Conv1D forward + backward on the keras-io
/// CNN-LSTM shapes — batch 30, 100 steps, 128 channels, 64 filters, width 5, "valid", with bias —
/// LstmSharp's <see cref="Ops.Conv1D"/> on a tape (input <c>[30, 100, 128]</c>, channels last)
/// against libtorch's <c>nn.Conv1d</c> (input <c>[30, 128, 100]</c>, its native channels-first
/// layout); both compute the gradients of the input, the kernel and the bias from the same dy.
/// </summary>
internal static partial class RnnBenchmark
{
    private const int ConvBatch = 30, ConvSteps = 100, ConvChannels = 128, ConvFilters = 64, ConvWidth = 5;

    private static Side OursConv()
    {
        var rng = new Random(7);
        LsTensor Rand(params int[] shape)
        {
            var t = new LsTensor(shape);
            for (int i = 0; i < t.Length; i++)
            {
                t.Span[i] = (rng.NextSingle() * 2) - 1;
            }

            return t;
        }

        var x = Rand(ConvBatch, ConvSteps, ConvChannels);
        var kernel = Rand(ConvWidth, ConvChannels, ConvFilters);
        var bias = Rand(ConvFilters);
        var dy = Rand(ConvBatch, ConvSteps - ConvWidth + 1, ConvFilters);
        x.RequiresGrad = kernel.RequiresGrad = bias.RequiresGrad = true;
        return new Side(
            () =>
            {
                x.Grad?.Clear();
                kernel.Grad?.Clear();
                bias.Grad?.Clear();
                using var tape = Tape.Record();
                var y = Ops.Conv1D(x, kernel, bias);
                tape.Backward(y, dy);
            },
            "Ops.Conv1D (one Sgemm per tap) forward + Tape.Backward (dx, dkernel, dbias), x [30, 100, 128]",
            10);
    }

    private static Side TheirsConv()
    {
        var conv = nn.Conv1d(ConvChannels, ConvFilters, ConvWidth);
        var x = torch.rand([ConvBatch, ConvChannels, ConvSteps]).mul_(2).sub_(1).requires_grad_(true);
        var dy = torch.rand([ConvBatch, ConvFilters, ConvSteps - ConvWidth + 1]).mul_(2).sub_(1);
        return new Side(
            () =>
            {
                using var scope = torch.NewDisposeScope();
                conv.zero_grad();
                x.grad?.zero_();
                var y = conv.call(x);
                y.backward([dy]);
            },
            "nn.Conv1d(128, 64, 5) forward + backward (dx, dweight, dbias), x [30, 128, 100]",
            10);
    }
}
