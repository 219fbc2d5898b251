using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Interop.Stix;

/// <summary>
/// The official OASIS TLP 2.0 marking definitions (cti-stix-common-objects, extension
/// extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d). Never the TLP 1.0 ids, never invented ones.
/// </summary>
internal static class StixMarkings
{
    /// <summary>The TLP 2.0 property extension that the OASIS marking definitions carry.</summary>
    public const string Tlp2ExtensionId = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

    /// <summary>The <c>created</c> time of every OASIS TLP 2.0 marking definition.</summary>
    public const string Tlp2Created = "2022-10-01T00:00:00.000Z";

    public const string Clear = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
    public const string Green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
    public const string Amber = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
    public const string AmberStrict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
    public const string Red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

    /// <summary>The marking-definition id of a TLP level.</summary>
    public static string IdOf(Tlp tlp) => tlp switch
    {
        Tlp.Clear => Clear,
        Tlp.Green => Green,
        Tlp.Amber => Amber,
        Tlp.AmberStrict => AmberStrict,
        Tlp.Red => Red,
        _ => throw new ArgumentOutOfRangeException(nameof(tlp), tlp, "TLP is unspecified or unknown"),
    };

    /// <summary>The <c>tlp_2_0</c> value of the extension ("amber+strict").</summary>
    public static string LevelOf(Tlp tlp) => tlp switch
    {
        Tlp.Clear => "clear",
        Tlp.Green => "green",
        Tlp.Amber => "amber",
        Tlp.AmberStrict => "amber+strict",
        Tlp.Red => "red",
        _ => throw new ArgumentOutOfRangeException(nameof(tlp), tlp, "TLP is unspecified or unknown"),
    };

    /// <summary>
    /// The TLP of a marking reference: the TLP 2.0 ids, and the TLP 1.0 ids of STIX 2.1 section 7.2.1.4 read as their
    /// 2.0 equivalents (WHITE is CLEAR). Unknown ids: false.
    /// </summary>
    public static bool TryParse(string? markingId, out Tlp tlp)
    {
        tlp = markingId switch
        {
            Clear or "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9" => Tlp.Clear,
            Green or "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da" => Tlp.Green,
            Amber or "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82" => Tlp.Amber,
            AmberStrict => Tlp.AmberStrict,
            Red or "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed" => Tlp.Red,
            _ => Tlp.Unspecified,
        };
        return tlp != Tlp.Unspecified;
    }
}
