using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>Applies a Keras activation by name ("relu", "tanh", "sigmoid", "hard_sigmoid", "elu", "softsign", "softplus", "softmax" over the last axis, "linear").</summary>
public sealed class Activation : Layer
{
    public Activation(string activation, string? name = null, int[]? inputShape = null)
        : base(name, inputShape)
    {
        Function = LayerChecks.ActivationName(activation ?? throw new ArgumentNullException(nameof(activation), $"{Describe()}: activation is null."), Describe());
        SupportsMasking = true;
    }

    /// <summary>The canonical activation name.</summary>
    public string Function { get; }

    public static Activation FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        return new Activation(c.GetStringOrNull("activation") ?? "linear", b.Name, b.InputShape).WithBase(c);
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["activation"] = Function;
        return c;
    }

    protected override Tensor Call(Tensor input, Tensor? mask, bool training) => Ops.Activation(input, Function);
}
