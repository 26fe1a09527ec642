using System.Security;
using System.Text.Json;
using System.Text.RegularExpressions;
using LstmSharp.Autograd;

namespace LstmSharp.Cli;

/// <summary>
/// The one error handler of every command: a user error (missing file, bad option, wrong shape,
/// unknown layer, a damaged file) prints one line <c>lstmsharp: ...</c> to standard error and
/// exits 1; anything else is a bug in lstmsharp and also prints one line (exit 2), with the
/// stack trace only when <c>LSTMSHARP_DEBUG=1</c>.
/// </summary>
internal static partial class CliErrors
{
    /// <summary>Exit code of a user error.</summary>
    public const int UserError = 1;

    /// <summary>Exit code of an unexpected error (a bug).</summary>
    public const int InternalError = 2;

    /// <summary>Runs <paramref name="body"/>, turning exceptions into one line on <paramref name="error"/> and an exit code.</summary>
    public static int Run(Func<int> body, TextWriter? error = null)
    {
        error ??= Console.Error;
        try
        {
            return body();
        }
        catch (Exception e) when (IsUserError(e))
        {
            error.WriteLine($"lstmsharp: {Describe(e)}");
            return UserError;
        }
        catch (Exception e)
        {
            error.WriteLine($"lstmsharp: internal error ({e.GetType().Name}): {Describe(e)}");
            if (Environment.GetEnvironmentVariable("LSTMSHARP_DEBUG") == "1")
            {
                error.WriteLine(e.ToString());
            }
            else
            {
                error.WriteLine("lstmsharp: this is a bug; run again with LSTMSHARP_DEBUG=1 for the stack trace and report it.");
            }

            return InternalError;
        }
    }

    /// <summary>Whether <paramref name="e"/> is something the user can fix (input, arguments, files), not a bug.</summary>
    public static bool IsUserError(Exception e) => e is ArgumentException or InvalidDataException or IOException or InvalidOperationException
        or NotSupportedException or KeyNotFoundException or FormatException or JsonException or UnauthorizedAccessException
        or SecurityException or AnomalyException or OperationCanceledException;

    /// <summary>The exception's message without .NET's internal suffixes (<c>(Parameter 'x')</c>, JSON reader positions).</summary>
    public static string Describe(Exception e)
    {
        string message = e switch
        {
            ArgumentException a when a.ParamName is { } p => a.Message.Replace($" (Parameter '{p}')", string.Empty, StringComparison.Ordinal),
            JsonException j when j.LineNumber is { } line => $"invalid JSON at line {line + 1}, byte {(j.BytePositionInLine ?? 0) + 1}: {JsonReason(j.Message)}",
            _ => e.Message,
        };
        message = ParameterSuffix().Replace(message, string.Empty);
        message = message.Replace(" Change the reader options.", string.Empty, StringComparison.Ordinal);
        return message.ReplaceLineEndings(" ").Trim();
    }

    private static string JsonReason(string message)
    {
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut >= 0 ? message[..cut] : message).TrimEnd('.', ' ') + ".";
    }

    [GeneratedRegex(@" \(Parameter '[^']*'\)")]
    private static partial Regex ParameterSuffix();
}
