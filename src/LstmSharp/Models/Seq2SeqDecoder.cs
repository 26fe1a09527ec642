using LstmSharp.Tensors;

namespace LstmSharp.Models;

/// <summary>
/// Inference for an encoder-decoder (Sutskever et al. 2014; Keras's <c>lstm_seq2seq</c>): the
/// encoder model turns a source batch into the decoder's initial states, the step model
/// advances the decoder by one token. Both are functional models that share the trained layers.
/// </summary>
/// <remarks>
/// <para>Encoder: input <c>[batch, sourceTime, sourceFeatures]</c> → the states
/// <c>[h, c]</c> (LSTM) or <c>[h]</c> (GRU), each <c>[batch, units]</c>.</para>
/// <para>Step: inputs <c>[token one-hot [batch, 1, vocabulary], state_1, ..., state_S]</c> →
/// outputs <c>[probabilities [batch, 1, vocabulary] or [batch, vocabulary], state_1', ..., state_S']</c>;
/// the probabilities are a softmax (they are logged for beam scores).</para>
/// </remarks>
public sealed class Seq2SeqDecoder(Model encoder, Model step, int vocabulary, int startToken, int? endToken = null)
{
    public Model Encoder { get; } = encoder ?? throw new ArgumentNullException(nameof(encoder));

    public Model Step { get; } = step is null
        ? throw new ArgumentNullException(nameof(step))
        : step.InputCount >= 2
            ? step
            : throw new ArgumentException($"Seq2SeqDecoder: the step model '{step.Name}' must take the token and at least one state, got {step.InputCount} input(s).", nameof(step));

    public int Vocabulary { get; } = vocabulary > 0
        ? vocabulary
        : throw new ArgumentOutOfRangeException(nameof(vocabulary), $"Seq2SeqDecoder: vocabulary must be positive, got {vocabulary}.");

    public int StartToken { get; } = CheckToken(nameof(startToken), startToken, vocabulary);

    /// <summary>Token that ends a sequence (null: every output has exactly maxLength tokens).</summary>
    public int? EndToken { get; } = endToken is { } e ? CheckToken(nameof(endToken), e, vocabulary) : null;

    /// <summary>Number of state tensors the step model carries.</summary>
    public int StateCount => Step.InputCount - 1;

    /// <summary>
    /// Greedy decoding of a batch: at each step the most probable token is fed back.
    /// Returns, per sample, the tokens up to <paramref name="maxLength"/> or up to (and excluding) the end token.
    /// </summary>
    public int[][] Greedy(Tensor source, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(source);
        CheckLength(maxLength);
        int batch = source.Dim(0);
        var states = EncodeStates(source);
        var tokens = new int[batch];
        Array.Fill(tokens, StartToken);
        var outputs = new List<int>[batch];
        var done = new bool[batch];
        for (int b = 0; b < batch; b++)
        {
            outputs[b] = new List<int>(maxLength);
        }

        for (int t = 0; t < maxLength && done.Contains(false); t++)
        {
            var (probs, next) = RunStep(tokens, states);
            for (int b = 0; b < batch; b++)
            {
                int best = Sampling.ArgMax(probs.Span.Slice(b * Vocabulary, Vocabulary));
                tokens[b] = best;
                if (done[b])
                {
                    continue;
                }

                if (EndToken == best)
                {
                    done[b] = true;
                }
                else
                {
                    outputs[b].Add(best);
                }
            }

            states = next;
        }

        return outputs.Select(o => o.ToArray()).ToArray();
    }

    /// <summary>
    /// Beam search for one source sequence <c>[1, sourceTime, features]</c> (or <c>[sourceTime, features]</c>):
    /// keeps the <paramref name="beamWidth"/> hypotheses of highest total log-probability and
    /// returns the finished ones, best first. Width 1 is greedy decoding.
    /// </summary>
    public IReadOnlyList<BeamHypothesis> Beam(Tensor source, int beamWidth, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(source);
        CheckLength(maxLength);
        if (beamWidth <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(beamWidth), $"Seq2SeqDecoder.Beam: beamWidth must be positive, got {beamWidth}.");
        }

        if (source.Rank == 3 && source.Dim(0) != 1)
        {
            throw new ArgumentException($"Seq2SeqDecoder.Beam: decodes one sequence at a time; source has {source.Dim(0)} samples {Tensor.FormatShape(source.Shape)}.", nameof(source));
        }

