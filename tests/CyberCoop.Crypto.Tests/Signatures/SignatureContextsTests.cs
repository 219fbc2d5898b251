namespace CyberCoop.Crypto.Tests;

public sealed class SignatureContextsTests
{
    [Theory]
    [InlineData(SignaturePurpose.Bundle, "cybercoop/v2/bundle-signature", true)]
    [InlineData(SignaturePurpose.Receipt, "cybercoop/v2/receipt", true)]
    [InlineData(SignaturePurpose.KeyAnnouncement, "cybercoop/v1/key-announcement", false)]
    [InlineData(SignaturePurpose.TrustBundle, "cybercoop/v1/trust-bundle", false)]
    [InlineData(SignaturePurpose.AuditCheckpoint, "cybercoop/v2/audit-checkpoint", true)]
    [InlineData(SignaturePurpose.Withdrawal, "cybercoop/v2/withdrawal", true)]
    [InlineData(SignaturePurpose.SightingReport, "cybercoop/v2/sighting-report", true)]
    public void Each_purpose_has_the_documented_context(SignaturePurpose purpose, string context, bool content)
    {
        Assert.Equal(context, SignatureContexts.For(purpose));
        Assert.Equal(System.Text.Encoding.ASCII.GetBytes(context), SignatureContexts.BytesFor(purpose).ToArray());
        Assert.Equal(content, SignatureContexts.IsContentPurpose(purpose));
        Assert.Equal([.. System.Text.Encoding.ASCII.GetBytes(context), 0, 7], SignatureContexts.Frame(purpose, [7]));
    }

    [Fact]
    public void Unknown_purpose_has_no_context()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SignatureContexts.For((SignaturePurpose)42));
        Assert.Throws<ArgumentOutOfRangeException>(() => SignatureContexts.IsContentPurpose((SignaturePurpose)42));
    }

    [Fact]
    public void Contexts_are_distinct()
    {
        var all = Enum.GetValues<SignaturePurpose>().Select(SignatureContexts.For).ToList();

        Assert.Equal(all.Count, all.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Context_with_zero_byte_or_empty_is_refused()
    {
        Assert.Throws<ArgumentException>(() => SignatureContexts.Frame([], [1]));
        Assert.Throws<ArgumentException>(() => SignatureContexts.Frame([1, 0, 2], [1]));
    }
}
