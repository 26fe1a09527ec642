// IMDB sentiment with a bidirectional LSTM: the review is read in both directions and the two
// final states are concatenated before the classifier.
//   dotnet run -c Release --project samples/ImdbBidirectional -- [data folder] [epochs]
using LstmSharp.Data;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Training;

string? dataFolder = args.Length > 0 ? args[0] : null;
int epochs = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;

Rng.SetGlobalSeed(42);
var imdb = Imdb.LoadData(numWords: 5000, options: new DatasetOptions { Path = dataFolder });
var xTrain = Sequences.PadSequences(imdb.TrainSequences, maxlen: 300);
var xTest = Sequences.PadSequences(imdb.TestSequences, maxlen: 300);
var yTrain = Column(imdb.TrainLabels);
var yTest = Column(imdb.TestLabels);

var model = new Sequential();
model.Add(new Embedding(5000, 15, inputShape: [300]));
model.Add(new Bidirectional(new LSTM(10)));
model.Add(new Dense(1, activation: "sigmoid"));
model.Summary();
model.Compile(new Adam(0.001), "binary_crossentropy", ["accuracy"]);
model.Fit(xTrain, yTrain, batchSize: 128, epochs: epochs, validationSplit: 0.2);
var (loss, accuracy) = model.Evaluate(xTest, yTest);
Console.WriteLine($"test loss {loss:0.0000}, test accuracy {accuracy:P2}");

static Tensor Column(int[] labels)
{
    var y = new Tensor(labels.Length, 1);
    for (int i = 0; i < labels.Length; i++)
    {
        y[i, 0] = labels[i];
    }

    return y;
}