        var one = source.Rank == 3 ? source : source.Reshape([1, .. source.ShapeArray]);
        var initial = EncodeStates(one);
        var beams = new List<Hyp> { new([], 0.0, initial.Select(s => s.Span.ToArray()).ToArray()) };
        var finished = new List<BeamHypothesis>();
        for (int t = 0; t < maxLength && beams.Count > 0 && finished.Count < beamWidth; t++)
        {
            int k = beams.Count;
            var tokens = beams.Select(h => h.Tokens.Count == 0 ? StartToken : h.Tokens[^1]).ToArray();
            var states = new Tensor[StateCount];
            for (int s = 0; s < StateCount; s++)
            {
                int width = beams[0].States[s].Length;
                states[s] = new Tensor(k, width);
                for (int j = 0; j < k; j++)
                {
                    beams[j].States[s].CopyTo(states[s].Span.Slice(j * width, width));
                }
            }

            var (probs, next) = RunStep(tokens, states);
            var candidates = new List<(int Beam, int Token, double Score)>(k * Vocabulary);
            for (int j = 0; j < k; j++)
            {
                var row = probs.Span.Slice(j * Vocabulary, Vocabulary);
                for (int v = 0; v < Vocabulary; v++)
                {
                    // The floor keeps log finite when a softmax underflows to 0.
                    candidates.Add((j, v, beams[j].Score + Math.Log(Math.Max(row[v], 1e-30f))));
                }
            }

            // Stable order on ties: by score, then by the order greedy decoding would see them.
            candidates.Sort((a, b) => b.Score != a.Score ? b.Score.CompareTo(a.Score) : a.Beam != b.Beam ? a.Beam.CompareTo(b.Beam) : a.Token.CompareTo(b.Token));
            var kept = new List<Hyp>(beamWidth);
            foreach (var (j, v, score) in candidates)
            {
                if (kept.Count == beamWidth)
                {
                    break;
                }

                if (EndToken == v)
                {
                    finished.Add(new BeamHypothesis(beams[j].Tokens.ToArray(), score));
                    continue;
                }

                var nextStates = new float[StateCount][];
                for (int s = 0; s < StateCount; s++)
                {
                    int width = next[s].Length / k;
                    nextStates[s] = next[s].Span.Slice(j * width, width).ToArray();
                }

                kept.Add(new Hyp([.. beams[j].Tokens, v], score, nextStates));
            }

            beams = kept;
        }

        finished.AddRange(beams.Select(h => new BeamHypothesis(h.Tokens.ToArray(), h.Score)));
        return finished.OrderByDescending(h => h.LogProbability).Take(beamWidth).ToArray();
    }

    private Tensor[] EncodeStates(Tensor source)
    {
        var states = Encoder.PredictAll([source], batchSize: Math.Max(1, source.Dim(0))).ToArray();
        if (states.Length != StateCount)
        {
            throw new ArgumentException($"Seq2SeqDecoder: the encoder '{Encoder.Name}' returns {states.Length} tensor(s) but the step model '{Step.Name}' takes {StateCount} state(s).");
        }

        return states;
    }

    private (Tensor Probabilities, Tensor[] States) RunStep(int[] tokens, Tensor[] states)
    {
        int batch = tokens.Length;
        var x = new Tensor(batch, 1, Vocabulary);
        for (int b = 0; b < batch; b++)
        {
            x[b, 0, tokens[b]] = 1f;
        }

        var outs = Step.PredictAll([x, .. states], batchSize: Math.Max(1, batch));
        if (outs.Count != 1 + StateCount)
        {
            throw new ArgumentException($"Seq2SeqDecoder: the step model '{Step.Name}' must return the probabilities and {StateCount} state(s), got {outs.Count} output(s).");
        }

        var probs = outs[0];
        if (probs.Length != batch * Vocabulary)
        {
            throw new ArgumentException($"Seq2SeqDecoder: the step model's probabilities have shape {Tensor.FormatShape(probs.Shape)}; expected [{batch}, 1, {Vocabulary}] or [{batch}, {Vocabulary}].");
        }

        return (probs, outs.Skip(1).ToArray());
    }

    private static int CheckToken(string name, int token, int vocabulary)
    {
        if ((uint)token >= (uint)vocabulary)
        {
            throw new ArgumentOutOfRangeException(name, $"Seq2SeqDecoder: {name} must be in [0, {vocabulary}), got {token}.");
        }

        return token;
    }

    private static void CheckLength(int maxLength)
    {
        if (maxLength <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), $"Seq2SeqDecoder: maxLength must be positive, got {maxLength}.");
        }
    }

    private sealed record Hyp(List<int> Tokens, double Score, float[][] States);
}

/// <summary>A decoded sequence and its total log-probability (natural log).</summary>
public sealed record BeamHypothesis(int[] Tokens, double LogProbability);
