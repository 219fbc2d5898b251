namespace CyberCoop.Gateway.Configuration;

/// <summary>
/// The node's TAXII 2.1 server (gateway.json <c>taxii</c>): read collections of what the node holds, for analysts'
/// tools (OpenCTI, MISP, any TAXII 2.1 client). HTTPS on its own port with the node's TLS certificate; callers
/// authenticate with an analyst certificate of this node's domain (<c>spiffe://&lt;domain&gt;/analyst/&lt;name&gt;</c>)
/// or HTTP basic with a secret whose PBKDF2 hash is listed here.
/// </summary>
internal sealed record TaxiiConfig
{
    /// <summary>HTTPS listen endpoint, <c>host:port</c>; must differ from node.listen.</summary>
    public string Listen { get; init; } = "127.0.0.1:7443";

    /// <summary>Largest page of objects a client may ask for (and the default page); 1-10,000.</summary>
    public int MaxPageSize { get; init; } = 1000;

    /// <summary>Analysts: their clearance, and for HTTP basic their secret's hash.</summary>
    public IReadOnlyList<TaxiiAnalystConfig> Analysts { get; init; } = [];
}

/// <summary>One analyst (or tool) allowed to read the TAXII server.</summary>
internal sealed record TaxiiAnalystConfig
{
    /// <summary>Name: the basic-auth user name, and the name in the analyst certificate's SPIFFE id.</summary>
    public string Name { get; init; } = "";

    /// <summary>
    /// PBKDF2 hash of the basic-auth secret (<c>pbkdf2-sha256$…</c>, made by <c>taxii hash-secret</c>); absent =
    /// certificate only.
    /// </summary>
    public string? SecretHash { get; init; }

    /// <summary>Highest TLP this analyst may read: CLEAR, GREEN, AMBER (default), AMBER+STRICT or RED.</summary>
    public string Clearance { get; init; } = "AMBER";

    /// <summary>
    /// True: this analyst may POST STIX bundles to the "outbound" collection (they go through the same validation and
    /// outbound policy as an agent's sightings); false (default): read only.
    /// </summary>
    public bool CanWrite { get; init; }
}
