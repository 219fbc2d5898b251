using System.CommandLine;
using CyberCoop.Agent.Cli;

// An exception nothing caught ends the process; say what it was first (for an OutOfMemoryException the runtime
// itself prints only "Out of memory.", without the stack that tells a thread pool that could not start a thread
// from a real shortage of memory).
AppDomain.CurrentDomain.UnhandledException += static (_, e) =>
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
// Give `run` time to spool what it has read after SIGTERM/Ctrl+C (it stops waiting after 10 s itself).
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(15) };
return await AgentCommandLine.Build().Parse(args).InvokeAsync(invocation).ConfigureAwait(false);
