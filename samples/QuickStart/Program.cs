// The README's quick start, verbatim: a one-step-ahead forecaster for a sine wave.
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Training;

Rng.SetGlobalSeed(42);                              // same weights and shuffles on every machine
var series = Enumerable.Range(0, 1200).Select(t => (float)Math.Sin(0.1 * t)).ToArray();
var windows = Enumerable.Range(0, 1180).Select(i => series[i..(i + 20)]).ToArray();
var x = Tensor.From(windows).Reshape(1180, 20, 1);  // [samples, time, features]
var y = Tensor.From(Enumerable.Range(0, 1180).Select(i => new[] { series[i + 20] }));

var model = new Sequential();
model.Add(new LSTM(32, inputShape: [20, 1]));
model.Add(new Dense(1));
model.Compile(new Adam(0.01), "mse");
model.Summary();
model.Fit(x, y, batchSize: 32, epochs: 5, validationSplit: 0.2, verbose: 2);
model.Save("sine.lstm");

var again = Model.Load("sine.lstm");
var next = again.Predict(Tensor.From(series[^20..]).Reshape(1, 20, 1));
Console.WriteLine($"next value: {next[0, 0]:0.000} (true: {Math.Sin(0.1 * 1200):0.000})");
