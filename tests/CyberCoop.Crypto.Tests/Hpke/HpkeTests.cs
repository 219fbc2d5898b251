using System.Security.Cryptography;

namespace CyberCoop.Crypto.Tests;

public sealed class HpkeTests
{
    // RFC 9180 Appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, mode_base.
    private const string A1Info = "4f6465206f6e2061204772656369616e2055726e";
    private const string A1IkmE = "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234";
    private const string A1PkEm = "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431";
    private const string A1SkEm = "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736";
    private const string A1IkmR = "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037";
    private const string A1PkRm = "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d";
    private const string A1SkRm = "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8";
    private const string A1SharedSecret = "fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc";
    private const string A1KeyScheduleContext = "00725611c9d98c07c03f60095cd32d400d8347d45ed67097bbad50fc56da742d07cb6cffde367bb0565ba28bb02c90744a20f5ef37f30523526106f637abb05449";
    private const string A1Secret = "12fff91991e93b48de37e7daddb52981084bd8aa64289c3788471d9a9712f397";
    private const string A1Key = "4531685d41d65f03dc48f6b8302c05b0";
    private const string A1BaseNonce = "56d890e5accaaf011cff4b7d";
    private const string A1ExporterSecret = "45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8";
    private const string A1Plaintext = "4265617574792069732074727574682c20747275746820626561757479";

    private static readonly (int Seq, string Aad, string Nonce, string Ct)[] s_a1Encryptions =
    [
        (0, "436f756e742d30", "56d890e5accaaf011cff4b7d", "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a"),
        (1, "436f756e742d31", "56d890e5accaaf011cff4b7c", "af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab251c03d0c22a56b8ca42c2063b84"),
        (2, "436f756e742d32", "56d890e5accaaf011cff4b7f", "498dfcabd92e8acedc281e85af1cb4e3e31c7dc394a1ca20e173cb72516491588d96a19ad4a683518973dcc180"),
        (4, "436f756e742d34", "56d890e5accaaf011cff4b79", "583bd32bc67a5994bb8ceaca813d369bca7b2a42408cddef5e22f880b631215a09fc0012bc69fccaa251c0246d"),
        (255, "436f756e742d323535", "56d890e5accaaf011cff4b82", "7175db9717964058640a3a11fb9007941a5d1757fda1a6935c805c21af32505bf106deefec4a49ac38d71c9e0a"),
        (256, "436f756e742d323536", "56d890e5accaaf011cff4a7d", "957f9800542b0b8891badb026d79cc54597cb2d225b54c00c5238c25d05c30e3fbeda97d2e0e1aba483a2df9f2"),
    ];

    private static readonly (string Context, int Length, string Value)[] s_a1Exports =
    [
        ("", 32, "3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee"),
        ("00", 32, "2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5"),
        ("54657374436f6e74657874", 32, "e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931"),
    ];

    private static byte[] H(string hex) => Convert.FromHexString(hex);

    [Fact]
    public void Rfc9180_A1_derive_key_pair_reproduces_ephemeral_and_recipient_keys()
    {
        Assert.Equal(H(A1SkEm), DhKemX25519.DeriveKeyPair(H(A1IkmE)));
        Assert.Equal(H(A1SkRm), DhKemX25519.DeriveKeyPair(H(A1IkmR)));
        Assert.Equal(H(A1PkEm), X25519.PublicKey(H(A1SkEm)));
        Assert.Equal(H(A1PkRm), X25519.PublicKey(H(A1SkRm)));
    }

    [Fact]
    public void Rfc9180_A1_encap_and_key_schedule_reproduce_every_intermediate_value()
    {
        var sharedSecret = DhKemX25519.EncapDeterministic(H(A1PkRm), H(A1SkEm), out var enc);
        Assert.Equal(H(A1PkEm), enc);
        Assert.Equal(H(A1SharedSecret), sharedSecret);
        Assert.Equal(H(A1SharedSecret), DhKemX25519.Decap(enc, H(A1SkRm)));

        var values = Hpke.ComputeKeySchedule(Hpke.KemIdX25519, HpkeAead.Aes128Gcm, sharedSecret, H(A1Info));

        Assert.Equal(H(A1KeyScheduleContext), values.KeyScheduleContext);
        Assert.Equal(H(A1Secret), values.Secret);
        Assert.Equal(H(A1Key), values.Key);
        Assert.Equal(H(A1BaseNonce), values.BaseNonce);
        Assert.Equal(H(A1ExporterSecret), values.ExporterSecret);
    }

