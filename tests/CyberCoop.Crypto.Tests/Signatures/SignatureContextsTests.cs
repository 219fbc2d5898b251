namespace CyberCoop.Crypto.Tests;

public sealed class SignatureContextsTests
{
    [Theory]
    [InlineData(SignaturePurpose.Bundle, "cybercoop/v1/bundle-signature")]
    [InlineData(SignaturePurpose.Receipt, "cybercoop/v1/receipt")]
    [InlineData(SignaturePurpose.KeyAnnouncement, "cybercoop/v1/key-announcement")]
    [InlineData(SignaturePurpose.TrustBundle, "cybercoop/v1/trust-bundle")]
    [InlineData(SignaturePurpose.AuditCheckpoint, "cybercoop/v1/audit-checkpoint")]
    public void Each_purpose_has_the_documented_context(SignaturePurpose purpose, string context)
    {
        Assert.Equal(context, SignatureContexts.For(purpose));
        Assert.Equal([.. System.Text.Encoding.ASCII.GetBytes(context), 0, 7], SignatureContexts.Frame(purpose, [7]));
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
