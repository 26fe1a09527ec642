// The reference article's MNIST program, line for line: each image is a sequence of 28 rows
// of 28 pixels, read by an LSTM of 128 units.
//   dotnet run -c Release --project samples/MnistLstm -- [data folder] [epochs]
using LstmSharp.Data;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Training;

string? dataFolder = args.Length > 0 ? args[0] : null;
int epochs = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20;

Rng.SetGlobalSeed(42);
var mnist = Mnist.LoadData(options: new DatasetOptions { Path = dataFolder });
var yTrain = Labels.ToCategorical(mnist.TrainLabels, 10);
var yTest = Labels.ToCategorical(mnist.TestLabels, 10);

var model = new Sequential();
model.Add(new LSTM(128, inputShape: [28, 28]));
model.Add(new Dense(10));
model.Add(new Activation("softmax"));
model.Summary();
model.Compile(new Adam(0.001), "categorical_crossentropy", ["accuracy"]);
model.Fit(mnist.TrainImages, yTrain, batchSize: 128, epochs: epochs, validationData: (mnist.TestImages, yTest));
var (loss, accuracy) = model.Evaluate(mnist.TestImages, yTest);
Console.WriteLine($"test loss {loss:0.0000}, test accuracy {accuracy:P2}");
model.Save("mnist-lstm.lstm");
