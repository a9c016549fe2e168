using System.Buffers;
using System.Security.Cryptography;
using MessagePack;

namespace TeamComms.Protocol.Events;

/// <summary>
/// Encodes, decodes and hashes events.
/// <para>Wire form (MessagePack array of 10):
/// <c>[v, id:bin32, room:str, seq:uint, prev:bin32|nil, sender:str, type:str, ts:int, content_hash:bin32, content:map|nil]</c>,
/// optionally followed by an eleventh element, the origin signature (<see cref="OriginSignature"/>) of an event proposed
/// by another server's user. Readers ignore elements after the eleventh.</para>
/// <para>Id input (canonical MessagePack array of 8): <c>[v, room, seq, prev|nil, sender, type, ts, content_hash]</c>;
/// the id is SHA-256 of those bytes. The content hash is SHA-256 of the canonical content map.</para>
/// </summary>
public static class EventCodec
{
    /// <summary>The event format this code writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Elements in the wire array.</summary>
    public const int WireFields = 10;

    /// <summary>SHA-256 of canonical content bytes into <paramref name="destination"/> (32 bytes).</summary>
    public static void ComputeContentHash(ReadOnlySpan<byte> canonicalContent, Span<byte> destination) =>
        SHA256.HashData(canonicalContent, destination);

    /// <summary>Writes the canonical id input (the 8-element array) for an event.</summary>
    public static void WriteIdInput(IBufferWriter<byte> output, int version, string roomId, long seq, EventId? prev,
        string sender, string type, long timestamp, ReadOnlySpan<byte> contentHash)
    {
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(8);
        w.Write(version);
        w.Write(roomId);
        w.Write(seq);
        WriteOptionalId(ref w, prev);
        w.Write(sender);
        w.Write(type);
        w.Write(timestamp);
        w.Write(contentHash);
        w.Flush();
    }

