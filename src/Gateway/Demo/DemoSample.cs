using CyberCoop.Contracts.V1;
using static CyberCoop.Contracts.V1.IndicatorType;

namespace CyberCoop.Gateway.Demo;

/// <summary>One step of the replay: an agent of a nation reports a few detections in one batch.</summary>
/// <param name="Nation">Index of the nation (0 Estonia, 1 Finland, 2 Latvia).</param>
/// <param name="Agent">Index of the nation's agent.</param>
/// <param name="Detections">What it reports; one TLP class per step so bundles stay homogeneous and relays are visible.</param>
internal sealed record DemoStep(int Nation, int Agent, IReadOnlyList<DemoDetection> Detections);

/// <summary>
/// The demo's built-in sample: a fictional week on three nations' critical-infrastructure networks,
/// written for this project. Every address is from the documentation ranges (RFC 5737: 192.0.2.0/24,
/// 198.51.100.0/24, 203.0.113.0/24; RFC 3849: 2001:db8::/32), every domain under example TLDs, every
/// hash and fingerprint invented. CVE ids are real public advisories.
/// </summary>
internal static class DemoSample
{
    /// <summary>An address two nations both detect (their observations merge downstream).</summary>
    public const string SharedScanner = "203.0.113.66";

    /// <summary>The replay in order.</summary>
    public static IReadOnlyList<DemoStep> Steps { get; } = Build();

    /// <summary>Every detection with its nation.</summary>
    public static IEnumerable<(int Nation, DemoDetection Detection)> All() =>
        Steps.SelectMany(s => s.Detections.Select(d => (s.Nation, d)));

    private static DemoDetection D(IndicatorType type, string value, Tlp tlp, uint confidence, string sensor, string signature, params string[] tags) =>
        new(type, value, tlp, confidence, sensor, signature, tags);