    [Fact]
    public void Rfc9180_A1_sender_produces_the_listed_ciphertexts_at_each_sequence_number()
    {
        using var sender = Hpke.SetupBaseSenderDeterministic(H(A1PkRm), H(A1SkEm), H(A1Info), out var enc, out _, HpkeAead.Aes128Gcm);
        Assert.Equal(H(A1PkEm), enc);
        foreach (var (seq, aad, _, ct) in s_a1Encryptions)
        {
            AdvanceSender(sender, (ulong)seq);
            Assert.Equal(H(ct), sender.Seal(H(aad), H(A1Plaintext)));
        }
    }

    [Fact]
    public void Rfc9180_A1_recipient_opens_the_listed_ciphertexts_and_exports_the_listed_values()
    {
        using var recipient = Hpke.SetupBaseRecipient(H(A1SkRm), H(A1PkEm), H(A1Info), HpkeAead.Aes128Gcm);
        Assert.Equal(H(A1BaseNonce), recipient.BaseNonce.ToArray());
        foreach (var (seq, aad, _, ct) in s_a1Encryptions)
        {
            AdvanceRecipient(recipient, (ulong)seq);
            Assert.Equal(H(A1Plaintext), recipient.Open(H(aad), H(ct)));
        }

        foreach (var (context, length, value) in s_a1Exports)
        {
            Assert.Equal(H(value), recipient.Export(H(context), length));
        }
    }