    /// <summary>Computes an event id: SHA-256 of the canonical id input.</summary>
    public static EventId ComputeId(int version, string roomId, long seq, EventId? prev, string sender, string type,
        long timestamp, ReadOnlySpan<byte> contentHash)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        WriteIdInput(buffer, version, roomId, seq, prev, sender, type, timestamp, contentHash);
        Span<byte> hash = stackalloc byte[EventId.Size];
        SHA256.HashData(buffer.WrittenSpan, hash);
        return new EventId(hash);
    }

    /// <summary>Computes the id an event should have from its fields (not trusting <see cref="RoomEvent.Id"/>).</summary>
    public static EventId ComputeId(RoomEvent e) =>
        ComputeId(e.Version, e.RoomId, e.Seq, e.Prev, e.Sender, e.Type, e.Timestamp, e.ContentHash);

    /// <summary>
    /// Checks an event on its own: the id matches its fields, and the content (when present) matches the content hash
    /// and is canonical.
    /// </summary>
    public static bool Verify(RoomEvent e)
    {
        if (ComputeId(e) != e.Id)
        {
            return false;
        }
        if (e.Content is { } content)
        {
            Span<byte> hash = stackalloc byte[32];
            ComputeContentHash(content.Span, hash);
            return hash.SequenceEqual(e.ContentHash) && Canonical.CanonicalMessagePack.IsCanonical(content);
        }
        return true;
    }

    /// <summary>
    /// Checks that <paramref name="events"/> form an unbroken chain starting after <paramref name="previous"/>
    /// (null when the first event must be seq 1). Returns the index of the first bad event, or -1.
    /// </summary>
    public static int VerifyChain(IReadOnlyList<RoomEvent> events, EventId? previous, long previousSeq)
    {
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            if (!Verify(e) || e.Seq != previousSeq + 1 || e.Prev != previous)
            {
                return i;
            }
            previous = e.Id;
            previousSeq = e.Seq;
        }
        return -1;
    }

    /// <summary>Writes the wire form of an event. <paramref name="content"/> is canonical, or null when redacted.</summary>
    public static void Write(ref MessagePackWriter w, int version, EventId id, string roomId, long seq, EventId? prev,
        string sender, string type, long timestamp, ReadOnlySpan<byte> contentHash, ReadOnlySpan<byte> content, bool redacted) =>
        Write(ref w, version, id, roomId, seq, prev, sender, type, timestamp, contentHash, content, redacted, default);

    /// <summary>
    /// Writes the wire form of an event with an optional origin signature element (<paramref name="origin"/>, already
    /// encoded as <c>[key_id, origin_ts, nonce, sig]</c>; empty for none).
    /// </summary>
    public static void Write(ref MessagePackWriter w, int version, EventId id, string roomId, long seq, EventId? prev,
        string sender, string type, long timestamp, ReadOnlySpan<byte> contentHash, ReadOnlySpan<byte> content, bool redacted,
        ReadOnlySpan<byte> origin)
    {
        w.WriteArrayHeader(origin.IsEmpty ? WireFields : WireFields + 1);
        w.Write(version);
        WriteId(ref w, id);
        w.Write(roomId);
        w.Write(seq);
        WriteOptionalId(ref w, prev);
        w.Write(sender);
        w.Write(type);
        w.Write(timestamp);
        w.Write(contentHash);
        if (redacted)
        {
            w.WriteNil();
        }
        else
        {
            w.WriteRaw(content);
        }
        if (!origin.IsEmpty)
        {
            w.WriteRaw(origin);
        }
    }

    /// <summary>Writes the wire form of a decoded event, with its origin signature when it has one.</summary>
    public static void Write(ref MessagePackWriter w, RoomEvent e) =>
        Write(ref w, e.Version, e.Id, e.RoomId, e.Seq, e.Prev, e.Sender, e.Type, e.Timestamp, e.ContentHash,
            e.Content is { } c ? c.Span : default, e.Content is null, e.Origin is { } o ? o.ToBytes() : default);

    /// <summary>The wire form of a decoded event as a new array.</summary>
    public static byte[] ToBytes(RoomEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        var w = new MessagePackWriter(buffer);
        Write(ref w, e);
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes one event in wire form. Throws <see cref="ProtocolException"/> for malformed input.</summary>
    public static RoomEvent Read(ref MessagePackReader r)
    {
        try
        {
            var n = r.ReadArrayHeader();
            if (n < WireFields)
            {
                ProtocolException.Throw(ErrorCode.BadField, $"an event has {WireFields} fields, got {n}");
            }
            var version = r.ReadInt32();
            var id = ReadId(ref r);
            var room = r.ReadString() ?? ProtocolException.Throw<string>(ErrorCode.BadField, "event room is nil");
            var seq = r.ReadInt64();
            EventId? prev = r.TryReadNil() ? null : ReadId(ref r);
            var sender = r.ReadString() ?? ProtocolException.Throw<string>(ErrorCode.BadField, "event sender is nil");
            var type = r.ReadString() ?? ProtocolException.Throw<string>(ErrorCode.BadField, "event type is nil");
            var ts = r.ReadInt64();
            var hashSeq = r.ReadBytes() ?? ProtocolException.Throw<ReadOnlySequence<byte>>(ErrorCode.BadField, "content hash is nil");
            if (hashSeq.Length != 32)
            {
                ProtocolException.Throw(ErrorCode.BadField, "content hash is 32 bytes");
            }
            ReadOnlyMemory<byte>? content = null;
            if (!r.TryReadNil())
            {
                if (r.NextMessagePackType != MessagePackType.Map)
                {
                    ProtocolException.Throw(ErrorCode.BadField, "event content must be a map or nil");
                }
                content = r.ReadRaw().ToArray();
            }
            OriginSignature? origin = null;
            if (n > WireFields)
            {
                origin = OriginSignature.TryRead(ref r);
            }
            for (var i = WireFields + 1; i < n; i++)
            {
                r.Skip();
            }
            return new RoomEvent
            {
                Version = version,
                Id = id,
                RoomId = room,
                Seq = seq,
                Prev = prev,
                Sender = sender,
                Type = type,
                Timestamp = ts,
                ContentHash = hashSeq.ToArray(),
                Content = content,
                Origin = origin,
            };
        }
        catch (MessagePackSerializationException ex)
        {
            throw new ProtocolException(ErrorCode.BadField, "malformed event: " + ex.Message, ex);
        }
        catch (EndOfStreamException ex)
        {
            throw new ProtocolException(ErrorCode.BadField, "truncated event", ex);
        }
    }

    /// <summary>Decodes one event from its wire bytes.</summary>
    public static RoomEvent Read(ReadOnlyMemory<byte> bytes)
    {
        var r = new MessagePackReader(bytes);
        return Read(ref r);
    }

    internal static void WriteId(ref MessagePackWriter w, EventId id)
    {
        w.WriteBinHeader(EventId.Size);
        id.CopyTo(w.GetSpan(EventId.Size));
        w.Advance(EventId.Size);
    }

    private static void WriteOptionalId(ref MessagePackWriter w, EventId? id)
    {
        if (id is { } value)
        {
            WriteId(ref w, value);
        }
        else
        {
            w.WriteNil();
        }
    }

    internal static EventId ReadId(ref MessagePackReader r)
    {
        var seq = r.ReadBytes() ?? ProtocolException.Throw<ReadOnlySequence<byte>>(ErrorCode.BadField, "event id is nil");
        if (seq.Length != EventId.Size)
        {
            ProtocolException.Throw(ErrorCode.BadField, "an event id is 32 bytes");
        }
        Span<byte> bytes = stackalloc byte[EventId.Size];
        seq.CopyTo(bytes);
        return new EventId(bytes);
    }
}
