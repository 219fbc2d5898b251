using System.CommandLine;
using System.CommandLine.Invocation;
using CyberCoop.Agent.Cli;
using CyberCoop.Diagnostics;

FatalExceptionReport.Install();
// Give `run` time to spool what it has read after SIGTERM/Ctrl+C (it stops waiting after 10 s itself).
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(15) };
var parsed = AgentCommandLine.Build().Parse(args);
var exitCode = await parsed.InvokeAsync(invocation).ConfigureAwait(false);
// Usage errors the parser finds itself (an unknown option, a missing required one) exit 2 like the commands' own checks
// of arguments and config, not the parser's default 1 (which means a runtime error here).
return parsed.Action is ParseErrorAction && exitCode != 0 ? 2 : exitCode;
