using System.CommandLine;
using LstmSharp.Distributed;

namespace LstmSharp.Cli;

/// <summary>
/// <c>mpi-check</c>: every collective of distributed training, run under <c>mpirun -np N</c> and
/// checked bit for bit on every rank (an MPI installation or a hostfile tried before a long job).
/// </summary>
internal static class DistributedCommands
{
    public static void AddTo(Command root) => root.Subcommands.Add(MpiCheck());

    /// <summary>The communicator of a <c>--distributed</c> run: MPI's world under an MPI launcher, else a group of one.</summary>
    public static ICommunicator Open() =>
        MpiCommunicator.LaunchedByMpirun ? MpiCommunicator.World() : InProcessCommunicator.Single();

    private static Command MpiCheck()
    {
        var cmd = new Command("mpi-check", "Run every collective used by --distributed training on all ranks (start with mpirun -np N) and check the results bit for bit; exit 1 if any rank saw a wrong result.");
        cmd.SetAction(_ => CliErrors.Run(() =>
        {
            using var comm = Open();
            var result = CommunicatorSelfTest.Run(comm);
            foreach (var failure in result.LocalFailures)
            {
                Console.Error.WriteLine($"lstmsharp: mpi-check: {failure}");
            }

            if (comm.Rank == 0)
            {
                Console.WriteLine($"{comm.Description}: {result.Checks} checks per rank, {(result.FailedOnAnyRank == 0 ? "all passed" : $"{result.FailedOnAnyRank} failed")}");
            }

            return result.FailedOnAnyRank == 0 ? 0 : CliErrors.UserError;
        }));
        return cmd;
    }
}
