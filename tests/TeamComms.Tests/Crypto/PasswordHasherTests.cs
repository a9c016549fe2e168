using TeamComms.Crypto;

namespace TeamComms.Tests.Crypto;

public class PasswordHasherTests
{
    [Fact]
    public void Hash_ThenVerify_AcceptsOnlyTheRightPassword()
    {
        var hash = PasswordHasher.Hash("correct horse", Argon2Cost.Minimal);
        Assert.StartsWith("$argon2id$v=19$m=8,t=1,p=1$", hash, StringComparison.Ordinal);
        Assert.True(PasswordHasher.Verify("correct horse", hash));
        Assert.False(PasswordHasher.Verify("correct horsE", hash));
    }

    [Fact]
    public void Hash_SamePasswordTwice_UsesDifferentSalts() =>
        Assert.NotEqual(PasswordHasher.Hash("pw", Argon2Cost.Minimal), PasswordHasher.Hash("pw", Argon2Cost.Minimal));

    [Theory]
    [InlineData("")]
    [InlineData("$argon2i$v=19$m=8,t=1,p=1$AAAA$AAAA")]
    [InlineData("$argon2id$v=19$m=8,t=1,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA")]
    [InlineData("$argon2id$v=19$m=x,t=1,p=1$c2FsdA$aGFzaA")]
    public void Verify_MalformedHash_ReturnsFalse(string encoded) => Assert.False(PasswordHasher.Verify("pw", encoded));

    [Fact]
    public void NeedsRehash_LowerCost_IsTrue()
    {
        var hash = PasswordHasher.Hash("pw", Argon2Cost.Minimal);
        Assert.True(PasswordHasher.NeedsRehash(hash, Argon2Cost.Owasp));
        Assert.False(PasswordHasher.NeedsRehash(hash, Argon2Cost.Minimal));
    }

    [Fact]
    public void OwaspDefault_Is19MiBTwoPasses() => Assert.Equal(new Argon2Cost(19456, 2), Argon2Cost.Owasp);

    [Fact]
    public void SigningKey_SignsAndVerifies_BadSignatureIsFalse()
    {
        using var key = SigningKey.Generate();
        var sig = key.Sign("checkpoint"u8);
        Assert.True(SigningKey.Verify(key.PublicKey, "checkpoint"u8, sig));
        sig[0] ^= 1;
        Assert.False(SigningKey.Verify(key.PublicKey, "checkpoint"u8, sig));
        Assert.False(SigningKey.Verify(new byte[5], "checkpoint"u8, sig));
    }
}
