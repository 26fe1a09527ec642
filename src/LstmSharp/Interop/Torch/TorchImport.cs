using System.Text.RegularExpressions;
using LstmSharp.Training;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;

namespace LstmSharp.Interop.Torch;

/// <summary>One line of the mapping a state dict was loaded with: which PyTorch tensor went to which weight, and how.</summary>
public sealed record TorchMapping(string TorchName, string ParameterPath, string Conversion)
{
    public override string ToString() => $"{TorchName} -> {ParameterPath}{(Conversion.Length > 0 ? $" ({Conversion})" : string.Empty)}";
}

/// <summary>
/// Loads PyTorch <c>state_dict</c>s into LstmSharp models. PyTorch modules are found by their
/// parameter names and mapped in order onto the model's layers that have weights:
/// an <c>nn.LSTM</c>/<c>nn.GRU</c>/<c>nn.RNN</c> of <c>num_layers</c> = k onto k consecutive
/// LSTM/GRU/SimpleRNN layers (<c>*_reverse</c> weights: each a <see cref="Bidirectional"/>
/// with merge mode concat), <c>nn.Linear</c> onto <see cref="Dense"/>, <c>nn.Embedding</c> onto
/// <see cref="Embedding"/>.
/// </summary>
/// <remarks>
/// <para>Weights: PyTorch stores <c>weight_ih_l{k}</c> as [gates·hidden, input] and computes
/// x·Wᵀ, Keras stores kernel [input, gates·units]: every matrix is transposed.</para>
/// <para>LSTM: PyTorch's gate rows i, f, g, o are Keras's blocks i, f, c, o; the two biases are
/// summed (they are only ever added). GRU: PyTorch's rows r, z, n become Keras's blocks z, r, h,
/// and since PyTorch applies r to (W_hn h + b_hn) the layer must have <c>reset_after = true</c>,
/// whose bias [2, 3·units] holds b_ih in row 0 and b_hh in row 1. Both use z the same way:
/// h_t = z·h_{t−1} + (1 − z)·n. SimpleRNN: tanh or relu as the layer's activation (the state dict
/// does not say which), biases summed. Missing PyTorch biases (<c>bias=False</c>) load as zeros.
/// <c>nn.LSTM(proj_size=P)</c>: <c>weight_hr_l{k}</c> [P, hidden] becomes the LSTM's
/// <c>projection_kernel</c> [units, P] (transposed); the layer needs <c>projSize: P</c>.</para>
/// </remarks>
public static class TorchImport
{
    private static readonly Regex RnnName = new(@"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d{1,4})(_reverse)?$", RegexOptions.CultureInvariant);

    /// <summary>
    /// Reads <paramref name="path"/> (<c>.pt</c> or <c>.safetensors</c>) and copies its weights
    /// into <paramref name="model"/>. <paramref name="map"/> pins PyTorch module prefixes to layer
    /// names (<c>{"encoder": "bidirectional"}</c>; a stack of k layers takes that layer and the
    /// k−1 after it); the other modules follow in order. Returns the mapping used.
    /// </summary>
    public static IReadOnlyList<TorchMapping> LoadTorchStateDict(this Model model, string path, IReadOnlyDictionary<string, string>? map = null) =>
        model.LoadTorchStateDict(TorchStateDict.Load(path), map);

    /// <summary>As <see cref="LoadTorchStateDict(Model, string, IReadOnlyDictionary{string, string}?)"/> for a state dict already read.</summary>
    public static IReadOnlyList<TorchMapping> LoadTorchStateDict(this Model model, TorchStateDict stateDict, IReadOnlyDictionary<string, string>? map = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stateDict);
        string file = stateDict.Source;
        var modules = Modules(stateDict);
        _ = model.Parameters; // builds the layers
        var targets = model.Layers.Where(l => l.Parameters.Count > 0).ToList();
        var assignment = Assign(file, modules, targets, map ?? new Dictionary<string, string>());
        var log = new List<TorchMapping>();
        var writes = new List<(Parameter P, float[] Values)>();
        foreach (var (module, layers) in assignment)
        {
            if (module.IsRnn)
            {
                for (int k = 0; k < layers.Count; k++)
                {
                    LoadRnnLayer(file, module, k, layers[k], writes, log);
                }
            }
            else
            {
                LoadDenseOrEmbedding(file, module, layers[0], writes, log);
            }
        }

