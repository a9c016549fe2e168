using System.Buffers;
using MessagePack;
using TeamComms.Protocol.Events;

namespace TeamComms.Protocol.Federation;

/// <summary>
/// What the hub did with one proposal: ordered it (<see cref="Seq"/>, <see cref="Id"/>, <see cref="Timestamp"/>) or
/// refused it (<see cref="Error"/>, a stable error code name such as <c>not_member</c>, and a message).
/// <para>Wire form: <c>{"nonce": str, "seq": uint, "id": bin32, "ts": int}</c> or <c>{"nonce": str, "error": str, "message": str}</c>.</para>
/// </summary>
public sealed record ProposalResult(string Nonce, long Seq, EventId? Id, long Timestamp, string? Error, string? Message)
{
    /// <summary>True when the hub ordered the proposal.</summary>
    public bool Ok => Error is null;
}

/// <summary>
/// What the participant did with one room batch: stored it up to <see cref="Head"/> (its head for the room after the
/// batch), or refused it with an error code name and message (for example <c>federation_refused</c> for a bad
/// signature or a broken chain). A refused batch stored nothing.
/// <para>Wire form: <c>{"room": str, "head": uint}</c> or <c>{"room": str, "head": uint, "error": str, "message": str}</c>.</para>
/// </summary>
public sealed record RoomResult(string RoomId, long Head, string? Error, string? Message)
{
    /// <summary>True when the batch was stored (or was already stored).</summary>
    public bool Ok => Error is null;
}

/// <summary>The answer to a transaction: <c>{"proposals": [result…], "rooms": [result…], "txn": str}</c>, results in request order.</summary>
public sealed record TransactionResult(string Id, IReadOnlyList<ProposalResult> Proposals, IReadOnlyList<RoomResult> Rooms)
{
    /// <summary>Encodes the result.</summary>
    public byte[] ToBytes()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        var w = new MessagePackWriter(buffer);
        w.WriteMapHeader(3);
        w.Write("proposals");
        w.WriteArrayHeader(Proposals.Count);
        foreach (var p in Proposals)
        {
            if (p.Ok)
            {
                w.WriteMapHeader(4);
                w.Write("id");
                EventCodec.WriteId(ref w, p.Id!.Value);
                w.Write("nonce");
                w.Write(p.Nonce);
                w.Write("seq");
                w.Write(p.Seq);
                w.Write("ts");
                w.Write(p.Timestamp);
            }
            else
            {
                w.WriteMapHeader(3);
                w.Write("error");
                w.Write(p.Error);
                w.Write("message");
                w.Write(p.Message ?? "");
                w.Write("nonce");
                w.Write(p.Nonce);
            }
        }
        w.Write("rooms");
        w.WriteArrayHeader(Rooms.Count);
        foreach (var room in Rooms)
        {
            w.WriteMapHeader(room.Ok ? 2 : 4);
            if (!room.Ok)
            {
                w.Write("error");
                w.Write(room.Error);
            }
            w.Write("head");
            w.Write(room.Head);
            if (!room.Ok)
            {
                w.Write("message");
                w.Write(room.Message ?? "");
            }
            w.Write("room");
            w.Write(room.RoomId);
        }
        w.Write("txn");
        w.Write(Id);
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a result; throws <see cref="ProtocolException"/> when malformed.</summary>
    public static TransactionResult Read(ReadOnlyMemory<byte> body)
    {
        try
        {
            var map = MsgPackValue.ReadMap(body);
            var f = new FieldMap(map);
            var proposals = new List<ProposalResult>();
            foreach (var item in map.GetValueOrDefault("proposals") as List<object?> ?? [])
            {
                var p = new FieldMap(item as Dictionary<string, object?> ?? ProtocolException.Throw<Dictionary<string, object?>>(ErrorCode.BadField, "a proposal result is a map"));
                EventId? id = p.Map.GetValueOrDefault("id") is byte[] { Length: EventId.Size } idBytes ? new EventId(idBytes) : null;
                var error = p.OptionalString("error", 64);
                if (error is null && id is null)
                {
                    ProtocolException.Throw(ErrorCode.BadField, "a proposal result has an id or an error");
                }
                proposals.Add(new ProposalResult(p.RequiredString("nonce", OriginSignature.MaxNonceLength), p.OptionalInt("seq") ?? 0, id,
                    p.OptionalInt("ts") ?? 0, error, p.OptionalString("message")));
            }
            var rooms = new List<RoomResult>();
            foreach (var item in map.GetValueOrDefault("rooms") as List<object?> ?? [])
            {
                var rf = new FieldMap(item as Dictionary<string, object?> ?? ProtocolException.Throw<Dictionary<string, object?>>(ErrorCode.BadField, "a room result is a map"));
                rooms.Add(new RoomResult(rf.RequiredString("room", Identifiers.MaxIdLength), rf.OptionalInt("head") ?? 0, rf.OptionalString("error", 64), rf.OptionalString("message")));
            }
            return new TransactionResult(f.RequiredString("txn", FederationLimits.MaxTransactionIdLength), proposals, rooms);
        }
        catch (InvalidCastException ex)
        {
            throw new ProtocolException(ErrorCode.BadField, "malformed transaction result", ex);
        }
    }
}

/// <summary>
/// A page of a room's log from its hub: <c>GET /v1/federation/rooms/{room}/events?from={seq}&amp;limit={n}</c>.
/// Events are consecutive from <c>from</c>; content the requesting server may not see is omitted (nil), which keeps
/// every id and the chain verifiable. The checkpoint covers the page's last event.
/// <para>Wire form: <c>{"checkpoint": […]|nil, "events": [event…], "head": uint, "room": str}</c>; <c>head</c> is the
/// room's head seq at the hub.</para>
/// </summary>
public sealed record EventPage(RoomBatch Batch, long Head)
{
    /// <summary>Encodes the page.</summary>
    public byte[] ToBytes()
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        var w = new MessagePackWriter(buffer);
        w.WriteMapHeader(4);
        w.Write("checkpoint");
        if (Batch.Checkpoint is { } cp)
        {
            cp.Write(ref w);
        }
        else
        {
            w.WriteNil();
        }
        w.Write("events");
        w.WriteArrayHeader(Batch.Events.Count);
        foreach (var e in Batch.Events)
        {
            w.WriteRaw(e.Span);
        }
        w.Write("head");
        w.Write(Head);
        w.Write("room");
        w.Write(Batch.RoomId);
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a page; throws <see cref="ProtocolException"/> when malformed.</summary>
    public static EventPage Read(ReadOnlyMemory<byte> body)
    {
        try
        {
            // The page is a room batch with one more field; read the batch part with the batch reader.
            var r = new MessagePackReader(body);
            var probe = r;
            long head = 0;
            var n = FederationTransaction.ReadMapHeader(ref probe);
            for (var i = 0; i < n; i++)
            {
                if (probe.ReadString() == "head")
                {
                    head = probe.ReadInt64();
                }
                else
                {
                    probe.Skip();
                }
            }
            var batch = FederationTransaction.ReadBatch(ref r, body);
            return new EventPage(batch, head);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new ProtocolException(ErrorCode.BadField, "malformed event page: " + ex.Message, ex);
        }
        catch (EndOfStreamException ex)
        {
            throw new ProtocolException(ErrorCode.BadField, "truncated event page", ex);
        }
    }
}
