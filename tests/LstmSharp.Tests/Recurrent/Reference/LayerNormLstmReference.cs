using LstmSharp.Kernels;
using LstmSharp.Recurrent;
using LstmSharp.Tests.Recurrent.Harness;

namespace LstmSharp.Tests.Recurrent.Reference;

/// <summary>
/// A slow double-precision layer-normalised LSTM written line by line from the equations in
/// <see cref="LayerNormLstmCell"/>'s documentation (per-gate normalisation of x W and h U, LN of
/// the cell before the output activation), with Keras's masking rules; bound to its own
/// parameter arrays for the harness's finite differences.
/// </summary>
internal sealed class LayerNormLstmReference : IReferenceCell
{
    private const double Eps = LayerNormLstmCell.DefaultEpsilon;
    private readonly int input, n;
    private readonly ActivationKind act, rec;
    private readonly double[] w, u, b, gx, gh, gc, bc;

    public LayerNormLstmReference(int input, int units, bool useBias, ActivationKind activation, ActivationKind recurrentActivation)
    {
        this.input = input;
        n = units;
        act = activation;
        rec = recurrentActivation;
        w = new double[input * 4 * n];
        u = new double[n * 4 * n];
        b = new double[useBias ? 4 * n : 0];
        gx = new double[4 * n];
        gh = new double[4 * n];
        gc = new double[n];
        bc = new double[n];
    }

    public IReadOnlyList<(string Name, double[] Values)> Parameters =>
        b.Length == 0
            ? [("kernel", w), ("recurrent_kernel", u), ("input_gamma", gx), ("recurrent_gamma", gh), ("cell_gamma", gc), ("cell_beta", bc)]
            : [("kernel", w), ("recurrent_kernel", u), ("bias", b), ("input_gamma", gx), ("recurrent_gamma", gh), ("cell_gamma", gc), ("cell_beta", bc)];

    public RefResult Forward(RefSequence s, double[]?[] initial)
    {
        int nb = s.Batch, nt = s.Time, gw = 4 * n;
        var seq = new double[nb * nt * n];
        var last = new double[nb * n];
        var hOut = new double[nb * n];
        var cOut = new double[nb * n];
        for (int bi = 0; bi < nb; bi++)
        {
            var h = new double[n];
            var c = new double[n];
            var y = new double[n];
            if (initial[0] is { } h0) Array.Copy(h0, bi * n, h, 0, n);
            if (initial[1] is { } c0) Array.Copy(c0, bi * n, c, 0, n);
            for (int step = 0; step < nt; step++)
            {
                int t = s.GoBackwards ? nt - 1 - step : step;
                if (s.Mask is null || s.Mask[(bi * nt) + t] != 0)
                {
                    var ax = new double[gw];
                    var ah = new double[gw];
                    for (int col = 0; col < gw; col++)
                    {
                        for (int k = 0; k < input; k++) ax[col] += s.X[(((bi * nt) + t) * input) + k] * (s.InputDropMask?[(bi * input) + k] ?? 1.0) * w[(k * gw) + col];
                        for (int k = 0; k < n; k++) ah[col] += h[k] * (s.RecurrentDropMask?[(bi * n) + k] ?? 1.0) * u[(k * gw) + col];
                    }

                    for (int gate = 0; gate < 4; gate++)
                    {
                        Normalize(ax, gate * n, n);
                        Normalize(ah, gate * n, n);
                    }

                    var z = new double[gw];
                    for (int j = 0; j < gw; j++) z[j] = (gx[j] * ax[j]) + (gh[j] * ah[j]) + (b.Length > 0 ? b[j] : 0.0);
                    var cNew = new double[n];
                    var o = new double[n];
                    for (int j = 0; j < n; j++)
                    {
                        double i = rec.Apply(z[j]), f = rec.Apply(z[n + j]), g = act.Apply(z[(2 * n) + j]);
                        o[j] = rec.Apply(z[(3 * n) + j]);
                        cNew[j] = (f * c[j]) + (i * g);
                    }

                    var cHat = (double[])cNew.Clone();
                    Normalize(cHat, 0, n);
                    for (int j = 0; j < n; j++) h[j] = o[j] * act.Apply((gc[j] * cHat[j]) + bc[j]);
                    c = cNew;
                    y = (double[])h.Clone();
                }
                else if (s.ZeroOutputForMask)
                {
                    y = new double[n];
                }

                Array.Copy(y, 0, seq, ((bi * nt) + step) * n, n);
            }

            Array.Copy(y, 0, last, bi * n, n);
            Array.Copy(h, 0, hOut, bi * n, n);
            Array.Copy(c, 0, cOut, bi * n, n);
        }

        return new RefResult(seq, last, [hOut, cOut]);
    }

