using LstmSharp.Kernels;
using LstmSharp.Recurrent;

namespace LstmSharp.Tests.Recurrent.Reference;

/// <summary>The parameters of an LSTM in double precision, laid out as <see cref="LstmLayout"/> says.</summary>
public sealed class LstmParams
{
    public LstmParams(LstmLayout layout)
    {
        Layout = layout;
        int su = layout.WeightedGateCount * layout.Units;
        W = new double[layout.InputSize * layout.GateWidth];
        U = new double[layout.OutputSize * layout.GateWidth];
        Wp = new double[layout.Units * layout.ProjSize];
        B = new double[layout.UseBias ? layout.GateWidth : 0];
        P = new double[layout.HasPeepholes ? su : 0];
        R = new double[layout.HasGateRecurrence ? su * su : 0];
    }

    public LstmLayout Layout { get; }

    public double[] W { get; }

    public double[] U { get; }

    public double[] B { get; }

    public double[] P { get; }

    public double[] R { get; }

    /// <summary>W_p [units, P] (empty without a projection).</summary>
    public double[] Wp { get; }

    public IEnumerable<(string Name, double[] Values)> All => new[] { ("kernel", W), ("recurrent_kernel", U), ("bias", B), ("peephole", P), ("gate_recurrence", R), ("projection_kernel", Wp) };
}

/// <summary>One sequence problem in double precision: inputs, options and initial states.</summary>
public sealed class LstmProblem
{
    public int Batch { get; init; }

    public int Time { get; init; }

    public int InputSize { get; init; }

    public required double[] X { get; init; }

    /// <summary>[batch, time] 0/1, or null.</summary>
    public double[]? Mask { get; init; }

    public double[]? InputDropout { get; init; }

    public double[]? RecurrentDropout { get; init; }

    public double[]? H0 { get; init; }

    public double[]? C0 { get; init; }

    public bool GoBackwards { get; init; }

    public bool ZeroOutputForMask { get; init; }
}

public sealed record LstmResult(double[] Sequence, double[] Last, double[] H, double[] C);

/// <summary>
/// A slow, plain double-precision LSTM written line by line from the equations in
/// <see cref="LstmCell"/>'s documentation (the projection h = m W_p included), with Keras's masking rules. The oracle for the
/// fast float32 kernel; <c>ReferenceHarness</c> takes its gradients by central finite differences.
/// </summary>
public static class LstmReference
{
    public static LstmResult Forward(LstmParams p, LstmProblem q)
    {
        var L = p.Layout;
        var v = L.Variant;
        int n = L.Units, nh = L.OutputSize, nb = q.Batch, nt = q.Time, ni = q.InputSize, gw = L.GateWidth;
        int sGates = L.WeightedGateCount;
        var seq = new double[nb * nt * nh];
        var last = new double[nb * nh];
        var hOut = new double[nb * nh];
        var cOut = new double[nb * n];
        for (int b = 0; b < nb; b++)
        {
            var h = new double[nh];
            var c = new double[n];
            var y = new double[nh];
            var gPrev = new double[sGates * n];
            if (q.H0 is not null) Array.Copy(q.H0, b * nh, h, 0, nh);
            if (q.C0 is not null) Array.Copy(q.C0, b * n, c, 0, n);
            for (int s = 0; s < nt; s++)
            {
                int t = q.GoBackwards ? nt - 1 - s : s;
                bool valid = q.Mask is null || q.Mask[(b * nt) + t] != 0;
                if (valid)
                {
                    var x = new double[ni];
                    for (int k = 0; k < ni; k++)
                    {
                        x[k] = q.X[(((b * nt) + t) * ni) + k] * (q.InputDropout?[(b * ni) + k] ?? 1.0);
                    }

                    var hm = new double[nh];
                    for (int k = 0; k < nh; k++)
                    {
                        hm[k] = h[k] * (q.RecurrentDropout?[(b * nh) + k] ?? 1.0);
                    }

                    // Pre-activation of a gate's unit j: x W + h U + b (+ FGR term).
                    double Pre(LstmGate gate, int j)
                    {
                        int col = L.BlockOffset(gate) + j;
                        double z = L.UseBias ? p.B[col] : 0.0;
                        for (int k = 0; k < ni; k++) z += x[k] * p.W[(k * gw) + col];
                        for (int k = 0; k < nh; k++) z += hm[k] * p.U[(k * gw) + col];
                        int sIdx = L.WeightedGateIndex(gate);
                        if (L.HasGateRecurrence && sIdx >= 0)
                        {
                            for (int k = 0; k < sGates * n; k++) z += gPrev[k] * p.R[(k * sGates * n) + (sIdx * n) + j];
                        }

                        return z;
                    }

                    double Peep(LstmGate gate, int j, double cell) =>
                        L.HasPeepholes ? p.P[(L.WeightedGateIndex(gate) * n) + j] * cell : 0.0;

                    var hNew = new double[n];
                    var cNew = new double[n];
                    var gNew = new double[sGates * n];
                    for (int j = 0; j < n; j++)
                    {
                        double i = v.InputGate ? v.RecurrentActivation.Apply(Pre(LstmGate.Input, j) + Peep(LstmGate.Input, j, c[j])) : 1.0;
                        double f;
                        if (!v.ForgetGate) f = 1.0;
                        else if (v.CoupledInputForget) f = 1.0 - i;
                        else f = v.RecurrentActivation.Apply(Pre(LstmGate.Forget, j) + Peep(LstmGate.Forget, j, c[j]));
                        double zc = Pre(LstmGate.Candidate, j);
                        double g = v.InputActivation ? v.Activation.Apply(zc) : zc;
                        cNew[j] = (f * c[j]) + (i * g);
                        double o = v.OutputGate ? v.RecurrentActivation.Apply(Pre(LstmGate.Output, j) + Peep(LstmGate.Output, j, cNew[j])) : 1.0;
                        hNew[j] = o * (v.OutputActivation ? v.Activation.Apply(cNew[j]) : cNew[j]);
                        if (L.WeightedGateIndex(LstmGate.Input) >= 0) gNew[(L.WeightedGateIndex(LstmGate.Input) * n) + j] = i;
                        if (L.WeightedGateIndex(LstmGate.Forget) >= 0) gNew[(L.WeightedGateIndex(LstmGate.Forget) * n) + j] = f;
                        if (L.WeightedGateIndex(LstmGate.Output) >= 0) gNew[(L.WeightedGateIndex(LstmGate.Output) * n) + j] = o;
                    }

                    if (L.HasProjection)
                    {
                        // h_t = m_t W_p, m_t = o ⊙ φ(c_t) as computed above.
                        var projected = new double[nh];
                        for (int k = 0; k < nh; k++)
                        {
                            for (int j = 0; j < n; j++) projected[k] += hNew[j] * p.Wp[(j * nh) + k];
                        }

                        hNew = projected;
                    }

                    h = hNew;
                    c = cNew;
                    gPrev = gNew;
                    y = (double[])h.Clone();
                }
                else if (q.ZeroOutputForMask)
                {
                    y = new double[nh];
                }

                Array.Copy(y, 0, seq, ((b * nt) + s) * nh, nh);
            }

            Array.Copy(y, 0, last, b * nh, nh);
            Array.Copy(h, 0, hOut, b * nh, nh);
            Array.Copy(c, 0, cOut, b * n, n);
        }

        return new LstmResult(seq, last, hOut, cOut);
    }
}
