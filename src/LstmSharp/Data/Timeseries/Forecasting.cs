using LstmSharp.Tensors;

namespace LstmSharp.Data;

/// <summary>
/// A chronological split of a series of <c>n</c> steps: training <c>[0, TrainEnd)</c>,
/// validation <c>[TrainEnd, TestStart)</c>, test <c>[TestStart, n)</c>; the test part is the last
/// ⌊testFraction·n⌋ steps, the validation part the ⌊validationFraction·n⌋ before it. Never
/// shuffled: a forecast's target always lies in the part it is scored on, its lookback may
/// reach back into the part before (as it would in use).
/// </summary>
public readonly record struct ChronologicalSplit(int Length, int TrainEnd, int TestStart)
{
    public static ChronologicalSplit Create(int length, double validationFraction, double testFraction)
    {
        if (!(testFraction > 0 && validationFraction >= 0 && validationFraction + testFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(testFraction), $"ChronologicalSplit: fractions must satisfy test > 0, validation >= 0, validation + test < 1; got validation {validationFraction}, test {testFraction}.");
        }

        int test = (int)Math.Floor(testFraction * length);
        int val = (int)Math.Floor(validationFraction * length);
        if (test < 1 || length - test - val < 2)
        {
            throw new ArgumentException($"ChronologicalSplit: a series of {length} steps leaves {test} test and {length - test - val} training steps; too short.");
        }

        return new ChronologicalSplit(length, length - test - val, length - test);
    }
}

/// <summary>
/// Direct multi-step forecasting windows: the inputs are <c>lookback</c> steps of every
/// feature ending at the forecast origin <c>o</c>, the targets the next <c>horizon</c> values
/// of the target, <c>y[o+1 .. o+horizon]</c>. Built with
/// <see cref="Timeseries.DatasetFromArray(Tensor, Tensor?, int, int, int, int, bool, int?, int?, int?)"/>
/// (Keras's rules), one part of a <see cref="ChronologicalSplit"/> at a time.
/// </summary>
public sealed class ForecastWindows
{
    private readonly Tensor features;
    private readonly Tensor targetRows;

    /// <param name="features">The inputs, <c>[time, features]</c>.</param>
    /// <param name="target">The series to forecast (one value per step).</param>
    /// <param name="lookback">Steps of input per forecast.</param>
    /// <param name="horizon">Steps forecast ahead.</param>
    public ForecastWindows(Tensor features, float[] target, int lookback, int horizon)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(target);
        if (horizon <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(horizon), $"ForecastWindows: horizon must be at least 1 step, got {horizon}.");
        }

        if (lookback <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(lookback), $"ForecastWindows: lookback must be at least 1 step, got {lookback}.");
        }

        if (features.Rank != 2 || features.Dim(0) != target.Length)
        {
            throw new ArgumentException($"ForecastWindows: features must be [time, features] with one row per target value ({target.Length}), got {Tensor.FormatShape(features.Shape)}.");
        }

        if (lookback + horizon > target.Length)
        {
            throw new ArgumentException($"ForecastWindows: lookback {lookback} + horizon {horizon} = {lookback + horizon} steps, but the series has only {target.Length}.");
        }

        this.features = features;
        Target = target;
        Lookback = lookback;
        Horizon = horizon;

        // Row s holds the targets of the window that starts at s: y[s+L .. s+L+H-1] (NaN where the series ends).
        int n = target.Length;
        targetRows = new Tensor(n, horizon);
        var rows = targetRows.Span;
        for (int s = 0; s < n; s++)
        {
            for (int h = 0; h < horizon; h++)
            {
                int t = s + lookback + h;
                rows[(s * horizon) + h] = t < n ? target[t] : float.NaN;
            }
        }
    }

    public float[] Target { get; }

    public int Lookback { get; }

    public int Horizon { get; }

    public int Length => Target.Length;

    /// <summary>
    /// The windows whose targets all lie in <c>[firstTarget, endTarget)</c> (and whose lookback
    /// starts at step 0 or later), in time order.
    /// </summary>
    public TimeseriesDataset Part(int firstTarget, int endTarget, int batchSize = 32, bool shuffle = false, int? seed = null)
    {
        // Window s: inputs [s, s+L), targets [s+L, s+L+H). Targets in range: s >= firstTarget - L and s + L + H <= endTarget.
        int start = Math.Max(0, firstTarget - Lookback);
        int lastStart = endTarget - Lookback - Horizon;
        if (lastStart < start)
        {
            throw new ArgumentException($"ForecastWindows: no window of lookback {Lookback} and horizon {Horizon} has its targets in steps [{firstTarget}, {endTarget}) of a series of {Length}.");
        }

        // Keras counts end - start - (L - 1) windows; an end equal to the data's length is spelled null.
        int end = lastStart + Lookback;
        return Timeseries.DatasetFromArray(features, targetRows, Lookback, batchSize: batchSize, shuffle: shuffle, seed: seed,
            startIndex: start, endIndex: end >= Length ? null : end);
    }

    /// <summary>Forecast origins (index of the last input step) of <see cref="Part"/>'s windows.</summary>
    public int[] Origins(TimeseriesDataset part) => part.WindowStarts.Select(s => s + Lookback - 1).ToArray();

    /// <summary>The true targets <c>[windows, horizon]</c> of the given origins.</summary>
    public float[,] Actuals(IReadOnlyList<int> origins)
    {
        var a = new float[origins.Count, Horizon];
        for (int i = 0; i < origins.Count; i++)
        {
            for (int h = 0; h < Horizon; h++)
            {
                a[i, h] = Target[origins[i] + 1 + h];
            }
        }

        return a;
    }
}

