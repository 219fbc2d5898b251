namespace CyberCoop.Crypto;

/// <summary>The kind of workload a SPIFFE id names; the first path segment of the id.</summary>
public enum WorkloadKind
{
    /// <summary><c>spiffe://&lt;domain&gt;/gateway/&lt;name&gt;</c>: a federation gateway (TLS server and client).</summary>
    Gateway,

    /// <summary><c>spiffe://&lt;domain&gt;/agent/&lt;name&gt;</c>: a sensor agent (TLS client only).</summary>
    Agent,

    /// <summary><c>spiffe://&lt;domain&gt;/operator/&lt;name&gt;</c>: a human operator (TLS client only).</summary>
    Operator,

    /// <summary>
    /// <c>spiffe://&lt;domain&gt;/analyst/&lt;name&gt;</c>: a local analyst's tool reading the node's TAXII server
    /// (TLS client only; no gRPC service admits it).
    /// </summary>
    Analyst,
}
