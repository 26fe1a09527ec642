namespace LstmSharp.Kernels;

/// <summary>
/// Single-precision general matrix multiply on row-major storage:
/// <c>C[m, n] = alpha · op(A)[m, k] · op(B)[k, n] + beta · C</c>, where op(X) is X or Xᵀ.
/// Leading dimensions are row strides: A is stored as [m, lda] (or [k, lda] when transposed).
/// </summary>
public static class Gemm
{
    /// <summary>C = alpha·op(A)·op(B) + beta·C. With beta = 0, C's old contents are ignored (NaNs included).</summary>
    public static void Sgemm(
        bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
        // Placeholder reference loop; replaced by the packed, blocked kernel.
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float s = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[(p * lda) + i] : a[(i * lda) + p];
                    float bv = transB ? b[(j * ldb) + p] : b[(p * ldb) + j];
                    s += av * bv;
                }

                ref float cij = ref c[(i * ldc) + j];
                cij = beta == 0 ? alpha * s : (alpha * s) + (beta * cij);
            }
        }
    }
}