/// <summary>Forecast errors per horizon step: MAE, RMSE, MAPE and sMAPE (percent).</summary>
public sealed class ForecastErrors
{
    private ForecastErrors(double[] mae, double[] rmse, double[] mape, double[] smape)
    {
        Mae = mae;
        Rmse = rmse;
        Mape = mape;
        Smape = smape;
    }

    public IReadOnlyList<double> Mae { get; }

    public IReadOnlyList<double> Rmse { get; }

    /// <summary>Mean absolute percentage error over the actuals that are not zero (NaN if all are).</summary>
    public IReadOnlyList<double> Mape { get; }

    /// <summary>Symmetric MAPE, 200·|e| / (|y| + |ŷ|), a pair of zeros counting as 0.</summary>
    public IReadOnlyList<double> Smape { get; }

    public double MeanMae => Mae.Average();

    public double MeanRmse => Math.Sqrt(Rmse.Select(r => r * r).Average());

    public double MeanMape => Mape.Average();

    public double MeanSmape => Smape.Average();

    /// <summary>Errors of <paramref name="forecast"/> against <paramref name="actual"/>, both <c>[windows, horizon]</c>.</summary>
    public static ForecastErrors Compute(float[,] actual, float[,] forecast)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(forecast);
        int n = actual.GetLength(0), h = actual.GetLength(1);
        if (forecast.GetLength(0) != n || forecast.GetLength(1) != h || n == 0)
        {
            throw new ArgumentException($"ForecastErrors: forecast [{forecast.GetLength(0)}, {forecast.GetLength(1)}] and actual [{n}, {h}] must have the same non-empty shape.");
        }

        var mae = new double[h];
        var rmse = new double[h];
        var mape = new double[h];
        var smape = new double[h];
        for (int k = 0; k < h; k++)
        {
            double abs = 0, sq = 0, pct = 0, spct = 0;
            int nonzero = 0;
            for (int i = 0; i < n; i++)
            {
                double y = actual[i, k], f = forecast[i, k], e = Math.Abs(y - f);
                abs += e;
                sq += e * e;
                if (y != 0)
                {
                    pct += e / Math.Abs(y);
                    nonzero++;
                }

                double denom = Math.Abs(y) + Math.Abs(f);
                spct += denom == 0 ? 0 : 2 * e / denom;
            }

            mae[k] = abs / n;
            rmse[k] = Math.Sqrt(sq / n);
            mape[k] = nonzero == 0 ? double.NaN : 100 * pct / nonzero;
            smape[k] = 100 * spct / n;
        }

        return new ForecastErrors(mae, rmse, mape, smape);
    }
}

