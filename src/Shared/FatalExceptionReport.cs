namespace CyberCoop.Diagnostics;

/// <summary>
/// An exception nothing caught ends the process; this says what it was first. For an OutOfMemoryException the runtime
/// itself prints only "Out of memory.", without the stack that tells a thread pool that could not start a thread (no
/// file descriptor left) from a real shortage of memory. Linked into the gateway and the agent.
/// </summary>
internal static class FatalExceptionReport
{
    /// <summary>Writes any exception nothing caught to stderr, with its stack, before the process ends.</summary>
    public static void Install() => AppDomain.CurrentDomain.UnhandledException += static (_, e) =>
    {
        try
        {
            Console.Error.WriteLine($"fatal: unhandled exception, the process ends: {e.ExceptionObject}");
        }
        catch (Exception)
        {
            // nothing more can be said
        }
    };
}
