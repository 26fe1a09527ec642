using LstmSharp.Data.Batches;
using LstmSharp.Tensors;

namespace LstmSharp.Models;

/// <summary>
/// Everything <see cref="Trainer"/> (and <c>Model.Fit(x, y, FitOptions)</c>) takes besides the
/// data, with Keras's names and defaults except <see cref="Verbose"/>, which is 0 here: the
/// library writes nothing unless asked. The Keras-style <c>Fit(x, y, batchSize: ..., verbose: ...)</c>
/// overload maps its arguments one to one onto these properties (its own <c>verbose</c> keeps
/// Keras's default of 1, so code written for Keras still shows its progress bar).
/// </summary>
public sealed record FitOptions
{
    /// <summary>Samples per gradient step (in-memory data; a batch source decides its own).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Index of the epoch to stop before (Keras <c>epochs</c>: with <see cref="InitialEpoch"/> 3 and 5, epochs 3 and 4 run).</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>
    /// 0 silent; 1 Keras's progress bar per epoch; 2 one line per epoch. Above 0, a
    /// <see cref="ProgbarLogger"/> is installed that writes to <see cref="Output"/>, or to the
    /// console when that is null (unless <see cref="Callbacks"/> already holds one).
    /// </summary>
    public int Verbose { get; init; }

    /// <summary>Where the progress lines (and callbacks' messages) go when <see cref="Verbose"/> is above 0; null means the console.</summary>
    public TextWriter? Output { get; init; }

    /// <summary>Receives a report after every batch and at every epoch end (a GUI, a log), whatever <see cref="Verbose"/> is.</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }

    /// <summary>Fraction of the samples, taken from the END before any shuffling (as Keras does), held out for validation.</summary>
    public double ValidationSplit { get; init; }

    /// <summary>Validation inputs and targets (in-memory data); takes precedence over <see cref="ValidationSplit"/>.</summary>
    public (IReadOnlyList<Tensor> X, Tensor Y)? ValidationData { get; init; }

    /// <summary>Validation batches, for training on a batch source.</summary>
    public IBatchSource? ValidationSource { get; init; }

    /// <summary>Reorder the training samples every epoch (in-memory data; a batch source shuffles itself).</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Seed of the shuffling; null draws it from the global seed (<see cref="Rng.SetGlobalSeed"/>) the first time the model is fitted.</summary>
    public int? Seed { get; init; }

    /// <summary>Epoch to start at (to resume training).</summary>
    public int InitialEpoch { get; init; }

    /// <summary>Loss weight of each class id (in-memory data; Keras <c>class_weight</c>).</summary>
    public IReadOnlyDictionary<int, float>? ClassWeight { get; init; }

    /// <summary>Called at train/epoch begin and end and after every batch; may stop training through <see cref="Model.StopTraining"/>.</summary>
    public IReadOnlyList<Callback>? Callbacks { get; init; }

    /// <summary>Batches a batch source builds ahead on a background thread (0 reads in the training thread).</summary>
    public int Prefetch { get; init; } = 1;
}
