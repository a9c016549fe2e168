using System.Diagnostics;

namespace TeamComms.Server.Storage.Encryption;

/// <summary>
/// Test-only crash points. With <c>TEAMCOMMS_TEST_FAULT=&lt;point&gt;:&lt;n&gt;</c> in the environment, the process kills
/// itself (SIGKILL, no clean-up) the n-th time it reaches that point, so tests can check that a rotation interrupted
/// mid-way is finished by the next start. Unset in production; the variable has no other effect.
/// </summary>
internal static class FaultInjection
{
    private static readonly (string Point, int After)? s_fault = Parse(Environment.GetEnvironmentVariable("TEAMCOMMS_TEST_FAULT"));
    private static int s_hits;

    public static void Hit(string point)
    {
        if (s_fault is { } f && f.Point == point && Interlocked.Increment(ref s_hits) >= f.After)
        {
            Console.Error.WriteLine($"TEAMCOMMS_TEST_FAULT: killing the process at {point}");
            Console.Error.Flush();
            using var self = Process.GetCurrentProcess();
            self.Kill();
            Thread.Sleep(Timeout.Infinite);
        }
    }

    private static (string, int)? Parse(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }
        var parts = value.Split(':');
        return (parts[0], parts.Length > 1 && int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 1);
    }
}
