using CyberCoop.Agent.Parsing;

namespace CyberCoop.Agent.Pipeline;

/// <summary>One configured source as the runner drives it: files followed on disk, or a feed polled over HTTPS.</summary>
internal interface ISourceReader : IDisposable
{
    /// <summary>Counts for this source.</summary>
    ParseDiagnostics Diagnostics { get; }

    /// <summary>Reads until cancelled; <paramref name="pollInterval"/> is the file poll interval (a feed has its own).</summary>
    Task RunAsync(TimeSpan pollInterval, TimeProvider time, CancellationToken cancellationToken);
}
