using System.Buffers;
using MessagePack;

namespace TeamComms.Protocol.Events;

/// <summary>
/// The one relation convention of TeamComms: an event that relates to another event of the same room carries, in its
/// content, <c>"rel": {"type": &lt;relation type&gt;, "event": &lt;bin 32 event id&gt;}</c>. Threads, reactions, edits,
/// poll votes and results, redactions (and the urgent all-clear thread) all use this shape and nothing else, so a
/// client finds every relation the same way. docs/protocol.md §15.1 specifies it.
/// </summary>
public static class Relations
{
    /// <summary>The content key that holds the relation map.</summary>
    public const string Field = "rel";

    /// <summary>The relation map's key for the relation type.</summary>
    public const string TypeField = "type";

    /// <summary>The relation map's key for the related event's id (MessagePack bin 32).</summary>
    public const string EventField = "event";

    /// <summary>A reply in the thread whose root is the related event.</summary>
    public const string Thread = "thread";

    /// <summary>A reaction (<c>reaction</c> event) to the related event.</summary>
    public const string Reaction = "reaction";

    /// <summary>A replacement of the related message's content by its sender (an edit).</summary>
    public const string Edit = "edit";

    /// <summary>A vote (<c>poll.vote</c> event) in the related poll.</summary>
    public const string Vote = "vote";

    /// <summary>The current results (<c>poll.results</c> event) of the related poll.</summary>
    public const string Results = "results";

    /// <summary>The redaction (<c>room.redaction</c> event) of the related event.</summary>
    public const string Redaction = "redaction";

    /// <summary>Longest relation type.</summary>
    public const int MaxTypeLength = 32;

    /// <summary>
    /// True when <paramref name="type"/> has the form of a relation type (lower-case <c>a-z 0-9 _ .</c>, 1 to 32
    /// characters). The server checks the known types' rules and accepts other well-formed types as plain references.
    /// </summary>
    public static bool IsValidType(string type)
    {
        if (type.Length is 0 or > MaxTypeLength)
        {
            return false;
        }
        foreach (var c in type)
        {
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '_' or '.'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The relation map <c>{"type": type, "event": id}</c> to put under <see cref="Field"/>.</summary>
    public static Dictionary<string, object?> Build(string type, EventId target) => new(StringComparer.Ordinal)
    {
        [TypeField] = type,
        [EventField] = target.ToArray(),
    };

    /// <summary>
    /// Reads the relation of decoded content. Returns false when the content has no <c>rel</c>; throws
    /// <see cref="ProtocolException"/> (<see cref="ErrorCode.BadField"/>) when <c>rel</c> is present but malformed.
    /// </summary>
    public static bool TryRead(IReadOnlyDictionary<string, object?> content, out Relation relation)
    {
        relation = default;
        if (!content.TryGetValue(Field, out var value) || value is null)
        {
            return false;
        }
        if (value is not IReadOnlyDictionary<string, object?> map || map.Count != 2
            || map.GetValueOrDefault(TypeField) is not string type || !IsValidType(type)
            || map.GetValueOrDefault(EventField) is not byte[] { Length: EventId.Size } id)
        {
            ProtocolException.Throw(ErrorCode.BadField, "'rel' must be {\"type\": <relation type>, \"event\": <32-byte event id>}");
            return false;
        }
        relation = new Relation(type, new EventId(id));
        return true;
    }

    /// <summary>
    /// Reads the relation of canonical content bytes without decoding the rest. Returns false when there is none;
    /// throws <see cref="ProtocolException"/> when <c>rel</c> is malformed.
    /// </summary>
    public static bool TryRead(ReadOnlyMemory<byte> content, out Relation relation)
    {
        relation = default;
        try
        {
            var r = new MessagePackReader(content);
            var n = r.ReadMapHeader();
            for (var i = 0; i < n; i++)
            {
                var key = r.ReadStringSequence();
                if (key is { } k && k.Length == 3 && k.IsSingleSegment && k.FirstSpan.SequenceEqual("rel"u8))
                {
                    if (r.NextMessagePackType != MessagePackType.Map)
                    {
                        ProtocolException.Throw(ErrorCode.BadField, "'rel' must be a map");
                    }
                    return TryRead(new Dictionary<string, object?> { [Field] = MsgPackValue.Read(ref r) }, out relation);
                }
                r.Skip();
            }
            return false;
        }
        catch (MessagePackSerializationException ex)
        {
            throw new ProtocolException(ErrorCode.BadField, "malformed content: " + ex.Message, ex);
        }
        catch (EndOfStreamException ex)
        {
            throw new ProtocolException(ErrorCode.BadField, "truncated content", ex);
        }
    }
}

/// <summary>A relation read from an event's content: its type and the related event's id.</summary>
/// <param name="Type">The relation type, for example <see cref="Relations.Thread"/>.</param>
/// <param name="Event">The related event (in the same room).</param>
public readonly record struct Relation(string Type, EventId Event);
