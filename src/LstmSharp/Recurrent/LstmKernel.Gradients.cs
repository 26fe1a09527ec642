using System.Numerics.Tensors;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

// The LSTM's whole-sequence gradients after the driver's backward time loop: dW (or through the
// token table), db, dU, dW_p, dR, the peepholes' gradient and dx.
internal sealed partial class LstmKernel
{
    private protected override void ParameterGradients(in SequenceRun run, in LstmWeights weights, SequenceCache cache, ReadOnlySpan<float> hdAll, ReadOnlySpan<float> xmAll, in LstmGradients grads, Span<float> dxm)
    {
        int rows = run.Batch * run.Time;
        var k = (LstmCache)cache;
        int n = Units, g = GateWidth, f = InputSize;
        var dz = k.Gates.AsSpan(0, rows * g);
        if (run.HasTokens)
        {
            // dW, db and d(table) through the table's rows (dz scattered by token).
            TokenProjection.Backward(k.TokenRows.AsSpan(0, rows), run.TokenTable, f, dz, weights.Kernel, g, grads.Kernel, grads.Bias, grads.Table, ref tableScatter);
        }
        else
        {
            Gemm.Sgemm(true, false, f, g, rows, 1f, xmAll, f, dz, g, 1f, grads.Kernel, g);
            if (Layout.UseBias)
            {
                // Σ over steps of each step's column sums: two levels, so the rounding grows with
                // T + B terms instead of T·B (and the order is fixed: the same bits for any thread count).
                int bt = run.Batch;
                RnnRun.Ensure(ref biasPart, g);
                var part = biasPart.AsSpan(0, g);
                for (int r = 0; r < rows; r += bt)
                {
                    part.Clear();
                    RnnRun.AddColumnSums(dz[(r * g)..], bt, g, 0, part);
                    TensorPrimitives.Add(grads.Bias, part, grads.Bias);
                }
            }
        }

        int h = OutputSize;
        Gemm.Sgemm(true, false, h, g, rows, 1f, hdAll, h, dz, g, 1f, grads.RecurrentKernel, g);
        if (Layout.HasProjection)
        {
            // dW_p += Σ m_sᵀ ∂L/∂h_s; masked rows of both are zero.
            Gemm.Sgemm(true, false, n, h, rows, 1f, k.Unprojected.AsSpan(0, rows * n), n, k.DProjected.AsSpan(0, rows * h), h, 1f, grads.Projection, h);
        }

        if (Layout.HasGateRecurrence)
        {
            // dR[:, gate] += Σ g_{s−1}ᵀ dz_gate over all rows (g_{−1} = 0).
            int su = GateStateWidth;
            var gp = k.GatesPrev.AsSpan(0, rows * su);
            foreach (var gate in LstmCell.WeightedGates)
            {
                int w = Layout.WeightedGateIndex(gate);
                if (w >= 0)
                {
                    Gemm.Sgemm(true, false, su, n, rows, 1f, gp, su, dz[Layout.BlockOffset(gate)..], g, 1f, grads.GateRecurrence[(w * n)..], su);
                }
            }
        }

        if (Layout.HasPeepholes)
        {
            AccumulatePeepholeGradient(dz, k.Cells.AsSpan(0, (rows + run.Batch) * n), rows, run.Batch, grads.Peephole);
        }

        if (!dxm.IsEmpty)
        {
            // dx = dz·Wᵀ through a stored Wᵀ: a plain product of [T·B, G] by [G, inputSize].
            RnnRun.Ensure(ref wTransposed, g * f);
            RnnRun.Transpose(weights.Kernel, f, g, wTransposed);
            Gemm.Sgemm(false, false, rows, f, g, 1f, dz, g, wTransposed, f, 0f, dxm, f);
        }
    }

    /// <summary>dp_i += Σ dz_i ⊙ c_{t−1}, dp_f += Σ dz_f ⊙ c_{t−1}, dp_o += Σ dz_o ⊙ c_t over the rows (c_{t−1} of row r is Cells row r, c_t row r + B).</summary>
    private void AccumulatePeepholeGradient(ReadOnlySpan<float> dz, ReadOnlySpan<float> cells, int rows, int bt, Span<float> dPeephole)
    {
        int n = Units, g = GateWidth;
        foreach (var gate in LstmCell.WeightedGates)
        {
            int k = Layout.WeightedGateIndex(gate);
            if (k < 0)
            {
                continue;
            }

            var dp = dPeephole.Slice(k * n, n);
            int off = Layout.BlockOffset(gate), shift = gate == LstmGate.Output ? bt : 0;
            for (int r = 0; r < rows; r++)
            {
                TensorPrimitives.FusedMultiplyAdd(dz.Slice((r * g) + off, n), cells.Slice((r + shift) * n, n), dp, dp);
            }
        }
    }
}
