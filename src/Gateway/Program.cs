using CyberCoop.Gateway.Cli;

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
return await CliInvocation.InvokeAsync(GatewayCommandLine.Build(), args).ConfigureAwait(false);
