using CyberCoop.Load;

// dotnet run -c Release --project bench/CyberCoop.Load -- e2e [--quick] [--no-doc]
// (the "sink" verb is the raw gRPC baseline's receiver, started by e2e as a child process).
return await LoadCommand.RunAsync(args);
