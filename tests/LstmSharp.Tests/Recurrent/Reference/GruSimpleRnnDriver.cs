namespace LstmSharp.Tests.Recurrent.Reference;

/// <summary>One sequence run for the double references, in the kernels' layouts.</summary>
internal sealed class RefSequence
{
    public required int Batch { get; init; }

    public required int Time { get; init; }

    public required int Input { get; init; }

    public required int Units { get; init; }

    /// <summary>[batch, time, input].</summary>
    public required double[] X { get; init; }

    /// <summary>[batch, units] or null (zeros).</summary>
    public double[]? H0 { get; init; }

    /// <summary>[batch, time], indexed by true time (not processing order); 0 = masked.</summary>
    public double[]? Mask { get; init; }

    /// <summary>[batch, input], fixed over time, already scaled.</summary>
    public double[]? InputDropMask { get; init; }

    /// <summary>[batch, units], fixed over time, already scaled.</summary>
    public double[]? RecurrentDropMask { get; init; }

    public bool GoBackwards { get; init; }

    public bool ZeroOutputForMask { get; init; }
}

/// <summary>Sequence [batch, time, units] in processing order, last output and final state [batch, units].</summary>
internal sealed record RefOutputs(double[] Sequence, double[] LastOutput, double[] FinalState);

/// <summary>
/// The time loop of Keras's <c>RNN</c> layer, written plainly: processing order (go_backwards),
/// masks (a masked step keeps the state and repeats the previous output, zeros before the
/// first unmasked step; or emits zeros with zero_output_for_mask), dropout masks fixed per
/// sequence (x ∘ m_x, and h ∘ m_h where h feeds a recurrent product).
/// </summary>
internal static class RefDriver
{
    /// <summary>A cell step: (x_t ∘ m_x, h_{t-1}, h_{t-1} ∘ m_h) → h_t, for one batch row.</summary>
    public delegate double[] Step(double[] xDropped, double[] hPrev, double[] hPrevDropped);

    public static RefOutputs Run(RefSequence s, Step step)
    {
        int bt = s.Batch, tt = s.Time, n = s.Input, u = s.Units;
        var seq = new double[bt * tt * u];
        var last = new double[bt * u];
        var final = new double[bt * u];
        for (int b = 0; b < bt; b++)
        {
            var h = new double[u];
            if (s.H0 is not null)
            {
                Array.Copy(s.H0, b * u, h, 0, u);
            }

            var prevOut = new double[u];
            for (int p = 0; p < tt; p++)
            {
                int t = s.GoBackwards ? tt - 1 - p : p;
                var xd = new double[n];
                for (int i = 0; i < n; i++)
                {
                    xd[i] = s.X[(((b * tt) + t) * n) + i] * (s.InputDropMask?[(b * n) + i] ?? 1.0);
                }

                var hd = new double[u];
                for (int k = 0; k < u; k++)
                {
                    hd[k] = h[k] * (s.RecurrentDropMask?[(b * u) + k] ?? 1.0);
                }

                var hNew = step(xd, h, hd);
                bool keep = s.Mask is null || s.Mask[(b * tt) + t] != 0;
                double[] output;
                if (keep)
                {
                    h = hNew;
                    output = hNew;
                }
                else
                {
                    output = s.ZeroOutputForMask ? new double[u] : prevOut;
                }

                Array.Copy(output, 0, seq, ((b * tt) + p) * u, u);
                prevOut = output;
            }

            Array.Copy(prevOut, 0, last, b * u, u);
            Array.Copy(h, 0, final, b * u, u);
        }

        return new RefOutputs(seq, last, final);
    }
}
