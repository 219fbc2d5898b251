using System.Buffers.Binary;
using System.Security.Cryptography;

namespace CyberCoop.Crypto;

/// <summary>RFC 9180 §4 LabeledExtract / LabeledExpand over HKDF-SHA256 for one suite_id.</summary>
internal sealed class HpkeLabels
{
    public const int HashLength = 32;
    private static readonly byte[] s_version = "HPKE-v1"u8.ToArray();

    private readonly byte[] _suiteId;

    private HpkeLabels(byte[] suiteId) => _suiteId = suiteId;

    /// <summary>suite_id = "KEM" || I2OSP(kem_id, 2) (used inside a DHKEM).</summary>
    public static HpkeLabels ForKem(ushort kemId)
    {
        var id = new byte[5];
        "KEM"u8.CopyTo(id);
        BinaryPrimitives.WriteUInt16BigEndian(id.AsSpan(3), kemId);
        return new HpkeLabels(id);
    }

    /// <summary>suite_id = "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2).</summary>
    public static HpkeLabels ForHpke(ushort kemId, ushort kdfId, ushort aeadId)
    {
        var id = new byte[10];
        "HPKE"u8.CopyTo(id);
        BinaryPrimitives.WriteUInt16BigEndian(id.AsSpan(4), kemId);
        BinaryPrimitives.WriteUInt16BigEndian(id.AsSpan(6), kdfId);
        BinaryPrimitives.WriteUInt16BigEndian(id.AsSpan(8), aeadId);
        return new HpkeLabels(id);
    }

    public ReadOnlySpan<byte> SuiteId => _suiteId;

    /// <summary>Extract(salt, "HPKE-v1" || suite_id || label || ikm).</summary>
    public byte[] LabeledExtract(ReadOnlySpan<byte> salt, ReadOnlySpan<byte> label, ReadOnlySpan<byte> ikm)
    {
        var labeled = new byte[s_version.Length + _suiteId.Length + label.Length + ikm.Length];
        try
        {
            var span = labeled.AsSpan();
            s_version.CopyTo(span);
            span = span[s_version.Length..];
            _suiteId.CopyTo(span);
            span = span[_suiteId.Length..];
            label.CopyTo(span);
            ikm.CopyTo(span[label.Length..]);
            var prk = new byte[HashLength];
            HKDF.Extract(HashAlgorithmName.SHA256, labeled, salt, prk);
            return prk;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(labeled);
        }
    }

    /// <summary>Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L).</summary>
    public byte[] LabeledExpand(ReadOnlySpan<byte> prk, ReadOnlySpan<byte> label, ReadOnlySpan<byte> info, int length)
    {
        if (length is <= 0 or > 255 * HashLength)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"HKDF-SHA256 output length must be 1..{255 * HashLength}");
        }

        var labeledInfo = new byte[2 + s_version.Length + _suiteId.Length + label.Length + info.Length];
        var span = labeledInfo.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)length);
        span = span[2..];
        s_version.CopyTo(span);
        span = span[s_version.Length..];
        _suiteId.CopyTo(span);
        span = span[_suiteId.Length..];
        label.CopyTo(span);
        info.CopyTo(span[label.Length..]);
        var output = new byte[length];
        HKDF.Expand(HashAlgorithmName.SHA256, prk, output, labeledInfo);
        return output;
    }
}
