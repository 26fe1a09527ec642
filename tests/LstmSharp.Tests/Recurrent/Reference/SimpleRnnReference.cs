using LstmSharp.Kernels;

namespace LstmSharp.Tests.Recurrent.Reference;

/// <summary>
/// Slow, plain double-precision SimpleRNN written straight from the equation
/// <c>h_t = act((x_t ∘ m_x) W + (h_{t-1} ∘ m_h) U + b)</c>; the oracle for <c>SimpleRnnKernel</c>.
/// Layouts match the kernel: W [input, units], U [units, units], b [units] (or null).
/// </summary>
internal static class SimpleRnnReference
{
    public static RefOutputs Forward(RefSequence s, double[] w, double[] u, double[]? b, ActivationKind activation)
    {
        int n = s.Input, units = s.Units;
        return RefDriver.Run(s, (xd, hPrev, hd) =>
        {
            var h = new double[units];
            for (int j = 0; j < units; j++)
            {
                double a = b is null ? 0 : b[j];
                for (int i = 0; i < n; i++)
                {
                    a += xd[i] * w[(i * units) + j];
                }

                for (int k = 0; k < units; k++)
                {
                    a += hd[k] * u[(k * units) + j];
                }

                h[j] = activation.Apply(a);
            }

            return h;
        });
    }
}
