using CyberCoop.Gateway.Cli;

return await CliInvocation.InvokeAsync(GatewayCommandLine.Build(), args).ConfigureAwait(false);
