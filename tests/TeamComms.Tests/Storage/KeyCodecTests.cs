using TeamComms.Server.Storage;

namespace TeamComms.Tests.Storage;

public class KeyCodecTests
{
    [Fact]
    public void RoomSeq_IsBigEndian_SoByteOrderIsNumericOrder()
    {
        var keys = new[] { (1L, 255L), (1L, 256L), (2L, 1L), (1L, 1L), (1L, 65536L) }
            .Select(k => KeyCodec.RoomSeq(k.Item1, k.Item2)).ToList();
        keys.Sort((a, b) => a.AsSpan().SequenceCompareTo(b));
        var parsed = keys.Select(k => KeyCodec.ParseRoomSeq(k)).ToList();
        Assert.Equal([(1L, 1L), (1L, 255L), (1L, 256L), (1L, 65536L), (2L, 1L)], parsed);
    }

    [Fact]
    public void RoomSeq_Layout_IsRoomThenSeq()
    {
        Assert.Equal(Convert.FromHexString("00000000000000070000000000000102"), KeyCodec.RoomSeq(7, 258));
    }

    [Fact]
    public void PrefixUpperBound_CoversExactlyThePrefix()
    {
        var prefix = KeyCodec.Long(5);
        var bound = KeyCodec.PrefixUpperBound(prefix);
        Assert.True(KeyCodec.RoomSeq(5, long.MaxValue).AsSpan().SequenceCompareTo(bound) < 0);
        Assert.True(KeyCodec.RoomSeq(6, 0).AsSpan().SequenceCompareTo(bound) >= 0);
        Assert.Equal(new byte[] { 0x01 }, KeyCodec.PrefixUpperBound([0x00, 0xFF]));
    }

    [Fact]
    public void StoredEvent_Build_IsAnEventFrameFollowedByTheCount()
    {
        byte[] wire = [0x9A, 0x01];
        var value = StoredEvent.Build(300, wire, 9, out var offset);
        var stored = new StoredEvent(3, value);
        Assert.Equal(300, stored.Pos);
        Assert.Equal(9, stored.MessageCount);
        Assert.Equal(offset, stored.WireOffset);
        Assert.Equal(wire, stored.Wire.ToArray());
        Assert.Equal(new byte[] { 0x93, 0x44, 0xCD, 0x01, 0x2C }, stored.Frame[..5].ToArray());
    }
}
