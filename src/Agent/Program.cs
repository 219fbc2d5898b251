using System.CommandLine;
using CyberCoop.Agent.Cli;
using CyberCoop.Diagnostics;

FatalExceptionReport.Install();
// Give `run` time to spool what it has read after SIGTERM/Ctrl+C (it stops waiting after 10 s itself).
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(15) };
return await AgentCommandLine.Build().Parse(args).InvokeAsync(invocation).ConfigureAwait(false);
