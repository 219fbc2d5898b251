using CyberCoop.Gateway.Cli;

return await GatewayCommandLine.Build().Parse(args).InvokeAsync().ConfigureAwait(false);
