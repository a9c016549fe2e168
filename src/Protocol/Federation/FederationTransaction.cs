using System.Buffers;
using MessagePack;
using TeamComms.Protocol.Events;

namespace TeamComms.Protocol.Federation;

/// <summary>
/// An event proposed by a user of the origin server to a room whose hub is the destination. The hub orders it (assigns
/// seq, prev and ts) and keeps <see cref="Origin"/> as the event's eleventh element.
/// <para>Wire form: <c>{"content": map, "room": str, "sender": str, "sig": [key_id, origin_ts, nonce, sig], "type": str}</c>.</para>
/// </summary>
public sealed record ProposalItem(string RoomId, string Sender, string Type, byte[] Content, OriginSignature Origin)
{
    /// <summary>Writes the proposal map.</summary>
    public void Write(ref MessagePackWriter w)
    {
        w.WriteMapHeader(5);
        w.Write("content");
        w.WriteRaw(Content);
        w.Write("room");
        w.Write(RoomId);
        w.Write("sender");
        w.Write(Sender);
        w.Write("sig");
        Origin.Write(ref w);
        w.Write("type");
        w.Write(Type);
    }

    /// <summary>The proposal map as bytes.</summary>
    public byte[] ToBytes()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        var w = new MessagePackWriter(buffer);
        Write(ref w);
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a proposal map; throws <see cref="ProtocolException"/> when malformed.</summary>
    public static ProposalItem Read(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            var r = new MessagePackReader(bytes);
            return FederationTransaction.ReadProposal(ref r);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new ProtocolException(ErrorCode.BadField, "malformed proposal: " + ex.Message, ex);
        }
        catch (EndOfStreamException ex)
        {
            throw new ProtocolException(ErrorCode.BadField, "truncated proposal", ex);
        }
    }
}

/// <summary>
/// Consecutive events of one room from its hub, with the hub's checkpoint over the last one.
/// <para>Wire form: <c>{"checkpoint": [room, seq, head, ts, key_id, sig], "events": [event…], "room": str}</c>; each event
/// is the event array of docs/protocol.md §6.1 (with the origin element when it has one).</para>
/// </summary>
public sealed record RoomBatch(string RoomId, IReadOnlyList<ReadOnlyMemory<byte>> Events, Checkpoint? Checkpoint);

