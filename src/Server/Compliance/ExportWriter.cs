using System.Buffers;
using System.Formats.Tar;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using TeamComms.Protocol.Events;

namespace TeamComms.Server.Compliance;

/// <summary>
/// Writes an export's archive into a stream (the age encryptor, so nothing reaches the disk in plaintext): a tar
/// with <c>export.json</c>, <c>index.html</c>, the events as JSON lines in <c>messages/NNNNNN.jsonl</c> and as
/// readable pages in <c>transcript/rNNNN-pNNNN.html</c>. A tar entry needs its size before its data, so events are
/// gathered in memory in parts of at most <see cref="PartBytes"/> and written part by part: an export of any size
/// holds only a few MiB of plaintext at a time.
/// </summary>
internal sealed class ExportWriter : IDisposable
{
    /// <summary>Largest JSON-lines part (4 MiB: a few MiB of plaintext in memory at a time, and files any editor opens).</summary>
    public const int PartBytes = 4 << 20;
    /// <summary>Events per transcript page (a page a browser shows at once).</summary>
    public const int PageEvents = 1000;
    /// <summary>A page also ends at about this many characters, so a page of large messages stays a few MiB.</summary>
    private const int PageChars = 2 << 20;

    private static readonly JsonWriterOptions s_json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = false };
    private readonly TarWriter _tar;
    private readonly DateTimeOffset _time;
    private readonly ArrayBufferWriter<byte> _lines = new(1 << 16);
    private readonly StringBuilder _page = new();
    private readonly List<ExportRoomSummary> _rooms = [];
    private int _partNumber;
    private int _roomNumber;
    // The room being written.
    private string? _roomId;
    private string _roomName = "";
    private long _roomEvents;
    private int _pageEvents;
    private List<string> _pages = [];

    public ExportWriter(Stream output, DateTimeOffset time)
    {
        _tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        _time = time;
    }

    public long Events { get; private set; }
    public long Removed { get; private set; }
    public int Rooms => _rooms.Count + (_roomEvents > 0 ? 1 : 0);
    public IReadOnlyList<ExportRoomSummary> RoomSummaries => _rooms;

    /// <summary>Adds one event of <paramref name="roomId"/>; events come room by room, in seq order.</summary>
    public void Add(string roomId, string roomName, RoomEvent e, string? senderName)
    {
        if (roomId != _roomId)
        {
            EndRoom();
            _roomId = roomId;
            _roomName = roomName;
            _roomNumber++;
        }
        var contentJson = e.IsRedacted ? null : ContentJson(e.ContentMap);
        WriteLine(roomId, roomName, e, senderName, contentJson);
        if (_pageEvents == PageEvents || _page.Length >= PageChars)
        {
            FlushPage(last: false);
        }
        if (_pageEvents == 0)
        {
            var page = PageName(_roomNumber, _pages.Count + 1);
            _pages.Add(page);
            TranscriptHtml.BeginPage(_page, roomName.Length > 0 ? roomName : roomId,
                $"{roomId} · page {_pages.Count} · exported {_time:yyyy-MM-dd HH:mm} UTC",
                _pages.Count > 1 ? Path.GetFileName(_pages[^2]) : null, null);
        }
        TranscriptHtml.Event(_page, e, senderName, contentJson);
        _pageEvents++;
        _roomEvents++;
        Events++;
        if (e.IsRedacted)
        {
            Removed++;
        }
        if (_lines.WrittenCount >= PartBytes)
        {
            FlushLines();
        }
    }

    /// <summary>Writes what is left, the index and <c>export.json</c>; then the archive is complete.</summary>
    public void Finish(string indexTitle, IReadOnlyList<(string Label, string Value)> facts, byte[] info)
    {
        EndRoom();
        FlushLines();
        Entry("export.json", info);
        Entry("index.html", Encoding.UTF8.GetBytes(TranscriptHtml.Index(indexTitle, facts, _rooms)));
        _tar.Dispose();
    }

    private void EndRoom()
    {
        if (_roomId is null || _roomEvents == 0)
        {
            return;
        }
        FlushPage(last: true);
        _rooms.Add(new ExportRoomSummary(_roomId, _roomName, _roomEvents, _pages));
        _pages = [];
        _roomEvents = 0;
    }

    private void FlushPage(bool last)
    {
        if (_pageEvents == 0)
        {
            return;
        }
        // The next page exists unless this is the room's last; its name is known in advance.
        var next = last ? null : Path.GetFileName(PageName(_roomNumber, _pages.Count + 1));
        // The page's header was written before it was known whether a next page follows: only the footer links to it.
        TranscriptHtml.EndPage(_page, _pages.Count > 1 ? Path.GetFileName(_pages[^2]) : null, next);
        Entry(_pages[^1], Encoding.UTF8.GetBytes(_page.ToString()));
        _page.Clear();
        _pageEvents = 0;
    }

    private void FlushLines()
    {
        if (_lines.WrittenCount == 0)
        {
            return;
        }
        _partNumber++;
        Entry($"messages/{_partNumber.ToString("D6", CultureInfo.InvariantCulture)}.jsonl", _lines.WrittenSpan.ToArray());
        _lines.ResetWrittenCount();
    }

    private void Entry(string name, byte[] data)
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = new MemoryStream(data, writable: false),
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            ModificationTime = _time,
        };
        _tar.WriteEntry(entry);
    }

    private void WriteLine(string roomId, string roomName, RoomEvent e, string? senderName, string? contentJson)
    {
        using (var w = new Utf8JsonWriter(_lines, s_json))
        {
            w.WriteStartObject();
            w.WriteString("room_id", roomId);
            w.WriteString("room_name", roomName);
            w.WriteNumber("seq", e.Seq);
            w.WriteString("event_id", e.Id.ToString());
            w.WriteNumber("ts", e.Timestamp);
            w.WriteString("time", DateTimeOffset.FromUnixTimeMilliseconds(e.Timestamp).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            w.WriteString("sender", e.Sender);
            if (senderName is not null)
            {
                w.WriteString("sender_name", senderName);
            }
            w.WriteString("type", e.Type);
            w.WriteBoolean("removed", e.IsRedacted);
            w.WritePropertyName("content");
            if (contentJson is null)
            {
                w.WriteNullValue();
            }
            else
            {
                w.WriteRawValue(contentJson, skipInputValidation: true);
            }
            w.WriteEndObject();
        }
        _lines.Write("\n"u8);
    }

    /// <summary>Event content as JSON: binary as base64, everything else as itself.</summary>
    private static string ContentJson(IReadOnlyDictionary<string, object?> content)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, s_json))
        {
            WriteValue(w, content);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteValue(Utf8JsonWriter w, object? value)
    {
        switch (value)
        {
            case null:
                w.WriteNullValue();
                break;
            case string s:
                w.WriteStringValue(s);
                break;
            case bool b:
                w.WriteBooleanValue(b);
                break;
            case long l:
                w.WriteNumberValue(l);
                break;
            case ulong u:
                w.WriteNumberValue(u);
                break;
            case double d when double.IsFinite(d):
                w.WriteNumberValue(d);
                break;
            case double d:
                w.WriteStringValue(d.ToString(CultureInfo.InvariantCulture));
                break;
            case byte[] bytes:
                w.WriteBase64StringValue(bytes);
                break;
            case IReadOnlyDictionary<string, object?> map:
                w.WriteStartObject();
                foreach (var (k, v) in map)
                {
                    w.WritePropertyName(k);
                    WriteValue(w, v);
                }
                w.WriteEndObject();
                break;
            case IEnumerable<object?> list:
                w.WriteStartArray();
                foreach (var v in list)
                {
                    WriteValue(w, v);
                }
                w.WriteEndArray();
                break;
            default:
                w.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static string PageName(int room, int page) =>
        $"transcript/r{room.ToString("D4", CultureInfo.InvariantCulture)}-p{page.ToString("D4", CultureInfo.InvariantCulture)}.html";

    public void Dispose() => _tar.Dispose();
}
