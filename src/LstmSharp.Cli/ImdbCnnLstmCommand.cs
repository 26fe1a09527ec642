using System.CommandLine;

namespace LstmSharp.Cli;

/// <summary><c>lstmsharp experiment imdb-cnn-lstm</c>: the keras-io CNN-LSTM on IMDB.</summary>
internal static class ImdbCnnLstmCommand
{
    internal static Command Create(string[] args)
    {
        var d = new ImdbCnnLstmSettings();
        var epochs = new Option<int>("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => d.Epochs };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => d.Batch };
        var words = new Option<int>("--num-words") { Description = "Vocabulary: the most frequent words kept.", DefaultValueFactory = _ => d.NumWords };
        var maxlen = new Option<int>("--maxlen") { Description = "Reviews padded/truncated to this many words.", DefaultValueFactory = _ => d.Maxlen };
        var embedding = new Option<int>("--embedding") { Description = "Embedding size.", DefaultValueFactory = _ => d.Embedding };
        var filters = new Option<int>("--filters") { Description = "Conv1D filters.", DefaultValueFactory = _ => d.Filters };
        var kernel = new Option<int>("--kernel-size") { Description = "Conv1D kernel size.", DefaultValueFactory = _ => d.KernelSize };
        var pool = new Option<int>("--pool-size") { Description = "MaxPooling1D pool size.", DefaultValueFactory = _ => d.PoolSize };
        var units = new Option<int>("--units") { Description = "LSTM units.", DefaultValueFactory = _ => d.Units };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => d.LearningRate };
        var limit = new Option<int?>("--limit") { Description = "Train and test on the first N reviews only (quick runs)." };
        var outDir = new Option<string>("--out") { Description = "Folder for results.md, history.csv, plots and the trained model.", DefaultValueFactory = _ => d.Out };
        var data = new Option<string?>("--data") { Description = "Data folder (default: $LSTMSHARP_DATA, else ~/.lstmsharp/datasets; missing files are downloaded)." };
        var seed = new Option<int>("--seed") { Description = "Global seed (weights, shuffling, dropout).", DefaultValueFactory = _ => d.Seed };
        var verbose = new Option<int>("--verbose") { Description = "0 silent, 1 progress bar per epoch, 2 one line per epoch.", DefaultValueFactory = _ => d.Verbose };
        var cmd = new Command("imdb-cnn-lstm", "IMDB sentiment, keras-io CNN-LSTM: Embedding(20000, 128) → Dropout(0.25) → Conv1D(64, 5, relu) → MaxPooling1D(4) → LSTM(70) → Dense(1, sigmoid), Adam, batch 30, 2 epochs (published test accuracy 0.8498).")
        {
            epochs, batch, words, maxlen, embedding, filters, kernel, pool, units, lr, limit, outDir, data, seed, verbose,
        };
        cmd.SetAction(r => ModelCommands.Run(() => ImdbCnnLstmExperiment.Run(
            new ImdbCnnLstmSettings
            {
                Epochs = r.GetValue(epochs),
                Batch = r.GetValue(batch),
                NumWords = r.GetValue(words),
                Maxlen = r.GetValue(maxlen),
                Embedding = r.GetValue(embedding),
                Filters = r.GetValue(filters),
                KernelSize = r.GetValue(kernel),
                PoolSize = r.GetValue(pool),
                Units = r.GetValue(units),
                LearningRate = r.GetValue(lr),
                Limit = r.GetValue(limit),
                Out = r.GetValue(outDir)!,
                Data = r.GetValue(data),
                Seed = r.GetValue(seed),
                Verbose = r.GetValue(verbose),
            },
            Program.CommandLineOf(args))));
        return cmd;
    }
}
