using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace CyberCoop.Crypto.Tests;

public sealed class PemFilesTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CertificateAuthority _ca = CertificateAuthority.CreateRoot("ee.cybercoop");

    public void Dispose()
    {
        _ca.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Certificate_and_key_round_trip_and_key_file_is_0600()
    {
        using var leaf = _ca.Issue(SpiffeId.Gateway("ee.cybercoop", "tallinn"));
        PemFiles.WriteCertificate(_dir.File("gw.pem"), leaf);
        PemFiles.WritePrivateKey(_dir.File("gw.key"), leaf);

        using var loaded = PemFiles.LoadCertificateWithKey(_dir.File("gw.pem"), _dir.File("gw.key"));
        using var publicOnly = PemFiles.LoadCertificate(_dir.File("gw.pem"));

        Assert.True(loaded.HasPrivateKey);
        Assert.Equal(leaf.RawData, loaded.RawData);
        Assert.Equal(leaf.RawData, publicOnly.RawData);
        Assert.False(publicOnly.HasPrivateKey);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDirectory.ModeOf(_dir.File("gw.key")));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(_dir.File("gw.key")), StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", File.ReadAllText(_dir.File("gw.pem")), StringComparison.Ordinal);
    }

    [Fact]
    public void Rewriting_a_key_file_replaces_it_atomically_and_keeps_0600()
    {
        using var a = _ca.Issue(SpiffeId.Agent("ee.cybercoop", "a"));
        using var b = _ca.Issue(SpiffeId.Agent("ee.cybercoop", "b"));
        PemFiles.WritePrivateKey(_dir.File("k.key"), a);
        PemFiles.WritePrivateKey(_dir.File("k.key"), b);
        PemFiles.WriteCertificate(_dir.File("b.pem"), b);

        using var loaded = PemFiles.LoadCertificateWithKey(_dir.File("b.pem"), _dir.File("k.key"));

        Assert.True(loaded.HasPrivateKey);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDirectory.ModeOf(_dir.File("k.key")));
        Assert.Equal(["b.pem", "k.key"], Directory.GetFiles(_dir.Path).Select(f => Path.GetFileName(f)!).Order().ToArray());
    }

    [Fact]
    public void Chain_file_round_trips_in_order()
    {
        using var intermediate = _ca.CreateIntermediate("i1");
        using var leaf = intermediate.Issue(SpiffeId.Agent("ee.cybercoop", "a"));
        PemFiles.WriteCertificateChain(_dir.File("chain.pem"), [leaf, intermediate.Certificate, _ca.Certificate]);

        var loaded = PemFiles.LoadCertificates(_dir.File("chain.pem"));

        Assert.Equal(3, loaded.Count);
        Assert.Equal(leaf.RawData, loaded[0].RawData);
        Assert.Equal(intermediate.Certificate.RawData, loaded[1].RawData);
        Assert.Equal(_ca.Certificate.RawData, loaded[2].RawData);
    }

    [Fact]
    public async Task Loaded_certificate_with_key_works_for_a_loopback_tls_handshake()
    {
        using var leaf = _ca.Issue(SpiffeId.Gateway("ee.cybercoop", "tallinn"));
        PemFiles.WriteCertificate(_dir.File("gw.pem"), leaf);
        PemFiles.WritePrivateKey(_dir.File("gw.key"), leaf);
        using var serverCert = PemFiles.LoadCertificateWithKey(_dir.File("gw.pem"), _dir.File("gw.key"));
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var validator = new ChainValidator([TrustAnchor.FromRoot(_ca.Certificate)]);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(20));

        var serverTask = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync(cts.Token);
            using var tls = new SslStream(socket.GetStream());
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = serverCert, EnabledSslProtocols = SslProtocols.Tls13 }, cts.Token);
            await tls.WriteAsync(new byte[] { 42 }, cts.Token);
        }, cts.Token);
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        using var clientTls = new SslStream(client.GetStream());
        ChainValidationResult? seen = null;
        await clientTls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, cert, chain, _) =>
            {
                seen = validator.Validate(cert as System.Security.Cryptography.X509Certificates.X509Certificate2, null, CertificatePurpose.Server);
                return seen.IsValid;
            },
        }, cts.Token);
        var buffer = new byte[1];
        var read = await clientTls.ReadAsync(buffer, cts.Token);
        await serverTask;

        Assert.Equal(1, read);
        Assert.Equal(42, buffer[0]);
        Assert.NotNull(seen);
        Assert.Equal(SpiffeId.Gateway("ee.cybercoop", "tallinn"), seen!.Id);
    }

    [Fact]
    public void Missing_certificate_file_is_named()
    {
        var ex = Assert.Throws<CryptoFileException>(() => PemFiles.LoadCertificate(_dir.File("missing.pem")));

        Assert.Equal(_dir.File("missing.pem"), ex.Path);
        Assert.Contains("not found", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void File_without_certificate_block_is_rejected()
    {
        File.WriteAllText(_dir.File("junk.pem"), "hello\n");

        var ex = Assert.Throws<CryptoFileException>(() => PemFiles.LoadCertificates(_dir.File("junk.pem")));

        Assert.Contains("no PEM 'CERTIFICATE' block", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Private_key_on_a_curve_the_platform_does_not_know_is_refused_naming_the_file()
    {
        // Found by fuzzing (fuzz/fuzz pem, docs/fuzzing.md): a P-256 PKCS#8 key whose curve OID had one byte changed
        // (1.2.7624.10045.3.1.7) made OpenSSL throw PlatformNotSupportedException, which escaped LoadPrivateKey.
        const string Key = """
            -----BEGIN PRIVATE KEY-----
            MIGHAgEAMBMGByqGSM49AgEGCCq7SM49AwEHBG0wawIBAQQgyf5g7vJMZKTHPRgI
            piXHlr4TAmdqyImIuBKPHGn9MoKhRANCAASqCTt9Fcuj/LlZfBuBqmVsSGWLKcXR
            s6Qv0QbsiUgHHqoWVcIL5UEzHUAb1LKCu866XGpN4rZKgDzneslJYNd2
            -----END PRIVATE KEY-----
            """;
        var path = _dir.File("odd-curve.key");
        File.WriteAllText(path, Key + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var ex = Assert.Throws<CryptoFileException>(() => PemFiles.LoadPrivateKey(path));

        Assert.Equal(path, ex.Path);
        Assert.Contains("is not a PEM ECDSA private key", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Certificate_block_with_garbage_is_rejected()
    {
        File.WriteAllText(_dir.File("bad.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");

        var ex = Assert.Throws<CryptoFileException>(() => PemFiles.LoadCertificate(_dir.File("bad.pem")));

        Assert.Contains("not a valid X.509 certificate", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Private_key_file_given_as_certificate_is_refused()
    {
        using var leaf = _ca.Issue(SpiffeId.Agent("ee.cybercoop", "a"));
        PemFiles.WritePrivateKey(_dir.File("a.key"), leaf);

        var ex = Assert.Throws<CryptoFileException>(() => PemFiles.LoadCertificate(_dir.File("a.key")));

        Assert.Contains("private key", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Mismatched_key_is_named()
    {
        using var a = _ca.Issue(SpiffeId.Agent("ee.cybercoop", "a"));
        using var b = _ca.Issue(SpiffeId.Agent("ee.cybercoop", "b"));
        PemFiles.WriteCertificate(_dir.File("a.pem"), a);
        PemFiles.WritePrivateKey(_dir.File("b.key"), b);

        var ex = Assert.Throws<CryptoFileException>(() => PemFiles.LoadCertificateWithKey(_dir.File("a.pem"), _dir.File("b.key")));

        Assert.Equal(_dir.File("b.key"), ex.Path);
        Assert.Contains("does not match", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_key_file_is_named()
    {
        using var a = _ca.Issue(SpiffeId.Agent("ee.cybercoop", "a"));
        PemFiles.WriteCertificate(_dir.File("a.pem"), a);
        File.WriteAllText(_dir.File("a.key"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");

        var ex = Assert.Throws<CryptoFileException>(() => PemFiles.LoadCertificateWithKey(_dir.File("a.pem"), _dir.File("a.key")));

        Assert.Equal(_dir.File("a.key"), ex.Path);
    }

    [Fact]
    public void Writing_into_a_missing_directory_is_named()
    {
        using var a = _ca.Issue(SpiffeId.Agent("ee.cybercoop", "a"));
        var path = Path.Combine(_dir.Path, "nope", "a.pem");

        var ex = Assert.Throws<CryptoFileException>(() => PemFiles.WriteCertificate(path, a));

        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Certificate_without_key_cannot_be_written_as_key()
    {
        Assert.Throws<ArgumentException>(() => PemFiles.WritePrivateKey(_dir.File("x.key"), _ca.Certificate));
        Assert.False(File.Exists(_dir.File("x.key")));
    }
}