        // Everything checked before the first weight changes: a misfit leaves the model as it was.
        foreach (var (p, values) in writes)
        {
            values.CopyTo(p.Value.Span);
        }

        return log;
    }

    /// <summary>
    /// A Sequential matching a plain <c>nn.LSTM</c>/<c>nn.GRU</c>/<c>nn.RNN</c> (batch_first) in
    /// <paramref name="stateDict"/> under <paramref name="prefix"/> ("" for a bare module): its
    /// kind from the gate count, its sizes, layers and directions from the weights' shapes; every
    /// layer returns sequences, as the PyTorch module does. The weights are loaded.
    /// <paramref name="nonlinearity"/> is nn.RNN's (tanh or relu; the file does not record it).
    /// </summary>
    public static Sequential BuildSequential(TorchStateDict stateDict, string prefix = "", string nonlinearity = "tanh")
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        if (nonlinearity is not ("tanh" or "relu"))
        {
            throw new ArgumentException($"TorchImport.BuildSequential: nonlinearity must be tanh or relu, got '{nonlinearity}'.", nameof(nonlinearity));
        }

        var module = Modules(stateDict).FirstOrDefault(m => m.Prefix == (prefix ?? string.Empty) && m.IsRnn)
            ?? throw new TorchFormatException(stateDict.Source, $"no nn.LSTM/GRU/RNN weights (weight_ih_l0, ...) under the prefix '{prefix}'");
        var model = new Sequential();
        for (int k = 0; k < module.LayerCount; k++)
        {
            var wih = module.Get($"weight_ih_l{k}")!;
            int units = module.Hidden;
            int input = wih.Shape[1];
            int[]? inputShape = k == 0 ? [-1, input] : null;
            bool bias = module.Get($"bias_ih_l{k}") is not null;
            RecurrentLayer layer = module.Gates switch
            {
                4 => new LSTM(units, useBias: bias, returnSequences: true, inputShape: module.Bidirectional ? null : inputShape, projSize: module.ProjSize),
                3 => new GRU(units, useBias: bias, returnSequences: true, resetAfter: true, inputShape: module.Bidirectional ? null : inputShape),
                _ => new SimpleRNN(units, activation: nonlinearity, useBias: bias, returnSequences: true, inputShape: module.Bidirectional ? null : inputShape),
            };
            model.Add(module.Bidirectional ? new Bidirectional(layer, "concat", inputShape: inputShape) : layer);
        }

        model.LoadTorchStateDict(stateDict, new Dictionary<string, string> { [module.Prefix] = model.Layers.First(l => l.Parameters.Count > 0).Name });
        return model;
    }

    private static List<(TorchModule Module, List<Layer> Layers)> Assign(string file, List<TorchModule> modules, List<Layer> targets, IReadOnlyDictionary<string, string> map)
    {
        var used = new bool[targets.Count];
        var result = new (TorchModule Module, List<Layer> Layers)?[modules.Count];
        foreach (var (prefix, layerName) in map)
        {
            int m = modules.FindIndex(x => x.Prefix == prefix);
            if (m < 0)
            {
                throw new TorchFormatException(file, $"--map '{prefix}={layerName}': the state dict has no module '{prefix}' (it has {string.Join(", ", modules.Select(x => x.Display))})");
            }

            int t = targets.FindIndex(l => l.Name == layerName);
            if (t < 0)
            {
                throw new TorchFormatException(file, $"--map '{prefix}={layerName}': the model has no layer with weights named '{layerName}' (it has {string.Join(", ", targets.Select(l => l.Name))})");
            }

            result[m] = (modules[m], Take(file, modules[m], targets, used, t));
        }

        int cursor = 0;
        for (int m = 0; m < modules.Count; m++)
        {
            if (result[m] is not null)
            {
                continue;
            }

            while (cursor < targets.Count && used[cursor])
            {
                cursor++;
            }

            if (cursor >= targets.Count)
            {
                throw new TorchFormatException(file, $"PyTorch module {modules[m].Display} has no model layer left to go to (model layers with weights: {string.Join(", ", targets.Select(l => l.Name))})");
            }

            result[m] = (modules[m], Take(file, modules[m], targets, used, cursor));
        }

        var left = targets.Where((_, i) => !used[i]).ToArray();
        if (left.Length > 0)
        {
            throw new TorchFormatException(file, $"model layer(s) {string.Join(", ", left.Select(l => $"{l.ClassName} '{l.Name}'"))} get no PyTorch weights (state dict modules: {string.Join(", ", modules.Select(x => x.Display))})");
        }

        return result.Select(r => r!.Value).ToList();
    }

    private static List<Layer> Take(string file, TorchModule module, List<Layer> targets, bool[] used, int start)
    {
        int n = module.IsRnn ? module.LayerCount : 1;
        var list = new List<Layer>();
        for (int i = start; i < start + n; i++)
        {
            if (i >= targets.Count || used[i])
            {
                throw new TorchFormatException(file, $"PyTorch module {module.Display} needs {n} consecutive model layers from '{targets[start].Name}', {(i >= targets.Count ? "the model ends" : $"'{targets[i].Name}' is already mapped")}");
            }

            used[i] = true;
            list.Add(targets[i]);
        }

        return list;
    }

    private static void LoadRnnLayer(string file, TorchModule module, int k, Layer layer, List<(Parameter, float[])> writes, List<TorchMapping> log)
    {
        if (module.Bidirectional)
        {
            if (layer is not Bidirectional bi)
            {
                throw Misfit(file, module, k, layer, "is bidirectional (has _reverse weights); the model layer must be a Bidirectional");
            }

            if (bi.MergeMode != "concat" || bi.Forward.GoBackwards)
            {
                throw Misfit(file, module, k, layer, $"concatenates [forward, backward]; the Bidirectional has merge_mode '{bi.MergeMode ?? "None"}'{(bi.Forward.GoBackwards ? " and a forward layer that goes backwards" : string.Empty)}");
            }

            LoadDirection(file, module, k, string.Empty, bi.Forward, writes, log);
            LoadDirection(file, module, k, "_reverse", bi.Backward, writes, log);
        }
        else
        {
            if (layer is not RecurrentLayer r)
            {
                throw Misfit(file, module, k, layer, $"is a recurrent layer; the model layer is {layer.ClassName}");
            }

            LoadDirection(file, module, k, string.Empty, r, writes, log);
        }
    }

    private static void LoadDirection(string file, TorchModule module, int k, string suffix, RecurrentLayer layer, List<(Parameter, float[])> writes, List<TorchMapping> log)
    {
        var wih = module.Get($"weight_ih_l{k}{suffix}") ?? throw Misfit(file, module, k, layer, $"lacks weight_ih_l{k}{suffix}");
        var whh = module.Get($"weight_hh_l{k}{suffix}") ?? throw Misfit(file, module, k, layer, $"lacks weight_hh_l{k}{suffix}");
        var bih = module.Get($"bias_ih_l{k}{suffix}");
        var bhh = module.Get($"bias_hh_l{k}{suffix}");
        int g = module.Gates;
        int h = module.Hidden, rec = module.RecurrentSize;
        int input = wih.Shape[1];
        string kind = g switch { 4 => "nn.LSTM", 3 => "nn.GRU", _ => "nn.RNN" };
        int[] order;
        string conversion;
        switch (layer)
        {
            case LSTM lstm when g == 4:
                if (lstm.Variant != (LstmVariant.Standard with { Activation = ActivationKind.Tanh, RecurrentActivation = ActivationKind.Sigmoid }))
                {
                    throw Misfit(file, module, k, layer, "is a standard LSTM (tanh, sigmoid gates, no peepholes); the model's LSTM is a different variant");
                }

                if (module.ProjSize != lstm.ProjSize)
                {
                    throw Misfit(file, module, k, layer, $"has proj_size={module.ProjSize} (weight_hr_l{k}{suffix}); the model's LSTM has projSize={lstm.ProjSize}");
                }

                order = [0, 1, 2, 3];
                conversion = "transposed; gates i,f,g,o = i,f,c,o";
                break;
            case GRU gru when g == 3:
                if (!gru.ResetAfter || gru.Activation != ActivationKind.Tanh || gru.RecurrentActivation != ActivationKind.Sigmoid)
                {
                    throw Misfit(file, module, k, layer, "applies the reset gate after the recurrent product with tanh/sigmoid; the model's GRU needs reset_after=true, activation tanh, recurrent_activation sigmoid");
                }

                order = [1, 0, 2]; // Keras block z, r, h <- PyTorch rows z (1), r (0), n (2)
                conversion = "transposed; gates r,z,n -> z,r,h";
                break;
            case SimpleRNN rnn when g == 1:
                if (rnn.Activation is not (ActivationKind.Tanh or ActivationKind.Relu))
                {
                    throw Misfit(file, module, k, layer, $"uses tanh or relu; the model's SimpleRNN uses {rnn.Activation.ToName()}");
                }

                order = [0];
                conversion = "transposed";
                break;
            default:
                throw Misfit(file, module, k, layer, $"is an {kind} (weight_hh_l{k}{suffix} {Tensor.FormatShape(whh.Shape)}); the model layer is {layer.ClassName} '{layer.Name}'");
        }

        var kernel = Param(layer, "kernel");
        var recurrent = Param(layer, "recurrent_kernel");
        var bias = layer.Parameters.FirstOrDefault(p => p.Name == "bias");
        var projection = module.ProjSize > 0 ? Param(layer, "projection_kernel") : null;
        var extra = layer.Parameters.Where(p => p.Name is not ("kernel" or "recurrent_kernel" or "bias") && p != projection).ToArray();
        if (extra.Length > 0)
        {
            throw Misfit(file, module, k, layer, $"has no weights for {string.Join(", ", extra.Select(p => p.Path))}");
        }

        Expect(file, wih, kernel, [input, g * h], transposed: true);
        Expect(file, whh, recurrent, [rec, g * h], transposed: true);
        writes.Add((kernel, TransposeBlocks(wih.Values, g, h, input, order)));
        writes.Add((recurrent, TransposeBlocks(whh.Values, g, h, rec, order)));
        log.Add(new(wih.Name, kernel.Path, conversion));
        log.Add(new(whh.Name, recurrent.Path, conversion));
        if (projection is not null)
        {
            var whr = module.Get($"weight_hr_l{k}{suffix}")!;
            Expect(file, whr, projection, [h, rec], transposed: true);
            writes.Add((projection, TransposeBlocks(whr.Values, 1, rec, h, [0])));
            log.Add(new(whr.Name, projection.Path, "transposed"));
        }

        foreach (var b in new[] { bih, bhh })
        {
            if (b is not null && !b.Shape.SequenceEqual([g * h]))
            {
                throw new TorchFormatException(file, $"'{b.Name}' is {Tensor.FormatShape(b.Shape)}, expected [{g * h}] beside {whh.Name} {Tensor.FormatShape(whh.Shape)}");
            }
        }

        if (bias is null)
        {
            if (bih is not null || bhh is not null)
            {
                throw Misfit(file, module, k, layer, $"has biases ({(bih ?? bhh)!.Name}); the model's {layer.ClassName} '{layer.Name}' has use_bias=false");
            }

            return;
        }

        float[] zero = new float[g * h];
        float[] bi = bih is null ? zero : Permute(bih.Values, h, order);
        float[] bh = bhh is null ? zero : Permute(bhh.Values, h, order);
        string names = string.Join(" + ", new[] { bih?.Name, bhh?.Name }.Where(n => n is not null).DefaultIfEmpty("(no bias: zeros)"));
        if (layer is GRU)
        {
            Expect(file, bih ?? bhh, bias, [2, g * h], transposed: false, names);
            writes.Add((bias, [.. bi, .. bh]));
            log.Add(new(names, bias.Path, "row 0 = b_ih, row 1 = b_hh; r,z,n -> z,r,h"));
        }
        else
        {
            Expect(file, bih ?? bhh, bias, [g * h], transposed: false, names);
            writes.Add((bias, bi.Zip(bh, (a, c) => a + c).ToArray()));
            log.Add(new(names, bias.Path, "summed"));
        }
    }

    private static void LoadDenseOrEmbedding(string file, TorchModule module, Layer layer, List<(Parameter, float[])> writes, List<TorchMapping> log)
    {
        var w = module.Get("weight")!;
        var b = module.Get("bias");
        if (w.Shape.Length != 2)
        {
            throw new TorchFormatException(file, $"'{w.Name}' is {Tensor.FormatShape(w.Shape)}; an nn.Linear or nn.Embedding weight is 2-D");
        }

        if (layer is TimeDistributed { Inner: Dense } td)
        {
            layer = td.Inner;
        }

        switch (layer)
        {
            case Embedding emb:
                if (b is not null)
                {
                    throw new TorchFormatException(file, $"PyTorch module {module.Display} has a bias, so it is an nn.Linear; model layer Embedding '{emb.Name}' has none");
                }

                var e = Param(emb, "embeddings");
                Expect(file, w, e, [w.Shape[0], w.Shape[1]], transposed: false);
                writes.Add((e, w.Values));
                log.Add(new(w.Name, e.Path, string.Empty));
                return;
            case Dense dense:
                var kernel = Param(dense, "kernel");
                Expect(file, w, kernel, [w.Shape[1], w.Shape[0]], transposed: true);
                writes.Add((kernel, TransposeBlocks(w.Values, 1, w.Shape[0], w.Shape[1], [0])));
                log.Add(new(w.Name, kernel.Path, "transposed"));
                var bias = dense.Parameters.FirstOrDefault(p => p.Name == "bias");
                if (bias is null && b is not null)
                {
                    throw new TorchFormatException(file, $"'{b.Name}' has no place: Dense '{dense.Name}' has use_bias=false");
                }

                if (bias is not null)
                {
                    Expect(file, b ?? w, bias, [w.Shape[0]], transposed: false, b?.Name ?? "(no bias: zeros)");
                    writes.Add((bias, b is null ? new float[w.Shape[0]] : CheckLength(file, b, w.Shape[0])));
                    log.Add(new(b?.Name ?? "(no bias)", bias.Path, b is null ? "zeros" : string.Empty));
                }

                return;
            default:
                throw new TorchFormatException(file, $"PyTorch module {module.Display} (weight {Tensor.FormatShape(w.Shape)}) is an nn.Linear or nn.Embedding; model layer {layer.ClassName} '{layer.Name}' is neither Dense nor Embedding");
        }
    }

    private static float[] CheckLength(string file, TorchTensor b, int n) =>
        b.Shape.SequenceEqual([n]) ? b.Values : throw new TorchFormatException(file, $"'{b.Name}' is {Tensor.FormatShape(b.Shape)}, expected [{n}]");

    private static void Expect(string file, TorchTensor? source, Parameter target, int[] converted, bool transposed, string? sourceName = null)
    {
        if (!target.Value.Shape.SequenceEqual(converted))
        {
            string shape = source is null ? string.Empty : " " + Tensor.FormatShape(source.Shape);
            throw new TorchFormatException(file, $"'{sourceName ?? source?.Name}'{shape} gives {Tensor.FormatShape(converted)}{(transposed ? " (transposed)" : string.Empty)}, but model weight '{target.Path}' is {Tensor.FormatShape(target.Value.Shape)}");
        }
    }

    private static Parameter Param(Layer layer, string name) =>
        layer.Parameters.FirstOrDefault(p => p.Name == name) ?? throw new InvalidOperationException($"{layer.ClassName} '{layer.Name}' has no weight '{name}'.");

    private static TorchFormatException Misfit(string file, TorchModule module, int k, Layer layer, string what) =>
        new(file, $"PyTorch {module.Display} layer {k} {what} (model layer {layer.ClassName} '{layer.Name}')");

    /// <summary>[G·h, cols] row blocks → [cols, G·h] with Keras block j taken from PyTorch block order[j].</summary>
    private static float[] TransposeBlocks(float[] w, int g, int h, int cols, int[] order)
    {
        var result = new float[cols * g * h];
        for (int j = 0; j < g; j++)
        {
            for (int u = 0; u < h; u++)
            {
                int srcRow = (order[j] * h) + u;
                for (int c = 0; c < cols; c++)
                {
                    result[(c * g * h) + (j * h) + u] = w[(srcRow * cols) + c];
                }
            }
        }

        return result;
    }

    private static float[] Permute(float[] b, int h, int[] order)
    {
        var result = new float[b.Length];
        for (int j = 0; j < order.Length; j++)
        {
            Array.Copy(b, order[j] * h, result, j * h, h);
        }

        return result;
    }

    private static List<TorchModule> Modules(TorchStateDict sd)
    {
        var modules = new List<TorchModule>();
        var byPrefix = new Dictionary<string, TorchModule>(StringComparer.Ordinal);
        foreach (var t in sd.Tensors)
        {
            int dot = t.Name.LastIndexOf('.');
            string prefix = dot < 0 ? string.Empty : t.Name[..dot];
            string local = t.Name[(dot + 1)..];
            if (!t.DType.IsFloat())
            {
                throw new TorchFormatException(sd.Source, $"'{t.Name}' is {t.DType}; LstmSharp reads the float weights of nn.LSTM/GRU/RNN, nn.Linear and nn.Embedding only");
            }

            if (!byPrefix.TryGetValue(prefix, out var m))
            {
                m = new TorchModule(prefix);
                byPrefix[prefix] = m;
                modules.Add(m);
            }

            if (!RnnName.IsMatch(local) && local is not ("weight" or "bias"))
            {
                throw new TorchFormatException(sd.Source, $"'{t.Name}' is not a weight of nn.LSTM/GRU/RNN (weight_ih_l0, ...), nn.Linear or nn.Embedding (weight, bias)");
            }

            m.Tensors[local] = t;
        }

        foreach (var m in modules)
        {
            m.Validate(sd.Source);
        }

        return modules;
    }

    private sealed class TorchModule(string prefix)
    {
        public string Prefix { get; } = prefix;

        public Dictionary<string, TorchTensor> Tensors { get; } = new(StringComparer.Ordinal);

        public bool IsRnn { get; private set; }

        public int LayerCount { get; private set; }

        public bool Bidirectional { get; private set; }

        /// <summary>4 (LSTM), 3 (GRU) or 1 (RNN), from weight_hh_l0's [G·h, h] (an LSTM with projection: [4h, P]).</summary>
        public int Gates { get; private set; }

        /// <summary>hidden_size h.</summary>
        public int Hidden { get; private set; }

        /// <summary>proj_size P (weight_hr_l0 [P, h]), 0 without a projection.</summary>
        public int ProjSize { get; private set; }

        /// <summary>Size of h as the recurrence and the next layer see it: P with a projection, else h.</summary>
        public int RecurrentSize => ProjSize > 0 ? ProjSize : Hidden;

        public string Display => Prefix.Length == 0 ? "'(root)'" : $"'{Prefix}'";

        public TorchTensor? Get(string local) => Tensors.TryGetValue(local, out var t) ? t : null;

        public void Validate(string file)
        {
            bool rnn = Tensors.Keys.Any(k => RnnName.IsMatch(k));
            bool plain = Tensors.Keys.Any(k => k is "weight" or "bias");
            if (rnn && plain)
            {
                throw new TorchFormatException(file, $"module {Display} mixes recurrent weights (weight_ih_l0, ...) with weight/bias");
            }

            if (!rnn)
            {
                if (Get("weight") is null)
                {
                    throw new TorchFormatException(file, $"module {Display} has a bias but no weight");
                }

                return;
            }

            IsRnn = true;
            Bidirectional = Tensors.Keys.Any(k => k.EndsWith("_reverse", StringComparison.Ordinal));
            while (Get($"weight_ih_l{LayerCount}") is not null)
            {
                LayerCount++;
            }

            if (LayerCount == 0)
            {
                throw new TorchFormatException(file, $"module {Display} has recurrent weights but no weight_ih_l0");
            }

            var whh = Get("weight_hh_l0") ?? throw new TorchFormatException(file, $"module {Display} lacks weight_hh_l0");
            if (Get("weight_hr_l0") is { } whr)
            {
                if (whr.Shape.Length != 2 || whr.Shape[0] <= 0 || whr.Shape[1] <= 0 || !whh.Shape.SequenceEqual([4 * whr.Shape[1], whr.Shape[0]]))
                {
                    throw new TorchFormatException(file, $"'{whr.Name}' is {Tensor.FormatShape(whr.Shape)} beside '{whh.Name}' {Tensor.FormatShape(whh.Shape)}; nn.LSTM(proj_size=P) has weight_hr [P, h] and weight_hh [4h, P]");
                }

                (Gates, Hidden, ProjSize) = (4, whr.Shape[1], whr.Shape[0]);
            }
            else if (whh.Shape.Length != 2 || whh.Shape[1] <= 0 || whh.Shape[0] % whh.Shape[1] != 0 || whh.Shape[0] / whh.Shape[1] is not (1 or 3 or 4))
            {
                throw new TorchFormatException(file, $"'{whh.Name}' is {Tensor.FormatShape(whh.Shape)}; nn.LSTM/GRU/RNN's is [4h, h], [3h, h] or [h, h]");
            }
            else
            {
                (Gates, Hidden) = (whh.Shape[0] / whh.Shape[1], whh.Shape[1]);
            }

            int h = Hidden, r = RecurrentSize;
            int expected = 0;
            for (int k = 0; k < LayerCount; k++)
            {
                foreach (string suffix in Bidirectional ? new[] { string.Empty, "_reverse" } : [string.Empty])
                {
                    var wih = Get($"weight_ih_l{k}{suffix}") ?? throw new TorchFormatException(file, $"module {Display} lacks weight_ih_l{k}{suffix}");
                    var hh = Get($"weight_hh_l{k}{suffix}") ?? throw new TorchFormatException(file, $"module {Display} lacks weight_hh_l{k}{suffix}");
                    if (!hh.Shape.SequenceEqual([Gates * h, r]))
                    {
                        throw new TorchFormatException(file, $"'{hh.Name}' is {Tensor.FormatShape(hh.Shape)}, expected [{Gates * h}, {r}] like weight_hh_l0");
                    }

                    if (wih.Shape.Length != 2 || wih.Shape[0] != Gates * h || (k > 0 && wih.Shape[1] != (Bidirectional ? 2 * r : r)))
                    {
                        throw new TorchFormatException(file, $"'{wih.Name}' is {Tensor.FormatShape(wih.Shape)}, expected [{Gates * h}, {(k == 0 ? "input" : (Bidirectional ? 2 * r : r).ToString(System.Globalization.CultureInfo.InvariantCulture))}]");
                    }

                    if (ProjSize > 0)
                    {
                        var hr = Get($"weight_hr_l{k}{suffix}");
                        if (hr is null || !hr.Shape.SequenceEqual([ProjSize, h]))
                        {
                            throw new TorchFormatException(file, $"module {Display}: weight_hr_l{k}{suffix} is {(hr is null ? "missing" : Tensor.FormatShape(hr.Shape))}, expected [{ProjSize}, {h}] like weight_hr_l0");
                        }

                        expected++;
                    }

                    expected += 2 + (Get($"bias_ih_l{k}{suffix}") is null ? 0 : 1) + (Get($"bias_hh_l{k}{suffix}") is null ? 0 : 1);
                }
            }

            if (expected != Tensors.Count)
            {
                var extra = Tensors.Keys.Where(key => RnnName.Match(key) is { Success: true } mm && int.Parse(mm.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) >= LayerCount).FirstOrDefault();
                throw new TorchFormatException(file, $"module {Display}: weights of {LayerCount} layer(s){(Bidirectional ? " in 2 directions" : string.Empty)} expected, found {Tensors.Count} tensors{(extra is null ? string.Empty : $" ('{extra}' has no weight_ih_l of its layer)")}");
            }
        }
    }
}