/// <summary>
/// The baselines every forecast is shown beside: persistence (the last value), seasonal naive
/// (the value one season before the target) and a linear autoregression fitted by least squares
/// on the training part, one linear output per horizon step (direct).
/// </summary>
public static class Baselines
{
    /// <summary>ŷ(o+h) = y(o) for every step h.</summary>
    public static float[,] Persistence(float[] y, IReadOnlyList<int> origins, int horizon)
    {
        var f = new float[origins.Count, horizon];
        for (int i = 0; i < origins.Count; i++)
        {
            for (int h = 0; h < horizon; h++)
            {
                f[i, h] = y[origins[i]];
            }
        }

        return f;
    }

    /// <summary>ŷ(o+h) = y(o+h−k·period) with the smallest k ≥ 1 that lands at or before the origin.</summary>
    public static float[,] SeasonalNaive(float[] y, IReadOnlyList<int> origins, int horizon, int period)
    {
        if (period <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(period), $"Baselines.SeasonalNaive: period must be positive, got {period}.");
        }

        var f = new float[origins.Count, horizon];
        for (int i = 0; i < origins.Count; i++)
        {
            for (int h = 1; h <= horizon; h++)
            {
                int back = period * ((h + period - 1) / period);
                int t = origins[i] + h - back;
                if (t < 0)
                {
                    throw new ArgumentException($"Baselines.SeasonalNaive: origin {origins[i]} has no value one period ({period}) before step {h}.");
                }

                f[i, h - 1] = y[t];
            }
        }

        return f;
    }

    /// <summary>
    /// The season length: the lag in [2, maxLag] with the highest autocorrelation of
    /// <paramref name="y"/> after the autocorrelation first drops below zero (the trough of the
    /// first cycle). Returns null when it never does (no cycle within maxLag).
    /// </summary>
    public static int? DetectPeriod(ReadOnlySpan<float> y, int maxLag)
    {
        int n = y.Length;
        maxLag = Math.Min(maxLag, n / 2);
        if (maxLag < 2)
        {
            return null;
        }

        double mean = 0;
        foreach (float v in y)
        {
            mean += v;
        }

        mean /= n;
        double var = 0;
        foreach (float v in y)
        {
            var += (v - mean) * (v - mean);
        }

        if (var == 0)
        {
            return null;
        }

        int? best = null;
        double bestAcf = double.NegativeInfinity;
        bool crossed = false;
        for (int lag = 1; lag <= maxLag; lag++)
        {
            double c = 0;
            for (int t = lag; t < n; t++)
            {
                c += (y[t] - mean) * (y[t - lag] - mean);
            }

            double acf = c / var;
            crossed |= acf < 0;
            if (crossed && lag >= 2 && acf > bestAcf)
            {
                bestAcf = acf;
                best = lag;
            }
        }

        return bestAcf > 0 ? best : null;
    }

    /// <summary>
    /// Linear AR(p), direct: for every step h a least-squares fit of y(o+h) on
    /// [y(o−p+1), …, y(o), 1] over the origins <paramref name="trainOrigins"/> (whose targets must
    /// lie in the training part), solved by Householder QR in double precision.
    /// </summary>
    public static LinearAutoregression FitAutoregression(float[] y, IReadOnlyList<int> trainOrigins, int lags, int horizon)
    {
        if (lags <= 0 || trainOrigins.Count < lags + 2)
        {
            throw new ArgumentException($"Baselines.FitAutoregression: {lags} lags need more than {lags + 1} training windows, got {trainOrigins.Count}.");
        }

        int m = trainOrigins.Count, p = lags + 1;
        var a = new double[m, p];
        var b = new double[m, horizon];
        for (int i = 0; i < m; i++)
        {
            int o = trainOrigins[i];
            for (int j = 0; j < lags; j++)
            {
                a[i, j] = y[o - lags + 1 + j];
            }

            a[i, lags] = 1;
            for (int h = 0; h < horizon; h++)
            {
                b[i, h] = y[o + 1 + h];
            }
        }

        return new LinearAutoregression(LeastSquares.Solve(a, b), lags);
    }
}

/// <summary>A fitted direct linear AR(p): coefficients <c>[p + 1, horizon]</c> (the last row the intercept).</summary>
public sealed class LinearAutoregression(double[,] coefficients, int lags)
{
    public double[,] Coefficients { get; } = coefficients;

