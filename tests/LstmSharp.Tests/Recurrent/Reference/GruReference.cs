using LstmSharp.Kernels;

namespace LstmSharp.Tests.Recurrent.Reference;

/// <summary>
/// Slow, plain double-precision GRU written straight from the equations (Keras convention,
/// blocks z, r, h in the weights' columns); the oracle for <c>GruKernel</c>.
/// <code>
/// xd = x_t ∘ m_x,  hd = h_{t-1} ∘ m_h
/// z  = σ(xd Wz + hd Uz + bz)
/// r  = σ(xd Wr + hd Ur + br)
/// resetAfter = false:  h~ = act(xd Wh + (r ∘ hd) Uh + bh)                 b [3u]
/// resetAfter = true:   h~ = act(xd Wh + bh_in + r ∘ (hd Uh + bh_rec))      b [2, 3u]
/// h_t = z ∘ h_{t-1} + (1 - z) ∘ h~
/// </code>
/// </summary>
internal static class GruReference
{
    public static RefOutputs Forward(
        RefSequence s, double[] w, double[] u, double[]? b, bool resetAfter,
        ActivationKind activation, ActivationKind recurrentActivation)
    {
        int n = s.Input, units = s.Units, g = 3 * units;
        return RefDriver.Run(s, (xd, hPrev, hd) =>
        {
            // Column c of x·W and of v·U.
            double XW(int c)
            {
                double a = 0;
                for (int i = 0; i < n; i++)
                {
                    a += xd[i] * w[(i * g) + c];
                }

                return a;
            }

            double VU(double[] v, int c)
            {
                double a = 0;
                for (int k = 0; k < units; k++)
                {
                    a += v[k] * u[(k * g) + c];
                }

                return a;
            }

            double BIn(int c) => b is null ? 0 : b[c];
            double BRec(int c) => b is null || !resetAfter ? 0 : b[g + c];

            var z = new double[units];
            var r = new double[units];
            for (int j = 0; j < units; j++)
            {
                z[j] = recurrentActivation.Apply(XW(j) + BIn(j) + VU(hd, j) + BRec(j));
                r[j] = recurrentActivation.Apply(XW(units + j) + BIn(units + j) + VU(hd, units + j) + BRec(units + j));
            }

            var rh = new double[units];
            for (int k = 0; k < units; k++)
            {
                rh[k] = r[k] * hd[k];
            }

            var h = new double[units];
            for (int j = 0; j < units; j++)
            {
                int c = (2 * units) + j;
                double cand = resetAfter
                    ? activation.Apply(XW(c) + BIn(c) + (r[j] * (VU(hd, c) + BRec(c))))
                    : activation.Apply(XW(c) + BIn(c) + VU(rh, c));
                h[j] = (z[j] * hPrev[j]) + ((1 - z[j]) * cand);
            }

            return h;
        });
    }
}
