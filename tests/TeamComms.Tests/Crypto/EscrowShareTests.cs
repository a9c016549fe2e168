using TeamComms.Crypto.Age;
using TeamComms.Crypto.Escrow;

namespace TeamComms.Tests.Crypto;

public class EscrowShareTests
{
    private static List<(string, EscrowShare)> Named(IEnumerable<EscrowShare> shares) =>
        [.. shares.Select(s => ($"share {s.Index}", EscrowShare.Parse(s.ToString(), $"share {s.Index}")))];

    [Fact]
    public void AnyThresholdSubset_RecombinesTheKey()
    {
        using var id = AgeIdentity.Generate();
        var shares = EscrowKey.Split(id, 5, 3);
        Assert.Equal(5, shares.Count);
        int[][] subsets = [[1, 2, 3], [1, 3, 5], [2, 4, 5], [3, 4, 5], [5, 1, 2], [1, 2, 3, 4, 5]];
        foreach (var subset in subsets)
        {
            using var combined = EscrowKey.Combine(Named(subset.Select(i => shares[i - 1])));
            Assert.Equal(id.Recipient, combined.Recipient);
        }
    }

    [Fact]
    public void FewerThanThreshold_Fails()
    {
        using var id = AgeIdentity.Generate();
        var shares = EscrowKey.Split(id, 5, 3);
        var ex = Assert.Throws<EscrowShareException>(() => EscrowKey.Combine(Named(shares.Take(2))));
        Assert.Contains("too few shares", ex.Message, StringComparison.Ordinal);
        // A duplicate does not count twice.
        ex = Assert.Throws<EscrowShareException>(() => EscrowKey.Combine(Named([shares[0], shares[0], shares[1]])));
        Assert.Contains("too few shares", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CorruptedShare_IsDetectedAndNamed()
    {
        using var id = AgeIdentity.Generate();
        var text = EscrowKey.Split(id, 5, 3)[1].ToString();
        var pos = text.Length - 20;
        var corrupted = text[..pos] + (text[pos] == 'a' ? 'b' : 'a') + text[(pos + 1)..];
        var ex = Assert.Throws<EscrowShareException>(() => EscrowShare.Parse(corrupted, "bob-share.txt"));
        Assert.Equal("bob-share.txt", ex.ShareName);
        Assert.Contains("corrupted", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShareWithValidChecksumButWrongData_IsNamedWhenAnExtraShareIsGiven()
    {
        using var id = AgeIdentity.Generate();
        var shares = EscrowKey.Split(id, 5, 3);
        var forged = new EscrowShare(shares[3].KeyId, 3, 5, 4, [.. shares[3].Data.Select(b => (byte)(b ^ 0x5A))]);
        var named = Named([shares[0], shares[1], shares[2]]);
        named.Add(("dave.txt", EscrowShare.Parse(forged.ToString(), "dave.txt")));
        var ex = Assert.Throws<EscrowShareException>(() => EscrowKey.Combine(named));
        Assert.Equal("dave.txt", ex.ShareName);
        // With exactly the threshold and one bad share, the failure is reported (the key id does not match).
        var exact = Named([shares[0], shares[1]]);
        exact.Add(("dave.txt", forged));
        ex = Assert.Throws<EscrowShareException>(() => EscrowKey.Combine(exact));
        Assert.Contains("do not reconstruct", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SharesOfTwoKeys_AreRefused()
    {
        using var a = AgeIdentity.Generate();
        using var b = AgeIdentity.Generate();
        var sa = EscrowKey.Split(a, 5, 3);
        var sb = EscrowKey.Split(b, 5, 3);
        var ex = Assert.Throws<EscrowShareException>(() => EscrowKey.Combine([("alice", sa[0]), ("bob", sa[1]), ("carol", sb[2])]));
        Assert.Equal("carol", ex.ShareName);
        Assert.Contains("two different keys", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShareText_RoundTrips()
    {
        using var id = AgeIdentity.Generate();
        var share = EscrowKey.Split(id, 7, 4)[6];
        var text = share.ToString();
        Assert.StartsWith("tcescrow1-" + id.Recipient.KeyId + "-4of7-7-", text, StringComparison.Ordinal);
        var parsed = EscrowShare.Parse(text, "x");
        Assert.Equal(share.Data, parsed.Data);
        Assert.Equal((4, 7, 7), (parsed.Threshold, parsed.Count, parsed.Index));
    }

    [Fact]
    public void SharesEncryptedToHolders_OpenOnlyWithTheHoldersKey()
    {
        using var id = AgeIdentity.Generate();
        using var holder = AgeIdentity.Generate();
        using var stranger = AgeIdentity.Generate();
        var share = EscrowKey.Split(id, 3, 2)[0].ToString();
        var sealedShare = AgeFile.Armor(AgeFile.Encrypt(System.Text.Encoding.ASCII.GetBytes(share), [holder.Recipient]));
        var opened = System.Text.Encoding.ASCII.GetString(AgeFile.Decrypt(System.Text.Encoding.ASCII.GetBytes(sealedShare), [holder]));
        Assert.Equal(share, opened);
        Assert.Throws<AgeException>(() => AgeFile.Decrypt(System.Text.Encoding.ASCII.GetBytes(sealedShare), [stranger]));
    }
}
