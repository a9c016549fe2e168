using TeamComms.Protocol;
using TeamComms.Protocol.Canonical;

namespace TeamComms.Tests.Protocol;

public class CanonicalMessagePackTests
{
    [Fact]
    public void Canonicalize_UnsortedMapAndWideIntegers_SortsKeysAndShrinksIntegers()
    {
        // {"b": uint32 1, "a": int64 -1}
        byte[] input = [0x82, 0xA1, (byte)'b', 0xCE, 0, 0, 0, 1, 0xA1, (byte)'a', 0xD3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        var canonical = CanonicalMessagePack.Canonicalize(input);
        Assert.Equal(new byte[] { 0x82, 0xA1, (byte)'a', 0xFF, 0xA1, (byte)'b', 0x01 }, canonical);
    }

    [Fact]
    public void Canonicalize_Float32_BecomesFloat64()
    {
        byte[] input = [0x81, 0xA1, (byte)'x', 0xCA, 0x3F, 0xC0, 0x00, 0x00]; // 1.5f
        var canonical = CanonicalMessagePack.Canonicalize(input);
        Assert.Equal(new byte[] { 0x81, 0xA1, (byte)'x', 0xCB, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0 }, canonical);
    }

    [Fact]
    public void Canonicalize_Str8ShortString_UsesFixStr()
    {
        byte[] input = [0x81, 0xD9, 0x01, (byte)'k', 0xD9, 0x02, (byte)'h', (byte)'i'];
        Assert.Equal(new byte[] { 0x81, 0xA1, (byte)'k', 0xA2, (byte)'h', (byte)'i' }, CanonicalMessagePack.Canonicalize(input));
    }

    [Theory]
    [InlineData(new byte[] { 0x82, 0xA1, (byte)'a', 0x01, 0xA1, (byte)'a', 0x02 }, "duplicate")]
    [InlineData(new byte[] { 0x81, 0x01, 0x02 }, "keys must be strings")]
    [InlineData(new byte[] { 0x81, 0xA1, (byte)'a', 0xD4, 0x01, 0x00 }, "not allowed")]
    [InlineData(new byte[] { 0x81, 0xA1, (byte)'a', 0xA1, 0xFF }, "UTF-8")]
    [InlineData(new byte[] { 0x81, 0xA1, (byte)'a', 0xCB, 0x7F, 0xF0, 0, 0, 0, 0, 0, 0 }, "non-finite")]
    [InlineData(new byte[] { 0x81, 0xA1, (byte)'a' }, "truncated")]
    public void Canonicalize_InvalidContent_ThrowsBadField(byte[] input, string fragment)
    {
        var ex = Assert.Throws<ProtocolException>(() => CanonicalMessagePack.Canonicalize(input));
        Assert.Equal(ErrorCode.BadField, ex.Code);
        Assert.Contains(fragment, ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Canonicalize_TooDeep_Throws()
    {
        var bytes = new List<byte>();
        for (var i = 0; i < CanonicalMessagePack.MaxDepth + 2; i++)
        {
            bytes.Add(0x91); // fixarray(1)
        }
        bytes.Add(0x00);
        var ex = Assert.Throws<ProtocolException>(() => CanonicalMessagePack.Canonicalize(bytes.ToArray()));
        Assert.Contains("deeper", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IsCanonical_CanonicalForm_IsIdempotent()
    {
        var map = MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["z"] = 300L, ["a"] = new List<object?> { "x", true, null } });
        Assert.True(CanonicalMessagePack.IsCanonical(map));
        Assert.Equal(map, CanonicalMessagePack.Canonicalize(map));
    }
}
