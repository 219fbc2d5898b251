using CyberCoop.Diagnostics;
using CyberCoop.Gateway.Cli;

FatalExceptionReport.Install();
return await CliInvocation.InvokeAsync(GatewayCommandLine.Build(), args).ConfigureAwait(false);