/// <summary>
/// One server-to-server transaction: <c>PUT /v1/federation/send/{txn}</c> with this MessagePack body. It carries
/// proposals (to rooms the destination hosts) and room batches (of rooms the origin hosts). Retrying the same
/// transaction id after an error or timeout is safe: proposals are idempotent by nonce and events by seq.
/// <para>Wire form: <c>{"destination": str, "origin": str, "proposals": [proposal…], "rooms": [batch…], "ts": int, "txn": str}</c>.</para>
/// </summary>
public sealed record FederationTransaction(string Id, string Origin, string Destination, long Timestamp,
    IReadOnlyList<ProposalItem> Proposals, IReadOnlyList<RoomBatch> Rooms)
{
    /// <summary>Encodes the transaction.</summary>
    public void Write(IBufferWriter<byte> output)
    {
        var w = new MessagePackWriter(output);
        w.WriteMapHeader(6);
        w.Write("destination");
        w.Write(Destination);
        w.Write("origin");
        w.Write(Origin);
        w.Write("proposals");
        w.WriteArrayHeader(Proposals.Count);
        foreach (var p in Proposals)
        {
            p.Write(ref w);
        }
        w.Write("rooms");
        w.WriteArrayHeader(Rooms.Count);
        foreach (var batch in Rooms)
        {
            WriteBatch(ref w, batch);
        }
        w.Write("ts");
        w.Write(Timestamp);
        w.Write("txn");
        w.Write(Id);
        w.Flush();
    }

    /// <summary>The encoded transaction as a new array.</summary>
    public byte[] ToBytes()
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        Write(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    internal static void WriteBatch(ref MessagePackWriter w, RoomBatch batch)
    {
        w.WriteMapHeader(3);
        w.Write("checkpoint");
        if (batch.Checkpoint is { } cp)
        {
            cp.Write(ref w);
        }
        else
        {
            w.WriteNil();
        }
        w.Write("events");
        w.WriteArrayHeader(batch.Events.Count);
        foreach (var e in batch.Events)
        {
            w.WriteRaw(e.Span);
        }
        w.Write("room");
        w.Write(batch.RoomId);
    }

    /// <summary>Decodes a transaction; throws <see cref="ProtocolException"/> (<c>bad_field</c>) when malformed.</summary>
    public static FederationTransaction Read(ReadOnlyMemory<byte> body)
    {
        try
        {
            var r = new MessagePackReader(body);
            string? id = null, origin = null, destination = null;
            long ts = 0;
            var proposals = new List<ProposalItem>();
            var rooms = new List<RoomBatch>();
            var fields = ReadMapHeader(ref r);
            for (var i = 0; i < fields; i++)
            {
                switch (r.ReadString())
                {
                    case "txn":
                        id = ReadString(ref r, "txn", FederationLimits.MaxTransactionIdLength);
                        break;
                    case "origin":
                        origin = ReadString(ref r, "origin", 200);
                        break;
                    case "destination":
                        destination = ReadString(ref r, "destination", 200);
                        break;
                    case "ts":
                        ts = r.ReadInt64();
                        break;
                    case "proposals":
                        var n = ReadArrayHeader(ref r, FederationLimits.MaxProposals, "proposals");
                        for (var j = 0; j < n; j++)
                        {
                            proposals.Add(ReadProposal(ref r));
                        }
                        break;
                    case "rooms":
                        var m = ReadArrayHeader(ref r, FederationLimits.MaxRooms, "rooms");
                        for (var j = 0; j < m; j++)
                        {
                            rooms.Add(ReadBatch(ref r, body));
                        }
                        break;
                    default:
                        r.Skip();
                        break;
                }
            }
            if (id is null || origin is null || destination is null)
            {
                ProtocolException.Throw(ErrorCode.BadField, "txn, origin and destination are required");
            }
            return new FederationTransaction(id!, origin!, destination!, ts, proposals, rooms);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new ProtocolException(ErrorCode.BadField, "malformed transaction: " + ex.Message, ex);
        }
        catch (EndOfStreamException ex)
        {
            throw new ProtocolException(ErrorCode.BadField, "truncated transaction", ex);
        }
    }

    internal static ProposalItem ReadProposal(ref MessagePackReader r)
    {
        string? room = null, sender = null, type = null;
        byte[]? content = null;
        OriginSignature? origin = null;
        var n = ReadMapHeader(ref r);
        for (var i = 0; i < n; i++)
        {
            switch (r.ReadString())
            {
                case "room":
                    room = ReadString(ref r, "room", Identifiers.MaxIdLength);
                    break;
                case "sender":
                    sender = ReadString(ref r, "sender", Identifiers.MaxIdLength);
                    break;
                case "type":
                    type = ReadString(ref r, "type", EventTypes.MaxLength);
                    break;
                case "content":
                    if (r.NextMessagePackType != MessagePackType.Map)
                    {
                        ProtocolException.Throw(ErrorCode.BadField, "proposal content must be a map");
                    }
                    content = r.ReadRaw().ToArray();
                    break;
                case "sig":
                    origin = OriginSignature.TryRead(ref r) ?? ProtocolException.Throw<OriginSignature>(ErrorCode.BadField, "proposal sig is [key_id, ts, nonce, sig64]");
                    break;
                default:
                    r.Skip();
                    break;
            }
        }
        if (room is null || sender is null || type is null || content is null || origin is null)
        {
            ProtocolException.Throw(ErrorCode.BadField, "a proposal has room, sender, type, content and sig");
        }
        return new ProposalItem(room!, sender!, type!, content!, origin!);
    }

    internal static RoomBatch ReadBatch(ref MessagePackReader r, ReadOnlyMemory<byte> body)
    {
        string? room = null;
        Checkpoint? checkpoint = null;
        var events = new List<ReadOnlyMemory<byte>>();
        var n = ReadMapHeader(ref r);
        for (var i = 0; i < n; i++)
        {
            switch (r.ReadString())
            {
                case "room":
                    room = ReadString(ref r, "room", Identifiers.MaxIdLength);
                    break;
                case "checkpoint":
                    checkpoint = r.TryReadNil() ? null : Checkpoint.Read(ref r);
                    break;
                case "events":
                    var m = ReadArrayHeader(ref r, FederationLimits.MaxEventsPerBatch, "events");
                    for (var j = 0; j < m; j++)
                    {
                        var start = (int)r.Consumed;
                        r.Skip();
                        events.Add(body.Slice(start, (int)r.Consumed - start));
                    }
                    break;
                default:
                    r.Skip();
                    break;
            }
        }
        if (room is null)
        {
            ProtocolException.Throw(ErrorCode.BadField, "a room batch has a room");
        }
        return new RoomBatch(room!, events, checkpoint);
    }

    internal static int ReadMapHeader(ref MessagePackReader r)
    {
        if (r.NextMessagePackType != MessagePackType.Map)
        {
            ProtocolException.Throw(ErrorCode.BadField, "expected a map");
        }
        return r.ReadMapHeader();
    }

    internal static int ReadArrayHeader(ref MessagePackReader r, int max, string name)
    {
        var n = r.ReadArrayHeader();
        if (n > max)
        {
            ProtocolException.Throw(ErrorCode.BadField, $"{name} holds at most {max} items");
        }
        return n;
    }

    internal static string ReadString(ref MessagePackReader r, string name, int maxLength)
    {
        var s = r.ReadString() ?? ProtocolException.Throw<string>(ErrorCode.BadField, $"'{name}' is nil");
        if (s.Length > maxLength)
        {
            ProtocolException.Throw(ErrorCode.BadField, $"'{name}' is longer than {maxLength}");
        }
        return s;
    }
}