    [Fact]
    public void Rfc9180_A1_from_the_rfc_text_matches_including_intermediate_values()
    {
        var path = Vectors.Require("rfc9180_appendixA_x25519_sha256_draft_md.txt");
        var v = HpkeVectorFile.ReadRfcAppendixBase(path, "AES-128-GCM");
        Assert.Equal(0, v.Int("mode"));
        Assert.Equal(32, v.Int("kem_id"));
        Assert.Equal(1, v.Int("kdf_id"));
        Assert.Equal(1, v.Int("aead_id"));
        Assert.Equal(v.Bytes("skEm"), DhKemX25519.DeriveKeyPair(v.Bytes("ikmE")));
        Assert.Equal(v.Bytes("skRm"), DhKemX25519.DeriveKeyPair(v.Bytes("ikmR")));

        var shared = DhKemX25519.EncapDeterministic(v.Bytes("pkRm"), v.Bytes("skEm"), out var enc);
        Assert.Equal(v.Bytes("enc"), enc);
        Assert.Equal(v.Bytes("shared_secret"), shared);
        var values = Hpke.ComputeKeySchedule(Hpke.KemIdX25519, HpkeAead.Aes128Gcm, shared, v.Bytes("info"));
        Assert.Equal(v.Bytes("key_schedule_context"), values.KeyScheduleContext);
        Assert.Equal(v.Bytes("secret"), values.Secret);
        Assert.Equal(v.Bytes("key"), values.Key);
        Assert.Equal(v.Bytes("base_nonce"), values.BaseNonce);
        Assert.Equal(v.Bytes("exporter_secret"), values.ExporterSecret);

        Assert.Equal(6, v.Encryptions.Count);
        using var sender = Hpke.SetupBaseSenderDeterministic(v.Bytes("pkRm"), v.Bytes("skEm"), v.Bytes("info"), out _, out _, HpkeAead.Aes128Gcm);
        using var recipient = Hpke.SetupBaseRecipient(v.Bytes("skRm"), v.Bytes("enc"), v.Bytes("info"), HpkeAead.Aes128Gcm);
        foreach (var e in v.Encryptions)
        {
            var seq = ulong.Parse(e["sequence number"], System.Globalization.CultureInfo.InvariantCulture);
            AdvanceSender(sender, seq);
            AdvanceRecipient(recipient, seq);
            Assert.Equal(Vectors.Hex(e["ct"]), sender.Seal(Vectors.Hex(e["aad"]), Vectors.Hex(e["pt"])));
            Assert.Equal(Vectors.Hex(e["pt"]), recipient.Open(Vectors.Hex(e["aad"]), Vectors.Hex(e["ct"])));
        }

        Assert.Equal(3, v.Exports.Count);
        foreach (var x in v.Exports)
        {
            var length = int.Parse(x["L"], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(Vectors.Hex(x["exported_value"]), sender.Export(Vectors.Hex(x["exporter_context"]), length));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Rfc9180_base_mode_vector_set_matches_every_encryption_and_export(int aeadId)
    {
        var path = Vectors.Require("rfc9180_hpke_x25519_sha256_boringssl.txt");
        var cases = HpkeVectorFile.ReadBoringSsl(path).Where(c => c.Int("mode") == 0 && c.Int("aead_id") == aeadId).ToList();
        Assert.Single(cases);
        var v = cases[0];
        Assert.Equal(1, v.Int("kdf_id"));
        var aead = (HpkeAead)aeadId;

        using var sender = Hpke.SetupBaseSenderDeterministic(v.Bytes("pkRm"), v.Bytes("skEm"), v.Bytes("info"), out var enc, out _, aead);
        Assert.Equal(v.Bytes("pkEm"), enc);
        using var recipient = Hpke.SetupBaseRecipient(v.Bytes("skRm"), enc, v.Bytes("info"), aead);
        Assert.True(v.Encryptions.Count >= 257, $"expected the full encryption list, found {v.Encryptions.Count}");
        foreach (var e in v.Encryptions)
        {
            var aad = Vectors.Hex(e["aad"]);
            var ct = Vectors.Hex(e["ct"]);
            Assert.Equal(ct, sender.Seal(aad, Vectors.Hex(e["pt"])));
            Assert.Equal(Vectors.Hex(e["pt"]), recipient.Open(aad, ct));
        }

        Assert.NotEmpty(v.Exports);
        foreach (var x in v.Exports)
        {
            var context = Vectors.Hex(x["exporter_context"]);
            var length = int.Parse(x["L"], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(Vectors.Hex(x["exported_value"]), sender.Export(context, length));
            Assert.Equal(Vectors.Hex(x["exported_value"]), recipient.Export(context, length));
        }
    }

    [Theory]
    [InlineData(HpkeAead.Aes128Gcm)]
    [InlineData(HpkeAead.Aes256Gcm)]
    public void Single_shot_seal_opens_with_the_matching_private_key(HpkeAead aead)
    {
        var (sk, pk) = NewKeyPair();
        var sealedMessage = Hpke.Seal(pk, "info"u8, "aad"u8, "hello"u8, aead);

        Assert.Equal(32, sealedMessage.Enc.Length);
        Assert.Equal("hello"u8.ToArray(), Hpke.Open(sk, sealedMessage.Enc, "info"u8, "aad"u8, sealedMessage.Ciphertext, aead));
    }

    public static TheoryData<string, int> Tamperings => new()
    {
        { "enc", 0 }, { "enc", 31 }, { "ciphertext", 0 }, { "ciphertext", 4 }, { "tag", 0 }, { "tag", 15 }, { "aad", 0 }, { "info", 0 },
    };

    [Theory]
    [MemberData(nameof(Tamperings))]
    public void Any_flipped_bit_fails_to_open(string part, int index)
    {
        var (sk, pk) = NewKeyPair();
        byte[] info = [1, 2, 3], aad = [4, 5, 6];
        var s = Hpke.Seal(pk, info, aad, "attack at dawn"u8);
        var enc = (byte[])s.Enc.Clone();
        var ct = (byte[])s.Ciphertext.Clone();
        switch (part)
        {
            case "enc": enc[index] ^= 0x01; break;
            case "ciphertext": ct[index] ^= 0x80; break;
            case "tag": ct[ct.Length - 16 + index] ^= 0x01; break;
            case "aad": aad[index] ^= 0x01; break;
            case "info": info[index] ^= 0x01; break;
        }

        Assert.ThrowsAny<CryptographicException>(() => Hpke.Open(sk, enc, info, aad, ct));
    }

    [Fact]
    public void Wrong_recipient_key_fails_to_open()
    {
        var (_, pk) = NewKeyPair();
        var (otherSk, _) = NewKeyPair();
        var s = Hpke.Seal(pk, [], [], "secret"u8);

        Assert.ThrowsAny<CryptographicException>(() => Hpke.Open(otherSk, s.Enc, [], [], s.Ciphertext));
    }

    [Fact]
    public void Ciphertext_sealed_with_one_aead_does_not_open_with_the_other()
    {
        var (sk, pk) = NewKeyPair();
        var s = Hpke.Seal(pk, [], [], "secret"u8, HpkeAead.Aes128Gcm);

        Assert.ThrowsAny<CryptographicException>(() => Hpke.Open(sk, s.Enc, [], [], s.Ciphertext, HpkeAead.Aes256Gcm));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    public void Encapsulated_key_of_wrong_length_is_rejected_as_malformed(int length)
    {
        var (sk, _) = NewKeyPair();

        var ex = Assert.Throws<KeyFormatException>(() => Hpke.Open(sk, new byte[length], [], [], new byte[32]));
        Assert.Contains("encapsulated key", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(64)]
    public void Keys_of_wrong_length_are_rejected_as_malformed(int length)
    {
        var (_, pk) = NewKeyPair();
        var s = Hpke.Seal(pk, [], [], "x"u8);

        Assert.Throws<KeyFormatException>(() => Hpke.Seal(new byte[length], [], [], "x"u8));
        Assert.Throws<KeyFormatException>(() => Hpke.Open(new byte[length], s.Enc, [], [], s.Ciphertext));
    }

    [Fact]
    public void Small_order_encapsulated_key_is_rejected()
    {
        var (sk, _) = NewKeyPair();

        Assert.ThrowsAny<CryptographicException>(() => Hpke.Open(sk, new byte[32], [], [], new byte[32]));
    }

    [Fact]
    public void Small_order_recipient_public_key_is_refused_by_the_sender()
    {
        Assert.ThrowsAny<CryptographicException>(() => Hpke.Seal(new byte[32], [], [], "x"u8));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    public void Ciphertext_shorter_than_the_tag_fails_without_plaintext(int length)
    {
        var (sk, pk) = NewKeyPair();
        var s = Hpke.Seal(pk, [], [], "x"u8);

        Assert.ThrowsAny<CryptographicException>(() => Hpke.Open(sk, s.Enc, [], [], new byte[length]));
    }

    [Fact]
    public void Unknown_aead_id_is_rejected()
    {
        var (_, pk) = NewKeyPair();

        Assert.Throws<ArgumentOutOfRangeException>(() => Hpke.Seal(pk, [], [], "x"u8, (HpkeAead)3));
    }

    [Fact]
    public void Context_carries_sequence_so_messages_open_in_order_only()
    {
        var (sk, pk) = NewKeyPair();
        using var sender = Hpke.SetupBaseSender(pk, "i"u8, out var enc);
        var first = sender.Seal([], "one"u8);
        var second = sender.Seal([], "two"u8);
        using var recipient = Hpke.SetupBaseRecipient(sk, enc, "i"u8);

        Assert.ThrowsAny<CryptographicException>(() => recipient.Open([], second));
        Assert.Equal("one"u8.ToArray(), recipient.Open([], first));
        Assert.Equal("two"u8.ToArray(), recipient.Open([], second));
        Assert.Equal(2ul, recipient.Sequence);
    }

    [Fact]
    public void Sender_context_cannot_open_and_recipient_context_cannot_seal()
    {
        var (sk, pk) = NewKeyPair();
        using var sender = Hpke.SetupBaseSender(pk, [], out var enc);
        using var recipient = Hpke.SetupBaseRecipient(sk, enc, []);

        Assert.Throws<InvalidOperationException>(() => sender.Open([], new byte[16]));
        Assert.Throws<InvalidOperationException>(() => recipient.Seal([], [1]));
        Assert.Equal(sender.Export("ctx"u8, 42), recipient.Export("ctx"u8, 42));
    }

    [Fact]
    public void Single_shot_export_agrees_between_sender_and_recipient_and_depends_on_context()
    {
        var (sk, pk) = NewKeyPair();

        var sent = Hpke.SendExport(pk, "info"u8, "purpose-a"u8, 48, out var enc);
        var received = Hpke.ReceiveExport(sk, enc, "info"u8, "purpose-a"u8, 48);
        var other = Hpke.ReceiveExport(sk, enc, "info"u8, "purpose-b"u8, 48);

        Assert.Equal(48, sent.Length);
        Assert.Equal(sent, received);
        Assert.NotEqual(sent, other);
        Assert.Throws<ArgumentOutOfRangeException>(() => Hpke.ReceiveExport(sk, enc, "info"u8, [], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Hpke.ReceiveExport(sk, enc, "info"u8, [], (255 * 32) + 1));
    }

    [Fact]
    public void Disposed_context_refuses_to_work()
    {
        var (_, pk) = NewKeyPair();
        var sender = Hpke.SetupBaseSender(pk, [], out _);
        sender.Dispose();

        Assert.Throws<ObjectDisposedException>(() => sender.Seal([], [1]));
    }

    private static (byte[] Sk, byte[] Pk) NewKeyPair()
    {
        var sk = X25519.GeneratePrivateKey();
        return (sk, X25519.PublicKey(sk));
    }

    private static void AdvanceSender(HpkeContext context, ulong target)
    {
        while (context.Sequence < target)
        {
            context.Seal([], []);
        }
    }

    private static void AdvanceRecipient(HpkeContext context, ulong target)
    {
        // A recipient advances only by opening; use a twin sender with the same secrets to produce filler.
        while (context.Sequence < target)
        {
            var filler = SealAt(context, context.Sequence);
            context.Open([], filler);
        }
    }

    private static byte[] SealAt(HpkeContext recipient, ulong sequence)
    {
        using var aes = new AesGcm(recipient.Key, 16);
        var nonce = recipient.BaseNonce.ToArray();
        for (var i = 0; i < 8; i++)
        {
            nonce[^(i + 1)] ^= (byte)(sequence >> (8 * i));
        }

        var tag = new byte[16];
        aes.Encrypt(nonce, ReadOnlySpan<byte>.Empty, Span<byte>.Empty, tag, ReadOnlySpan<byte>.Empty);
        return tag;
    }
}
