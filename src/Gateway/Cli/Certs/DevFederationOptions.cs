using CyberCoop.Crypto;

namespace CyberCoop.Gateway.Cli.Certs;

/// <summary>How <see cref="DevFederation.Create"/> lays out a development federation.</summary>
internal sealed record DevFederationOptions
{
    /// <summary>Port of the first gateway when none is given.</summary>
    public const int DefaultBasePort = 7401;

    /// <summary>Loopback port of the first gateway; the others follow. 0 picks free ports (for tests and the demo).</summary>
    public int BasePort { get; init; } = DefaultBasePort;

    /// <summary>The nations; by default Estonia, Finland and Latvia.</summary>
    public IReadOnlyList<DevNation> Nations { get; init; } = DevNation.Defaults;

    /// <summary>Lifetime of the roots.</summary>
    public TimeSpan RootLifetime { get; init; } = TimeSpan.FromDays(365);

    /// <summary>Lifetime of gateway and agent certificates.</summary>
    public TimeSpan CertificateLifetime { get; init; } = CertificateAuthority.DefaultLeafLifetime;

    /// <summary>Delete the nations' folders of an earlier run instead of refusing.</summary>
    public bool Overwrite { get; init; }

    /// <summary>The clock the roots, certificates and trust bundles are dated by.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>One nation of the development federation.</summary>
/// <param name="TrustDomain">Its trust domain, e.g. <c>ee.cybercoop</c>.</param>
/// <param name="Gateway">Gateway name, e.g. <c>tallinn</c>.</param>
/// <param name="Agents">Names of its sensor agents.</param>
/// <param name="Sector">Critical-infrastructure sector its agents tag their sightings with.</param>
internal sealed record DevNation(string TrustDomain, string Gateway, IReadOnlyList<string> Agents, string Sector)
{
    /// <summary>Estonia (tallinn), Finland (helsinki) and Latvia (riga), two agents each.</summary>
    public static IReadOnlyList<DevNation> Defaults { get; } =
    [
        new("ee.cybercoop", "tallinn", ["grid-sensor", "port-sensor"], "energy"),
        new("fi.cybercoop", "helsinki", ["water-sensor", "telecom-sensor"], "water"),
        new("lv.cybercoop", "riga", ["rail-sensor", "bank-sensor"], "transport"),
    ];
}