    private static List<DemoStep> Build()
    {
        const int Ee = 0, Fi = 1, Lv = 2;
        const Tlp Clear = Tlp.Clear, Green = Tlp.Green, Amber = Tlp.Amber, Red = Tlp.Red;
        return
        [
            // Estonia, energy grid: a campaign against substation gateways.
            new(Ee, 0, [
                D(Ipv4, "198.51.100.23", Green, 85, "suricata-substation-north", "ET SCAN IEC-104 STARTDT from external host", "scanning", "ics"),
                D(Domain, "grid-update.example.net", Green, 80, "suricata-substation-north", "DNS query to suspected staging domain", "c2", "ics"),
            ]),
            new(Fi, 0, [
                D(Url, "http://invoice-portal.example.org/pay/2026-11", Green, 75, "zeek-water-dmz", "HTTP POST to credential harvesting page", "phishing"),
            ]),
            new(Lv, 0, [
                D(Ipv4, "192.0.2.144", Green, 80, "suricata-rail-signalling", "ET DOS possible NTP amplification inbound", "ddos"),
                D(Ipv4, SharedScanner, Green, 70, "suricata-rail-signalling", "ET SCAN Modbus TCP enumeration", "scanning", "ics"),
            ]),
            new(Ee, 1, [
                D(Sha256, "5f1c8a0e9b7d3c2a4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5", Amber, 90, "edr-port-cranes", "Wiper dropper quarantined on crane HMI", "wiper", "ics") with { InternalHost = "crane-hmi-04.port.internal" },
            ]),
            new(Fi, 1, [
                D(Ipv4, "203.0.113.17", Amber, 85, "zeek-telecom-core", "SSH brute force against core router", "bruteforce") with { InternalHost = "core-rtr-2.telecom.internal" },
                D(Ja3, "e7d705a3286e19ea42f587b344ee6865", Amber, 70, "zeek-telecom-core", "TLS client fingerprint of a known loader", "malware", "loader"),
            ]),
            new(Lv, 1, [
                D(Domain, "secure-login-bank.example.com", Green, 88, "proxy-bank-edge", "Typosquat of a national bank's login page", "phishing", "finance"),
            ]),
            new(Ee, 0, [
                D(Ipv4, "198.51.100.201", Red, 95, "suricata-substation-north", "Live C2 of an ongoing intrusion (investigation running)", "c2", "ics") with { InternalHost = "rtu-gw-17.grid.internal" },
            ]),
            new(Fi, 0, [
                D(Md5, "9a2f4c6e8b0d1f3a5c7e9b1d3f5a7c9e", Amber, 80, "edr-water-scada", "Ransomware loader blocked on historian", "ransomware") with { InternalHost = "historian-01.water.internal" },
                D(Email, "payroll-update@mail.example.org", Amber, 75, "mailgw-water", "Spear-phishing sender targeting plant operators", "phishing"),
            ]),
            new(Lv, 0, [
                D(Cve, "CVE-2024-3400", Clear, 100, "vuln-scanner-rail", "Exploitation attempts against VPN appliances", "exploit"),
            ]),
            new(Ee, 1, [
                D(Cve, "CVE-2023-46604", Clear, 100, "ids-port-ot", "Exploit attempts against message brokers in the port network", "exploit"),
                D(Url, "https://cdn-telemetry.example.net/fw/upd.bin", Clear, 80, "ids-port-ot", "Firmware download from unexpected host", "malware"),
            ]),
            new(Fi, 1, [
                D(Ipv4, "192.0.2.77", Red, 95, "zeek-telecom-core", "Source of lawful-intercept system probing (law enforcement case)", "espionage") with { InternalHost = "li-mediation-1.telecom.internal" },
            ]),
            new(Lv, 1, [
                D(Sha256, "c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2", Amber, 85, "edr-bank-branch", "Banking trojan detected on branch workstation", "banking-trojan", "finance") with { InternalHost = "branch-ws-112.bank.internal" },
            ]),
            new(Ee, 0, [
                D(Ipv4, SharedScanner, Green, 75, "suricata-substation-south", "ET SCAN Modbus TCP enumeration", "scanning", "ics"),
                D(Ipv6, "2001:db8:4a1::3f", Green, 70, "suricata-substation-south", "DNP3 unsolicited responses from outside the grid", "scanning", "ics"),
            ]),
            new(Fi, 0, [
                D(Domain, "water-quality-report.example.com", Green, 80, "zeek-water-dmz", "Watering-hole site serving a loader", "watering-hole"),
                D(Sha256, "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c", Green, 80, "edr-water-scada", "Loader served by the watering-hole site", "malware", "loader"),
            ]),
            new(Lv, 0, [
                D(Ipv4, "198.51.100.9", Amber, 80, "suricata-rail-signalling", "Beaconing from a signalling engineer's laptop", "c2", "internal") with { InternalHost = "eng-laptop-31.rail.internal" },
            ]),
            new(Ee, 1, [
                D(Ipv4, "203.0.113.250", Amber, 30, "ids-port-ot", "Single unusual connection, unconfirmed", "anomaly"),
                D(Domain, "portlogistics-track.example.org", Amber, 85, "ids-port-ot", "Phishing kit imitating the port's tracking portal", "phishing"),
            ]),
            new(Fi, 1, [
                D(Ipv4, "198.51.100.142", Green, 70, "zeek-telecom-core", "Reflective DDoS source hitting DNS resolvers", "ddos"),
            ]),
            new(Lv, 1, [
                D(Cidr, "198.51.100.77/24", Amber, 60, "proxy-bank-edge", "Malformed range from a misconfigured sensor", "ddos"),
                D(Domain, "cards-verify.example.net", Red, 95, "proxy-bank-edge", "Fraud infrastructure under a sealed court order", "fraud", "finance"),
            ]),
            new(Ee, 0, [
                D(Domain, "scada-vendor-support.example.com", Red, 90, "suricata-substation-north", "Impersonated vendor in an active incident", "c2", "ics"),
            ]),
            new(Fi, 0, [
                D(Cve, "CVE-2023-4966", Clear, 100, "vuln-scanner-water", "Session hijacking attempts against remote access gateways", "exploit"),
            ]),
            new(Lv, 0, [
                D(Url, "http://203.0.113.88/rail/timetable.hta", Green, 82, "proxy-rail-office", "HTA download posing as a timetable", "malware"),
                D(Ja3, "6734f37431670b3ab4292b8f60f29984", Green, 70, "proxy-rail-office", "TLS fingerprint of the HTA's downloader", "malware"),
            ]),
            new(Ee, 1, [
                D(Sha1, "3e5a7c9b1d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c", Green, 80, "edr-port-cranes", "Credential stealer on a logistics PC", "stealer"),
            ]),
            new(Fi, 1, [
                D(Asn, "AS64511", Green, 60, "zeek-telecom-core", "Bulletproof hosting behind several DDoS sources", "ddos", "hosting"),
            ]),
            new(Lv, 1, [
                D(Ipv4, "192.0.2.201", Amber, 90, "edr-bank-branch", "Exfiltration endpoint of the banking trojan", "banking-trojan", "finance"),
            ]),
        ];
    }
}
