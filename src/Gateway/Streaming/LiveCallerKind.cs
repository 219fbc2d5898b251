namespace CyberCoop.Gateway.Streaming;

/// <summary>What a live stream's caller was admitted as; decides what a trust change can take away from it.</summary>
internal enum LiveCallerKind
{
    /// <summary>An agent of this node's own trust domain (Ingest).</summary>
    Agent,

    /// <summary>A configured peer gateway (Federation Exchange).</summary>
    Peer,
}