    private static void Normalize(double[] v, int start, int count)
    {
        double mean = 0;
        for (int j = 0; j < count; j++) mean += v[start + j];
        mean /= count;
        double variance = 0;
        for (int j = 0; j < count; j++) variance += (v[start + j] - mean) * (v[start + j] - mean);
        double sd = Math.Sqrt((variance / count) + Eps);
        for (int j = 0; j < count; j++) v[start + j] = (v[start + j] - mean) / sd;
    }
}

/// <summary>The fused <see cref="LayerNormLstmKernel"/> under the harness.</summary>
internal sealed class LayerNormLstmKernelUnderTest(int input, int units, bool useBias, ActivationKind activation, ActivationKind recurrentActivation) : IRecurrentUnderTest
{
    public RunResult Run(HarnessCase c, IReadOnlyList<(string Name, float[] Values)> parameters, IReadOnlyList<float[]> gradients)
    {
        float[] P(string name) => parameters.FirstOrDefault(p => p.Name == name).Values ?? [];
        float[] G(string name)
        {
            for (int i = 0; i < parameters.Count; i++)
            {
                if (parameters[i].Name == name) return gradients[i];
            }

            return [];
        }

        var o = c.O;
        int n = units;
        var kernel = new LayerNormLstmKernel(input, units, useBias, activation, recurrentActivation, LayerNormLstmCell.DefaultEpsilon, "ln_test");
        var cache = new LayerNormLstmCache();
        var weights = new LayerNormLstmWeights
        {
            Kernel = P("kernel"), RecurrentKernel = P("recurrent_kernel"), Bias = P("bias"),
            InputGamma = P("input_gamma"), RecurrentGamma = P("recurrent_gamma"), CellGamma = P("cell_gamma"), CellBeta = P("cell_beta"),
        };
        var seq = new float[o.Batch * o.Time * n];
        var last = new float[o.Batch * n];
        var h = new float[o.Batch * n];
        var cT = new float[o.Batch * n];

        // Inference first: it must give the training forward's bits.
        var outputs = new RnnOutputs { Sequence = seq, Last = last, H = h, C = cT };
        kernel.Forward(c.Run(), weights, c.Initial?[0] ?? [], c.Initial?[1] ?? [], outputs, null);
        var inference = (float[])seq.Clone();
        kernel.Forward(c.Run(), weights, c.Initial?[0] ?? [], c.Initial?[1] ?? [], outputs, cache);
        Assert.Equal(inference, seq);
        var dx = new float[c.X.Length];
        var dh0 = new float[o.Batch * n];
        var dc0 = new float[o.Batch * n];
        kernel.Backward(
            c.Run(),
            weights,
            cache,
            new RnnOutputGradients { Sequence = c.GSeq ?? [], Last = c.GLast ?? [], H = c.GFinals[0] ?? [], C = c.GFinals[1] ?? [] },
            new LayerNormLstmGradients
            {
                Kernel = G("kernel"), RecurrentKernel = G("recurrent_kernel"), Bias = G("bias"),
                InputGamma = G("input_gamma"), RecurrentGamma = G("recurrent_gamma"), CellGamma = G("cell_gamma"), CellBeta = G("cell_beta"),
                Input = dx, InitialH = dh0, InitialC = dc0,
            });
        return new RunResult(seq, last, [h, cT], dx, [dh0, dc0]);
    }
}
