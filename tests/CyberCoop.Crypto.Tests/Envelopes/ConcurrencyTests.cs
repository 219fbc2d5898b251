using CyberCoop.Contracts.V1;

namespace CyberCoop.Crypto.Tests;

/// <summary>Key pairs are shared by all gateway streams: they must work from many threads at once.</summary>
public sealed class ConcurrencyTests
{
    [Theory]
    [InlineData(Suite.X25519Aes256GcmEd25519)]
    [InlineData(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65)]
    public async Task Shared_keys_sign_verify_seal_and_open_correctly_in_parallel(Suite suite)
    {
        using var signing = SigningKeyPair.Generate(suite);
        using var kem = KemKeyPair.Generate(suite);
        var failures = 0;

        var tasks = Enumerable.Range(0, 4).Select(worker => Task.Run(() =>
        {
            for (var i = 0; i < 15; i++)
            {
                byte[] body = [(byte)worker, (byte)i, 1, 2, 3];
                var signature = ContentSignatures.Sign(SignaturePurpose.Bundle, body, signing);
                var envelope = EnvelopeCrypto.Seal(EnvelopeCryptoTests.NewHeader(), body, kem.PublicKey);
                var opened = EnvelopeCrypto.Open(envelope, kem);
                if (!ContentSignatures.Verify(SignaturePurpose.Bundle, opened.Plaintext, signature, signing.PublicKey) || !opened.Plaintext.AsSpan().SequenceEqual(body))
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }, TestContext.Current.CancellationToken));
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        Assert.Equal(0, failures);
    }
}
