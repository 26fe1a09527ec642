using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using LstmSharp.Kernels;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// Keras's <c>TextVectorization</c> in <c>output_mode="int"</c>: strings → token indices.
/// Each text is standardized, split into tokens, and each token looked up in a vocabulary where
/// index 0 is padding (the token <c>""</c>) and index 1 is out-of-vocabulary (<c>"[UNK]"</c>);
/// learned tokens start at 2. Output <c>[batch, outputSequenceLength]</c> (float indices, what
/// <see cref="Embedding"/> takes), padded with 0 or truncated (the first tokens are kept); with no
/// <see cref="OutputSequenceLength"/> a batch is padded to its longest text.
/// </summary>
/// <remarks>
/// <para>As Keras (TensorFlow's string ops): <c>lower</c> lower-cases ASCII letters only (as
/// <c>tf.strings.lower</c>); <c>strip_punctuation</c> removes the 32 ASCII punctuation characters
/// <c>!"#$%&amp;'()*+,-./:;&lt;=&gt;?@[\]^_`{|}~</c>; <c>whitespace</c> splits on runs of ASCII
/// whitespace (space, \t, \n, \v, \f, \r) and drops empty tokens; <c>character</c> makes every
/// Unicode code point a token (spaces included); no split keeps each whole text as one token.
/// Standardization happens before splitting, so <c>"well-known"</c> becomes one token
/// <c>wellknown</c>.</para>
/// <para><see cref="Adapt"/> counts tokens and orders the vocabulary by descending count, ties by
/// descending code-point (UTF-8 byte) order of the token — Keras's
/// <c>np.lexsort((tokens, counts))[::-1]</c> — then keeps the first <c>maxTokens − 2</c>.</para>
/// <para>Strings cannot flow through float tensors, so this is not a graph layer: it is attached to a
/// model with <see cref="Models.Model.TextVectorization"/> and saved in the model file with its vocabulary.
/// Custom standardize/split functions are saved by name and found again through
/// <see cref="RegisterStandardize"/> / <see cref="RegisterSplit"/> (Keras's
/// <c>register_keras_serializable</c>). Deviation: adapting on a corpus that yields no token, or
/// calling before any vocabulary exists, throws instead of leaving a vocabulary of the two special
/// tokens.</para>
/// </remarks>
public sealed partial class TextVectorization
{
    /// <summary>The padding token, index 0.</summary>
    public const string PaddingToken = "";

    /// <summary>The out-of-vocabulary token, index 1.</summary>
    public const string OovToken = "[UNK]";

    /// <summary>Index of the first learned token.</summary>
    public const int FirstTokenIndex = 2;

    public const string LowerAndStripPunctuation = "lower_and_strip_punctuation";
    public const string Lower = "lower";
    public const string StripPunctuation = "strip_punctuation";
    public const string Whitespace = "whitespace";
    public const string Character = "character";

    private static readonly ConcurrentDictionary<string, Func<string, string>> CustomStandardizers = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, Func<string, IEnumerable<string>>> CustomSplitters = new(StringComparer.Ordinal);

    private readonly Func<string, string>? customStandardize;
    private readonly Func<string, IEnumerable<string>>? customSplit;
    private readonly bool lower;
    private readonly bool strip;
    private readonly SplitKind splitKind;
    private string[] tokens = [];
    private Dictionary<string, int> index = new(StringComparer.Ordinal);
    private Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> lookup;
    private bool hasVocabulary;

