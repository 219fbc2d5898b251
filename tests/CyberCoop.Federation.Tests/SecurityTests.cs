using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Pipeline;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>Everything a hostile party could try against a gateway is refused, nothing is stored, and the reason is recorded.</summary>
public sealed class SecurityTests : IAsyncLifetime
{
    private TestFederation _f = null!;
    private CraftedEnvelopes _ee = null!;

    public async ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi", "lv");
        _f.PeerBoth("ee", "fi");
        _f.PeerBoth("fi", "lv");
        _ee = new CraftedEnvelopes(_f, "ee", "fi");
        await _f.StartAsync();
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task Client_certificate_from_an_unknown_ca_is_refused_at_the_handshake()
    {
        using var rogueCa = CertificateAuthority.CreateRoot("ee.cybercoop");
        using var rogue = rogueCa.Issue(SpiffeId.Agent("ee.cybercoop", "rogue"));

        await AssertHandshakeRefusedAsync(() => IngestOnceAsync("ee", rogue));

        await AssertDeniedAuditedAsync("ee", "tls");
        Assert.Equal(0, await _f["ee"].Node!.Runtime.Store.CountIndicatorsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Certificate_from_another_domains_root_claiming_this_domain_is_refused()
    {
        // fi's root signs a certificate that claims to be an agent of ee.
        using var forged = ForgeWithRoot(_f["fi"], "spiffe://ee.cybercoop/agent/impostor");

        await AssertHandshakeRefusedAsync(() => IngestOnceAsync("ee", forged));

        await AssertDeniedAuditedAsync("ee", "tls");
    }

    [Fact]
    public async Task Expired_certificate_is_refused()
    {
        // Signed by ee's real root, the right kind and domain, but its validity ended a minute ago.
        using var expired = ForgeWithRoot(_f["ee"], "spiffe://ee.cybercoop/agent/old-sensor", _f["ee"].Ca.Certificate.NotBefore, DateTimeOffset.UtcNow.AddMinutes(-1));

        await AssertHandshakeRefusedAsync(() => IngestOnceAsync("ee", expired));

        await AssertDeniedAuditedAsync("ee", "tls");
    }

    [Fact]
    public async Task Agent_certificate_calling_federation_is_denied()
    {
        using var agent = _f.LoadCertificate("fi", "agent");

        var error = await Assert.ThrowsAsync<RpcException>(() => _f.FederationClient("fi", agent).GetTrustBundleAsync(new GetTrustBundleRequest()).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        await AssertDeniedAuditedAsync("fi", "/cybercoop.v1.Federation/GetTrustBundle");
    }

    [Fact]
    public async Task Peer_gateway_calling_ingest_is_denied()
    {
        using var gateway = _f.LoadCertificate("ee", "gateway");

        var error = await Assert.ThrowsAsync<RpcException>(() => IngestOnceAsync("fi", gateway));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        await AssertDeniedAuditedAsync("fi", "/cybercoop.v1.Ingest/Submit");
    }

    [Fact]
    public async Task Gateway_that_is_not_a_configured_peer_is_denied_federation()
    {
        // fi's root is pinned at ee (they are peers), but this fi gateway is not one of ee's configured peers.
        using var other = _f["fi"].Ca.Issue(SpiffeId.Gateway("fi.cybercoop", "not-a-peer"));

        var error = await Assert.ThrowsAsync<RpcException>(() => ExchangeHelloAsync("ee", other));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        await AssertDeniedAuditedAsync("ee", "/cybercoop.v1.Federation/Exchange");
    }

    [Fact]
    public async Task Gateway_of_an_unpinned_domain_may_read_only_the_public_trust_bundle()
    {
        // lv and ee are not peers; ee's root is not pinned at lv: first contact, as when lv's operator runs 'peers add --fetch'.
        using var ee = _f.LoadCertificate("ee", "gateway");

        var bundle = await _f.FederationClient("lv", ee).GetTrustBundleAsync(new GetTrustBundleRequest());
        var error = await Assert.ThrowsAsync<RpcException>(() => ExchangeHelloAsync("lv", ee));

        Assert.Equal("lv.cybercoop", TrustBundle.Parser.ParseFrom(bundle.Bundle).TrustDomain);
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        await AssertDeniedAuditedAsync("lv", "/cybercoop.v1.Federation/Exchange");
        await WaitUntilAsync(async () =>
        {
            await foreach (var entry in _f["lv"].Node!.Runtime.Store.Audit.TailAsync(1000, CancellationToken.None))
            {
                if (entry.Kind == "first-contact" && entry.Actor == _f["ee"].GatewayId && entry.Decision == "served")
                {
                    return true;
                }
            }

            return false;
        }, "lv audits the bundle it served on first contact");
    }

    [Fact]
    public async Task First_contact_turned_off_by_a_reload_refuses_the_next_call_on_an_open_connection()
    {
        using var ee = _f.LoadCertificate("ee", "gateway");
        var client = _f.FederationClient("lv", ee);
        await client.GetTrustBundleAsync(new GetTrustBundleRequest());
        var config = Gateway.Configuration.GatewayConfigFile.Load(_f["lv"].ConfigPath).Config;
        Gateway.Configuration.GatewayConfigFile.Save(_f["lv"].ConfigPath, config with { Node = config.Node with { FirstContact = false } });
        var (applied, messages) = _f["lv"].Node!.Runtime.Reload();
        Assert.True(applied, string.Join("; ", messages));

        var error = await Assert.ThrowsAsync<RpcException>(() => client.GetTrustBundleAsync(new GetTrustBundleRequest()).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }

    [Fact]
    public async Task Agent_of_an_unpinned_domain_is_refused_at_the_handshake()
    {
        using var agent = _f.LoadCertificate("ee", "agent");

        await AssertHandshakeRefusedAsync(() => _f.FederationClient("lv", agent).GetTrustBundleAsync(new GetTrustBundleRequest()).ResponseAsync);
    }

    [Fact]
    public async Task Only_a_few_first_contact_connections_are_served_at_once()
    {
        var rogues = Enumerable.Range(0, Gateway.Trust.FirstContact.MaxConnections + 1)
            .Select(i => CertificateAuthority.CreateRoot($"rogue{i}.cybercoop")).ToList();
        try
        {
            var held = new List<Contracts.V1.Federation.FederationClient>();
            for (var i = 0; i < Gateway.Trust.FirstContact.MaxConnections; i++)
            {
                using var certificate = rogues[i].Issue(SpiffeId.Gateway($"rogue{i}.cybercoop", "probe"));
                var client = _f.FederationClient("lv", certificate);
                await client.GetTrustBundleAsync(new GetTrustBundleRequest());
                held.Add(client);
            }

            using var extra = rogues[^1].Issue(SpiffeId.Gateway("rogue8.cybercoop", "probe"));
            await AssertHandshakeRefusedAsync(() => _f.FederationClient("lv", extra).GetTrustBundleAsync(new GetTrustBundleRequest()).ResponseAsync);
        }
        finally
        {
            rogues.ForEach(r => r.Dispose());
        }
    }

    private async Task ExchangeHelloAsync(string target, X509Certificate2 certificate)
    {
        using var call = _f.FederationClient(target, certificate).Exchange(deadline: DateTime.UtcNow.AddSeconds(10));
        await call.RequestStream.WriteAsync(new ExchangeRequest { Hello = new ExchangeHello { Sender = "spiffe://fi.cybercoop/gateway/not-a-peer" } });
        await call.ResponseStream.MoveNext(CancellationToken.None);
    }

    [Fact]
    public async Task Valid_envelope_is_accepted_once_and_its_replay_is_answered_as_duplicate_without_storing_again()
    {
        var crafted = await _ee.CraftAsync();
        var envelope = _ee.Seal(crafted);

        var first = await SendAsync(envelope);
        var second = await SendAsync(envelope);

        Assert.Equal(AckStatus.Accepted, first.Status);
        Assert.Equal(AckStatus.Duplicate, second.Status);
        var stored = await _f["fi"].Node!.Runtime.Store.GetIndicatorAsync(crafted.IndicatorIds.Single(), CancellationToken.None);
        Assert.NotNull(stored);
        Assert.Equal(1u, Assert.Single(stored.Observations).Count);
    }

    /// <summary>
    /// Each way a peer (or anyone holding a peer's certificate) could alter or forge an envelope, with
    /// the reason the receiver must give. Every case is refused, nothing is stored, the refusal is audited.
    /// </summary>
    [Theory]
    [InlineData("sent two hours ago", "stale")]
    [InlineData("one ciphertext bit flipped", "decrypt-failed")]
    [InlineData("header rewritten after sealing", "decrypt-failed")]
    [InlineData("addressed to another recipient", "recipient-mismatch")]
    [InlineData("sealed to a key the recipient does not hold", "unknown-key")]
    [InlineData("header sender differs from the mTLS identity", "sender-mismatch")]
    [InlineData("bundle signed by a key that is not the origin's", "origin-key-unknown")]
    public async Task Altered_or_forged_envelope_is_rejected_with_its_reason_and_nothing_stored(string attack, string reason)
    {
        using var impostorKey = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        using var strangerKem = KemKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        var crafted = await _ee.CraftAsync(signingKey: attack == "bundle signed by a key that is not the origin's" ? impostorKey : null);
        var envelope = attack switch
        {
            "sent two hours ago" => _ee.Seal(crafted, sentAt: DateTimeOffset.UtcNow.AddHours(-2)),
            "one ciphertext bit flipped" => FlipCiphertextBit(_ee.Seal(crafted)),
            "header rewritten after sealing" => RewriteHeader(_ee.Seal(crafted)),
            "addressed to another recipient" => _ee.Seal(crafted, headerRecipient: _f["lv"].GatewayId),
            "sealed to a key the recipient does not hold" => _ee.Seal(crafted, recipientKey: strangerKem.PublicKey),
            "header sender differs from the mTLS identity" => _ee.Seal(crafted, headerSender: _f["lv"].GatewayId),
            "bundle signed by a key that is not the origin's" => _ee.Seal(crafted),
            _ => throw new ArgumentOutOfRangeException(nameof(attack), attack, "unknown attack"),
        };

        var ack = await SendAsync(envelope);

        Assert.Equal(AckStatus.Rejected, ack.Status);
        Assert.StartsWith(reason, ack.Reason, StringComparison.Ordinal);
        await AssertNothingStoredAsync(crafted);
    }

    [Fact]
    public async Task Bundle_whose_creation_time_is_not_a_valid_timestamp_is_rejected_not_thrown()
    {
        var crafted = await _ee.CraftAsync(createdAt: new Timestamp { Seconds = 1, Nanos = -1 });

        var ack = await SendAsync(_ee.Seal(crafted));

        Assert.Equal(AckStatus.Rejected, ack.Status);
        Assert.StartsWith("malformed-bundle", ack.Reason, StringComparison.Ordinal);
        await AssertNothingStoredAsync(crafted);
    }

    [Fact]
    public async Task Bundle_of_more_than_10000_indicators_is_rejected_and_one_of_10000_is_accepted()
    {
        var tooMany = await _ee.CraftAsync(indicators: 10_001);

        var ack = await SendAsync(_ee.Seal(tooMany));

        Assert.Equal(AckStatus.Rejected, ack.Status);
        Assert.StartsWith("malformed-bundle", ack.Reason, StringComparison.Ordinal);
        Assert.Contains("holds 10001 indicators, more than 10000", ack.Reason, StringComparison.Ordinal);
        foreach (var id in new[] { tooMany.IndicatorIds[0], tooMany.IndicatorIds[^1] })
        {
            Assert.Null(await _f["fi"].Node!.Runtime.Store.GetIndicatorAsync(id, CancellationToken.None));
        }

        var most = await _ee.CraftAsync(indicators: 10_000);
        Assert.Equal(AckStatus.Accepted, (await SendAsync(_ee.Seal(most))).Status);
    }

    [Fact]
    public async Task Envelope_whose_sending_time_is_not_a_valid_timestamp_is_rejected_not_thrown()
    {
        var crafted = await _ee.CraftAsync();
        var envelope = _ee.Seal(crafted);
        var header = EnvelopeHeader.Parser.ParseFrom(envelope.Header);
        header.SentAt = new Timestamp { Seconds = long.MaxValue };
        envelope.Header = header.ToByteString();

        var ack = await SendAsync(envelope);

        Assert.Equal(AckStatus.Rejected, ack.Status);
        Assert.StartsWith("malformed-header", ack.Reason, StringComparison.Ordinal);
        await AssertNothingStoredAsync(crafted);
    }

    [Fact]
    public async Task Envelope_without_a_sending_time_is_rejected_as_malformed_not_as_stale()
    {
        // "stale" is retried by the sender; a missing sent_at never gets better, so it must be final.
        var crafted = await _ee.CraftAsync();
        var envelope = _ee.Seal(crafted);
        var header = EnvelopeHeader.Parser.ParseFrom(envelope.Header);
        header.SentAt = null;
        envelope.Header = header.ToByteString();

        var ack = await SendAsync(envelope);

        Assert.Equal(AckStatus.Rejected, ack.Status);
        Assert.Equal("malformed-header: sent_at is missing", ack.Reason);
        await AssertNothingStoredAsync(crafted);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(17)]
    public async Task Bundle_whose_id_is_not_16_bytes_is_rejected_and_later_bundles_of_the_origin_still_arrive(int length)
    {
        // Loop prevention keys on (origin, bundle_id): an empty id accepted once would make every later empty-id bundle
        // of that origin a silent duplicate. Refused instead, so a broken sender learns it at once.
        var odd = await _ee.CraftAsync(edit: bundle => bundle.BundleId = ByteString.CopyFrom(new byte[length]));

        var ack = await SendAsync(_ee.Seal(odd));

        Assert.Equal(AckStatus.Rejected, ack.Status);
        Assert.Equal($"malformed-bundle: bundle_id is {length} bytes, not 16", ack.Reason);
        await AssertNothingStoredAsync(odd);
        Assert.Equal(AckStatus.Accepted, (await SendAsync(_ee.Seal(await _ee.CraftAsync()))).Status);
    }

    [Theory]
    [InlineData(9u)]
    [InlineData(uint.MaxValue)]
    public async Task Bundle_that_allows_more_than_8_relays_is_rejected_and_one_of_8_is_accepted(uint maxHops)
    {
        // Withdrawals and sighting reports follow a bundle's path back and stop at 8 hops; origins cap max_hops at 8.
        var tooFar = await _ee.CraftAsync(edit: bundle => { bundle.RelayAllowed = true; bundle.MaxHops = maxHops; });

        var ack = await SendAsync(_ee.Seal(tooFar));

        Assert.Equal(AckStatus.Rejected, ack.Status);
        Assert.Equal($"malformed-bundle: max_hops is {maxHops}, more than 8", ack.Reason);
        await AssertNothingStoredAsync(tooFar);
        var most = await _ee.CraftAsync(edit: bundle => { bundle.RelayAllowed = true; bundle.MaxHops = 8; });
        Assert.Equal(AckStatus.Accepted, (await SendAsync(_ee.Seal(most))).Status);
    }

    [Fact]
    public async Task Bundle_without_a_creation_time_is_rejected_as_malformed()
    {
        // Without created_at the origin key's validity cannot be checked (it would be read as the year 1).
        var crafted = await _ee.CraftAsync(edit: bundle => bundle.CreatedAt = null);

        var ack = await SendAsync(_ee.Seal(crafted));

        Assert.Equal(AckStatus.Rejected, ack.Status);
        Assert.Equal("malformed-bundle: created_at is missing", ack.Reason);
        await AssertNothingStoredAsync(crafted);
    }

    private static Envelope FlipCiphertextBit(Envelope envelope)
    {
        var bytes = envelope.Ciphertext.ToByteArray();
        bytes[bytes.Length / 2] ^= 0x01;
        envelope.Ciphertext = ByteString.CopyFrom(bytes);
        return envelope;
    }

    private static Envelope RewriteHeader(Envelope envelope)
    {
        var header = EnvelopeHeader.Parser.ParseFrom(envelope.Header);
        header.HopCount = 0;
        header.SentAt = Timestamp.FromDateTimeOffset(header.SentAt.ToDateTimeOffset().AddSeconds(-1));
        envelope.Header = header.ToByteString();
        return envelope;
    }

    private async Task<Ack> SendAsync(Envelope envelope)
    {
        using var ee = _f.LoadCertificate("ee", "gateway");
        using var call = _f.FederationClient("fi", ee).Exchange();
        await call.RequestStream.WriteAsync(new ExchangeRequest { Hello = new ExchangeHello { Sender = _f["ee"].GatewayId } });
        await call.RequestStream.WriteAsync(new ExchangeRequest { Envelope = envelope });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        await call.RequestStream.CompleteAsync();
        return call.ResponseStream.Current.Ack;
    }

    private async Task AssertNothingStoredAsync(CraftedEnvelopes.Crafted crafted)
    {
        Assert.Null(await _f["fi"].Node!.Runtime.Store.GetIndicatorAsync(crafted.IndicatorIds.Single(), CancellationToken.None));
        await WaitUntilAsync(async () =>
        {
            await foreach (var entry in _f["fi"].Node!.Runtime.Store.Audit.TailAsync(1000, CancellationToken.None))
            {
                if (entry.Kind == "rejected" && entry.Subject.StartsWith("envelope:", StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }, "the rejection is audited at fi");
    }

    private async Task IngestOnceAsync(string target, X509Certificate2 certificate)
    {
        using var call = _f.IngestClient(target, certificate).Submit();
        var batch = new IngestBatch { BatchId = ByteString.CopyFromUtf8("batch-1") };
        batch.Sightings.Add(Sighting(IndicatorType.Domain, "should-not-be-stored.example"));
        await call.RequestStream.WriteAsync(batch);
        await call.RequestStream.CompleteAsync();
        await call.ResponseStream.MoveNext(CancellationToken.None);
    }

    private async Task AssertDeniedAuditedAsync(string code, string subject)
    {
        await WaitUntilAsync(async () =>
        {
            await foreach (var entry in _f[code].Node!.Runtime.Store.Audit.TailAsync(1000, CancellationToken.None))
            {
                if (entry.Kind == "denied" && entry.Subject == subject)
                {
                    return true;
                }
            }

            return false;
        }, $"a denial of {subject} is audited at {code}");
        Assert.True(_f[code].Node!.Runtime.Metrics.CallsDenied > 0);
        Assert.Null(await _f.GetAsync(code, IndicatorType.Domain, "should-not-be-stored.example"));
    }

    /// <summary>The TLS handshake is refused: the call fails before any gRPC status could be returned.</summary>
    private static async Task AssertHandshakeRefusedAsync(Func<Task> call)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(call);
        if (error is RpcException rpc)
        {
            // How a refused handshake surfaces depends on when the client notices; never as a gRPC status from a handler.
            Assert.True(rpc.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown, $"unexpected status {rpc.StatusCode}");
        }
        else
        {
            Assert.IsAssignableFrom<IOException>(error);
        }
    }

    /// <summary>A certificate signed by <paramref name="signer"/>'s root whose URI SAN claims <paramref name="spiffeId"/>.</summary>
    private static X509Certificate2 ForgeWithRoot(TestNation signer, string spiffeId, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        var keyDir = Path.Combine(signer.Directory, "forge");
        Directory.CreateDirectory(keyDir);
        signer.Ca.Save(Path.Combine(keyDir, "root.crt"), Path.Combine(keyDir, "root.key"));
        using var rootKey = ECDsa.Create();
        rootKey.ImportFromPem(File.ReadAllText(Path.Combine(keyDir, "root.key")));
        using var rootWithKey = signer.Ca.Certificate.CopyWithPrivateKey(rootKey);
        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=impostor", leafKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(spiffeId));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var leaf = request.Create(rootWithKey, notBefore ?? DateTimeOffset.UtcNow.AddMinutes(-5), notAfter ?? DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(16));
        return leaf.CopyWithPrivateKey(leafKey);
    }
}
