using System.CommandLine;

namespace LstmSharp.Cli;

/// <summary>
/// The <c>experiment</c> commands whose options are the <see cref="CliOptionAttribute"/> properties
/// of their settings records (built by <see cref="SettingsCommand"/>).
/// </summary>
internal static class ExperimentCommands
{
    public static IEnumerable<Command> Create(string[] args)
    {
        yield return SettingsCommand.Create<LongLagSettings>("long-lag", "Long time lags: SimpleRNN vs LSTM (and variants) vs GRU on the adding problem, copy task or temporal order, error vs T.", LongLagExperiment.Run, args);
        yield return SettingsCommand.Create<Seq2SeqSettings>("seq2seq-addition", "Encoder-decoder LSTM on character addition (\"535+61\" -> \"596\"): teacher forcing, greedy and beam decoding.", Seq2SeqAdditionExperiment.Run, args);
        yield return SettingsCommand.Create<Seq2SeqAttentionSettings>("seq2seq-attention", "Encoder-decoder LSTM reversing 20–40 random tokens (or adding numbers, --task addition), with and without a Keras-style Attention layer at the same budget: greedy exact match per epoch and an attention heatmap.", Seq2SeqAttentionExperiment.Run, args);
        yield return SettingsCommand.Create<CharLmSettings>("char-lm", "Character-level language model: first 90% of the text trains, last 10% validates; loss in nats and bits per character, samples at temperatures 0.5 and 1.0 after each epoch.", CharLmExperiment.Run, args);
        yield return SettingsCommand.Create<ForecastSettings>("forecast", "LSTM forecaster on a CSV series beside persistence, seasonal naive and linear AR baselines (chronological split).", ForecastExperiment.Run, args);
        yield return SettingsCommand.Create<ImdbCnnLstmSettings>("imdb-cnn-lstm", "IMDB sentiment, keras-io CNN-LSTM: Embedding(20000, 128) → Dropout(0.25) → Conv1D(64, 5, relu) → MaxPooling1D(4) → LSTM(70) → Dense(1, sigmoid), Adam, batch 30, 2 epochs (published test accuracy 0.8498).", ImdbCnnLstmExperiment.Run, args);
    }
}