    /// <param name="maxTokens">Largest vocabulary, the padding and OOV tokens included (so at most maxTokens − 2 learned tokens); null = no limit.</param>
    /// <param name="standardize"><c>lower_and_strip_punctuation</c> (default), <c>lower</c>, <c>strip_punctuation</c>, null for none, or the name of a function given in <paramref name="standardizeFunction"/> or registered with <see cref="RegisterStandardize"/>.</param>
    /// <param name="split"><c>whitespace</c> (default), <c>character</c>, null for none, or the name of a custom split (see <paramref name="splitFunction"/>).</param>
    /// <param name="outputMode">Only <c>int</c> (token indices) is implemented.</param>
    /// <param name="outputSequenceLength">Pad or truncate every output to this many tokens; null = pad a batch to its longest text.</param>
    /// <param name="vocabulary">A fixed vocabulary (then <see cref="Adapt"/> is refused, as Keras); see <see cref="SetVocabulary"/>.</param>
    /// <param name="standardizeFunction">A custom standardization; <paramref name="standardize"/> is its name (saved in the model file).</param>
    /// <param name="splitFunction">A custom split; <paramref name="split"/> is its name.</param>
    /// <param name="name">Name in configs and messages.</param>
    public TextVectorization(
        int? maxTokens = null,
        string? standardize = LowerAndStripPunctuation,
        string? split = Whitespace,
        string outputMode = "int",
        int? outputSequenceLength = null,
        IEnumerable<string>? vocabulary = null,
        Func<string, string>? standardizeFunction = null,
        Func<string, IEnumerable<string>>? splitFunction = null,
        string? name = null)
    {
        Name = string.IsNullOrEmpty(name) ? LayerNames.Unique("text_vectorization") : name;
        if (maxTokens is { } m && m < FirstTokenIndex + 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxTokens), $"{Describe()}: maxTokens must be at least 3 (padding, [UNK] and one token) or null, got {m}.");
        }

        if (outputMode != "int")
        {
            throw new NotSupportedException($"{Describe()}: outputMode '{outputMode}' is not implemented; only 'int' (token indices) is.");
        }

        if (outputSequenceLength is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(outputSequenceLength), $"{Describe()}: outputSequenceLength must be a positive integer or null, got {outputSequenceLength}.");
        }

        MaxTokens = maxTokens;
        OutputMode = outputMode;
        OutputSequenceLength = outputSequenceLength;
        Standardize = standardize;
        Split = split;
        switch (standardize)
        {
            case null:
                break;
            case LowerAndStripPunctuation:
                lower = strip = true;
                break;
            case Lower:
                lower = true;
                break;
            case StripPunctuation:
                strip = true;
                break;
            default:
                customStandardize = standardizeFunction ?? (CustomStandardizers.TryGetValue(standardize, out var f) ? f : null)
                    ?? throw new ArgumentException($"{Describe()}: standardize '{standardize}' is neither {LowerAndStripPunctuation}, {Lower}, {StripPunctuation} nor null, and no function of that name was given or registered (TextVectorization.RegisterStandardize).", nameof(standardize));
                break;
        }

        if (standardizeFunction is not null && customStandardize is null)
        {
            throw new ArgumentException($"{Describe()}: a standardizeFunction needs a name of its own in standardize (got '{standardize ?? "null"}', a built-in).", nameof(standardize));
        }

        switch (split)
        {
            case null:
                splitKind = SplitKind.None;
                break;
            case Whitespace:
                splitKind = SplitKind.Whitespace;
                break;
            case Character:
                splitKind = SplitKind.Character;
                break;
            default:
                splitKind = SplitKind.Custom;
                customSplit = splitFunction ?? (CustomSplitters.TryGetValue(split, out var s) ? s : null)
                    ?? throw new ArgumentException($"{Describe()}: split '{split}' is neither {Whitespace}, {Character} nor null, and no function of that name was given or registered (TextVectorization.RegisterSplit).", nameof(split));
                break;
        }

        if (splitFunction is not null && customSplit is null)
        {
            throw new ArgumentException($"{Describe()}: a splitFunction needs a name of its own in split (got '{split ?? "null"}', a built-in).", nameof(split));
        }

        lookup = index.GetAlternateLookup<ReadOnlySpan<char>>();
        if (vocabulary is not null)
        {
            SetVocabulary(vocabulary);
            HasInputVocabulary = true;
        }
    }

    private enum SplitKind
    {
        None,
        Whitespace,
        Character,
        Custom,
    }

    public string Name { get; }

    public int? MaxTokens { get; }

    /// <summary>The standardization's name (null = none).</summary>
    public string? Standardize { get; }

    /// <summary>The split's name (null = none).</summary>
    public string? Split { get; }

    public string OutputMode { get; }

    public int? OutputSequenceLength { get; }

    /// <summary>True when the vocabulary was given to the constructor (Keras then refuses <see cref="Adapt"/>).</summary>
    public bool HasInputVocabulary { get; }

    /// <summary>Size of the vocabulary, padding and OOV included (Keras <c>vocabulary_size()</c>); the <c>inputDim</c> of the Embedding that follows.</summary>
    public int VocabularySize => tokens.Length + FirstTokenIndex;

    /// <summary>Registers a custom standardization under <paramref name="name"/> so a saved model that uses it can be loaded.</summary>
    public static void RegisterStandardize(string name, Func<string, string> function)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(function);
        if (name is LowerAndStripPunctuation or Lower or StripPunctuation)
        {
            throw new ArgumentException($"TextVectorization.RegisterStandardize: '{name}' is a built-in standardization.", nameof(name));
        }

        CustomStandardizers[name] = function;
    }

    /// <summary>Registers a custom split under <paramref name="name"/>.</summary>
    public static void RegisterSplit(string name, Func<string, IEnumerable<string>> function)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(function);
        if (name is Whitespace or Character)
        {
            throw new ArgumentException($"TextVectorization.RegisterSplit: '{name}' is a built-in split.", nameof(name));
        }

        CustomSplitters[name] = function;
    }

    /// <summary>
    /// Builds the vocabulary from <paramref name="corpus"/> (Keras <c>adapt</c>): every token's count,
    /// ordered by descending count, ties by descending code-point order, cut to <c>maxTokens − 2</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The corpus yields no token (empty vocabulary).</exception>
    /// <exception cref="InvalidOperationException">The vocabulary was given to the constructor.</exception>
    public void Adapt(IEnumerable<string> corpus)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        if (HasInputVocabulary)
        {
            throw new InvalidOperationException($"{Describe()}: cannot Adapt after a fixed vocabulary was given to the constructor (as Keras); use SetVocabulary to replace it.");
        }

        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var countLookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        long texts = 0;
        char[] scratch = new char[256];
        foreach (string? text in corpus)
        {
            if (text is null)
            {
                throw new ArgumentException($"{Describe()} Adapt: text {texts} of the corpus is null.", nameof(corpus));
            }

            texts++;
            ForEachToken(text, ref scratch, (ReadOnlySpan<char> token) =>
            {
                if (countLookup.TryGetValue(token, out long c))
                {
                    countLookup[token] = c + 1;
                }
                else
                {
                    countLookup[token] = 1;
                }
            });
        }

        // Keras removes the special tokens from the counts.
        counts.Remove(PaddingToken);
        counts.Remove(OovToken);
        if (counts.Count == 0)
        {
            throw new ArgumentException($"{Describe()} Adapt: the corpus ({texts} text{(texts == 1 ? string.Empty : "s")}) yields no token after standardize '{Standardize ?? "none"}' and split '{Split ?? "none"}'; an empty vocabulary cannot index anything.", nameof(corpus));
        }

        var ordered = counts.ToArray();
        Array.Sort(ordered, static (a, b) =>
        {
            int byCount = b.Value.CompareTo(a.Value);
            return byCount != 0 ? byCount : CompareCodePoints(b.Key, a.Key);
        });
        int keep = MaxTokens is { } max ? Math.Min(ordered.Length, max - FirstTokenIndex) : ordered.Length;
        Install(ordered.Take(keep).Select(kv => kv.Key).ToArray());
    }

    /// <summary>
    /// The vocabulary by index (Keras <c>get_vocabulary</c>): <c>["", "[UNK]", most frequent, …]</c>,
    /// or without the two special tokens.
    /// </summary>
    public IReadOnlyList<string> GetVocabulary(bool includeSpecialTokens = true)
    {
        RequireVocabulary("GetVocabulary");
        return includeSpecialTokens ? [PaddingToken, OovToken, .. tokens] : tokens.ToArray();
    }

    /// <summary>
    /// Replaces the vocabulary (Keras <c>set_vocabulary</c>). The list may start with <c>"", "[UNK]"</c>
    /// (as <see cref="GetVocabulary"/> returns it) or hold the learned tokens only; it must not be
    /// empty, repeat a token, hold the padding token <c>""</c> elsewhere, or exceed <see cref="MaxTokens"/>.
    /// </summary>
    public void SetVocabulary(IEnumerable<string> vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        var list = vocabulary.ToArray();
        if (list.Length == 0)
        {
            throw new ArgumentException($"{Describe()}: cannot set an empty vocabulary.", nameof(vocabulary));
        }

        var learned = list.Length >= FirstTokenIndex && list[0] == PaddingToken && list[1] == OovToken ? list[FirstTokenIndex..] : list;
        for (int i = 0; i < learned.Length; i++)
        {
            if (learned[i] is null)
            {
                throw new ArgumentException($"{Describe()}: vocabulary entry {i} is null.", nameof(vocabulary));
            }

            if (learned[i].Length == 0)
            {
                throw new ArgumentException($"{Describe()}: the padding token \"\" is at an unexpected place in the vocabulary; either leave both special tokens out or put them first, in this order: \"\", \"[UNK]\".", nameof(vocabulary));
            }
        }

        var repeated = learned.GroupBy(t => t, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).Take(5).ToArray();
        if (repeated.Length > 0)
        {
            throw new ArgumentException($"{Describe()}: the vocabulary repeats {string.Join(", ", repeated.Select(Quote))}; every token must be unique.", nameof(vocabulary));
        }

        if (MaxTokens is { } max && learned.Length + FirstTokenIndex > max)
        {
            throw new ArgumentException($"{Describe()}: a vocabulary of {learned.Length + FirstTokenIndex} tokens (special tokens included) exceeds maxTokens {max}.", nameof(vocabulary));
        }

        Install(learned);
    }

    /// <summary>The token at <paramref name="tokenIndex"/> ("" for 0, "[UNK]" for 1).</summary>
    public string TokenAt(int tokenIndex)
    {
        RequireVocabulary("TokenAt");
        return tokenIndex switch
        {
            0 => PaddingToken,
            1 => OovToken,
            _ when tokenIndex >= FirstTokenIndex && tokenIndex < VocabularySize => tokens[tokenIndex - FirstTokenIndex],
            _ => throw new ArgumentOutOfRangeException(nameof(tokenIndex), $"{Describe()}: token index must be in [0, {VocabularySize}), got {tokenIndex}."),
        };
    }

    /// <summary>The index of one token (1 when it is not in the vocabulary, 0 for "").</summary>
    public int IndexOf(ReadOnlySpan<char> token)
    {
        RequireVocabulary("IndexOf");
        return token.IsEmpty ? 0 : lookup.TryGetValue(token, out int id) ? id : 1;
    }

    /// <summary>The tokens of one text after standardization and splitting (no lookup).</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var list = new List<string>();
        char[] scratch = new char[256];
        ForEachToken(text, ref scratch, token => list.Add(token.ToString()));
        return list;
    }

    /// <summary>All token indices of one text, without padding or truncation (Keras <c>ragged=True</c>).</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        RequireVocabulary("Encode");
        var ids = new List<int>();
        char[] scratch = new char[256];
        ForEachToken(text, ref scratch, token => ids.Add(token.IsEmpty ? 0 : lookup.TryGetValue(token, out int id) ? id : 1));
        return [.. ids];
    }

    /// <summary>
    /// Vectorizes a batch of texts (Keras <c>layer(texts)</c>): <c>[texts, outputSequenceLength]</c>
    /// (or <c>[texts, longest]</c>) token indices as floats, 0-padded at the end, truncated from the end.
    /// Texts are processed on all cores; the result does not depend on the thread count.
    /// </summary>
    public Tensor Call(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        RequireVocabulary("Call");
        for (int i = 0; i < texts.Count; i++)
        {
            if (texts[i] is null)
            {
                throw new ArgumentException($"{Describe()}: text {i} is null.", nameof(texts));
            }
        }

        if (OutputSequenceLength is { } len)
        {
            var result = new Tensor([texts.Count, len]);
            var job = new EncodeJob(this, texts, result.Data, len, null);
            WorkerPool.Shared.For(Chunks(texts.Count), job);
            return result;
        }

        // Ragged first, then padded to the longest text of the batch.
        var ragged = new int[texts.Count][];
        var raggedJob = new EncodeJob(this, texts, null, 0, ragged);
        WorkerPool.Shared.For(Chunks(texts.Count), raggedJob);
        int longest = ragged.Length == 0 ? 0 : ragged.Max(r => r.Length);
        var padded = new Tensor([texts.Count, longest]);
        var data = padded.Data;
        for (int i = 0; i < ragged.Length; i++)
        {
            for (int t = 0; t < ragged[i].Length; t++)
            {
                data[(i * longest) + t] = ragged[i][t];
            }
        }

        return padded;
    }

    /// <summary>Keras-style config, the vocabulary included (with its special tokens).</summary>
    public JsonObject GetConfig()
    {
        var config = new JsonObject
        {
            ["name"] = Name,
            ["max_tokens"] = MaxTokens,
            ["standardize"] = Standardize,
            ["split"] = Split,
            ["output_mode"] = OutputMode,
            ["output_sequence_length"] = OutputSequenceLength,
            ["has_input_vocabulary"] = HasInputVocabulary,
        };
        if (hasVocabulary)
        {
            config["vocabulary"] = new JsonArray(GetVocabulary().Select(t => (JsonNode?)JsonValue.Create(t)).ToArray());
        }

        return config;
    }

    /// <summary>Rebuilds a vectorizer from <see cref="GetConfig"/>; custom functions must be registered under their names.</summary>
    public static TextVectorization FromConfig(JsonObject config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var vocabulary = config["vocabulary"] is JsonArray a
            ? a.Select(n => n?.GetValue<string>() ?? throw new ArgumentException("TextVectorization config: a vocabulary entry is null.")).ToArray()
            : null;
        bool fixedVocabulary = config.GetBool("has_input_vocabulary", false);
        var layer = new TextVectorization(
            maxTokens: config.GetIntOrNull("max_tokens"),
            standardize: config.GetStringOrNull("standardize"),
            split: config.GetStringOrNull("split"),
            outputMode: config.GetStringOrNull("output_mode") ?? "int",
            outputSequenceLength: config.GetIntOrNull("output_sequence_length"),
            vocabulary: fixedVocabulary ? vocabulary : null,
            name: config.GetStringOrNull("name"));
        if (!fixedVocabulary && vocabulary is not null)
        {
            layer.SetVocabulary(vocabulary);
        }

        return layer;
    }

    public override string ToString() => Describe();

    private static int Chunks(int count) => Math.Max(1, Math.Min(count, 64));

    private static string Quote(string s) => "\"" + s + "\"";

    private string Describe() => $"TextVectorization '{Name}'";

    private void RequireVocabulary(string method)
    {
        if (!hasVocabulary)
        {
            throw new InvalidOperationException($"{Describe()} {method}: no vocabulary yet; call Adapt(corpus) or SetVocabulary(tokens) first.");
        }
    }

    private void Install(string[] learned)
    {
        var map = new Dictionary<string, int>(learned.Length, StringComparer.Ordinal);
        for (int i = 0; i < learned.Length; i++)
        {
            map[learned[i]] = i + FirstTokenIndex;
        }

        tokens = learned;
        index = map;
        lookup = map.GetAlternateLookup<ReadOnlySpan<char>>();
        hasVocabulary = true;
    }

    /// <summary>Encodes a contiguous range of texts per job index, into a padded row or a ragged array.</summary>
    private readonly struct EncodeJob(TextVectorization owner, IReadOnlyList<string> texts, float[]? padded, int width, int[][]? ragged) : IParallelJob
    {
        public void Execute(int chunk) => owner.EncodeRange(texts, chunk, padded, width, ragged);
    }

    private void EncodeRange(IReadOnlyList<string> texts, int chunk, float[]? padded, int width, int[][]? ragged)
    {
        int chunks = Chunks(texts.Count);
        int start = (int)((long)texts.Count * chunk / chunks);
        int end = (int)((long)texts.Count * (chunk + 1) / chunks);
        char[] scratch = new char[1024];
        var ids = new List<int>(256);
        var map = lookup;
        int row = 0, at = 0;
        TokenAction toRow = token =>
        {
            if (at < width)
            {
                padded![row + at] = token.IsEmpty ? 0 : map.TryGetValue(token, out int id) ? id : 1;
            }

            at++;
        };
        TokenAction toList = token => ids.Add(token.IsEmpty ? 0 : map.TryGetValue(token, out int id) ? id : 1);
        for (int i = start; i < end; i++)
        {
            if (padded is not null)
            {
                row = i * width;
                at = 0;
                ForEachToken(texts[i], ref scratch, toRow);
            }
            else
            {
                ids.Clear();
                ForEachToken(texts[i], ref scratch, toList);
                ragged![i] = [.. ids];
            }
        }
    }
}