    public int Lags { get; } = lags;

    public float[,] Forecast(float[] y, IReadOnlyList<int> origins)
    {
        int horizon = Coefficients.GetLength(1);
        var f = new float[origins.Count, horizon];
        for (int i = 0; i < origins.Count; i++)
        {
            for (int h = 0; h < horizon; h++)
            {
                double s = Coefficients[Lags, h];
                for (int j = 0; j < Lags; j++)
                {
                    s += Coefficients[j, h] * y[origins[i] - Lags + 1 + j];
                }

                f[i, h] = (float)s;
            }
        }

        return f;
    }
}

/// <summary>Least squares min ‖A·X − B‖ by Householder QR (no normal equations: lagged series are nearly collinear).</summary>
public static class LeastSquares
{
    /// <summary>
    /// X <c>[n, k]</c> minimising ‖A·X − B‖² + ridge·‖X‖² for A <c>[m, n]</c> and B <c>[m, k]</c>;
    /// without a ridge A needs full column rank (m ≥ n), else the error names the dependent column.
    /// </summary>
    public static double[,] Solve(double[,] a, double[,] b, double ridge = 0)
    {
        if (ridge > 0)
        {
            // The ridge as n extra equations √ridge·x_j = 0.
            int rows = a.GetLength(0), cols = a.GetLength(1);
            var aa = new double[rows + cols, cols];
            var bb = new double[rows + cols, b.GetLength(1)];
            Array.Copy(a, aa, a.Length);
            Array.Copy(b, bb, b.Length);
            for (int j = 0; j < cols; j++)
            {
                aa[rows + j, j] = Math.Sqrt(ridge);
            }

            (a, b) = (aa, bb);
        }

        int m = a.GetLength(0), n = a.GetLength(1), k = b.GetLength(1);
        if (m < n)
        {
            throw new ArgumentException($"LeastSquares: {m} equations for {n} unknowns.");
        }

        a = ridge > 0 ? a : (double[,])a.Clone();
        b = ridge > 0 ? b : (double[,])b.Clone();
        var v = new double[m];
        for (int j = 0; j < n; j++)
        {
            double norm = 0;
            for (int i = j; i < m; i++)
            {
                norm += a[i, j] * a[i, j];
            }

            norm = Math.Sqrt(norm);
            if (norm == 0)
            {
                throw new ArgumentException($"LeastSquares: column {j} is zero (a constant or repeated regressor); the fit is not unique.");
            }

            double alpha = a[j, j] > 0 ? -norm : norm;
            double vnorm = 0;
            for (int i = j; i < m; i++)
            {
                v[i] = a[i, j] - (i == j ? alpha : 0);
                vnorm += v[i] * v[i];
            }

            if (vnorm == 0)
            {
                continue;
            }

            Reflect(a, j, n, v, j, m, vnorm);
            Reflect(b, 0, k, v, j, m, vnorm);
        }

        var x = new double[n, k];
        for (int c = 0; c < k; c++)
        {
            for (int j = n - 1; j >= 0; j--)
            {
                double s = b[j, c];
                for (int q = j + 1; q < n; q++)
                {
                    s -= a[j, q] * x[q, c];
                }

                if (Math.Abs(a[j, j]) < 1e-12 * Math.Abs(a[0, 0]))
                {
                    throw new ArgumentException($"LeastSquares: the regressors are linearly dependent (column {j}); the fit is not unique.");
                }

                x[j, c] = s / a[j, j];
            }
        }

        return x;
    }

    /// <summary>Applies the Householder reflection <c>I − 2vvᵀ/‖v‖²</c> (v nonzero in rows [j0, m)) to columns [c0, c1) of <paramref name="mat"/>.</summary>
    private static void Reflect(double[,] mat, int c0, int c1, double[] v, int j0, int m, double vnorm)
    {
        for (int c = c0; c < c1; c++)
        {
            double dot = 0;
            for (int i = j0; i < m; i++)
            {
                dot += v[i] * mat[i, c];
            }

            double s = 2 * dot / vnorm;
            for (int i = j0; i < m; i++)
            {
                mat[i, c] -= s * v[i];
            }
        }
    }
}
