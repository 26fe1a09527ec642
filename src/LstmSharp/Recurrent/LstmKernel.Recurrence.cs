using System.Numerics.Tensors;

namespace LstmSharp.Recurrent;

// LstmKernel between steps: where h ⊙ m_h goes for the next step's recurrent product, and where
// the product dz·Uᵀ comes back as ∂L/∂h (rows masked at that step keep theirs).
internal sealed partial class LstmKernel
{
    /// <summary>
    /// Writes h ⊙ m_h (and the FGR gate state) of rows [b0, b1) where the recurrent product of
    /// time index <paramref name="t"/> reads them: the cache's row (b, t) when training (the
    /// backward's dU product needs them all), a [batch, units] scratch otherwise.
    /// </summary>
    private void PlaceRecurrentInputs(in SequenceRun run, LstmCache? cache, int t, int b0, int b1)
    {
        int units = Layout.Units, hs = Layout.OutputSize, time = run.Time, su = Layout.WeightedGateCount * units;
        bool training = cache is not null;
        var hp = training ? cache!.HPrev.AsSpan() : hpScratch.AsSpan();
        for (int b = b0; b < b1; b++)
        {
            var src = hState.AsSpan(b * hs, hs);
            var dst = hp.Slice(training ? ((b * time) + t) * hs : b * hs, hs);
            if (run.RecurrentDropoutMask.IsEmpty) src.CopyTo(dst);
            else TensorPrimitives.Multiply(src, run.RecurrentDropoutMask.Slice(b * hs, hs), dst);
            if (Layout.HasGateRecurrence)
            {
                var gp = training ? cache!.GatesPrev.AsSpan() : gpScratch.AsSpan();
                gState.AsSpan(b * su, su).CopyTo(gp.Slice(training ? ((b * time) + t) * su : b * su, su));
            }
        }
    }

    /// <summary>∂L/∂h and the FGR state gradient before time index t, for rows valid at t (masked rows carry theirs).</summary>
    private void TakeRecurrentGradients(in SequenceRun run, int t, int b0, int b1)
    {
        int hs = Layout.OutputSize, su = Layout.WeightedGateCount * Layout.Units;
        for (int b = b0; b < b1; b++)
        {
            if (!run.IsValid(b, t))
            {
                continue;
            }

            var dhb = dhState.AsSpan(b * hs, hs);
            if (run.RecurrentDropoutMask.IsEmpty) dhRec.AsSpan(b * hs, hs).CopyTo(dhb);
            else TensorPrimitives.Multiply(dhRec.AsSpan(b * hs, hs), run.RecurrentDropoutMask.Slice(b * hs, hs), dhb);
            if (Layout.HasGateRecurrence)
            {
                dgRec.AsSpan(b * su, su).CopyTo(dgState.AsSpan(b * su, su));
            }
        }
    }
}
