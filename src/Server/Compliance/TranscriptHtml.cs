using System.Globalization;
using System.Text;
using TeamComms.Protocol.Events;

namespace TeamComms.Server.Compliance;

/// <summary>
/// The readable half of an export: self-contained HTML pages. Every piece of text that came from users (names,
/// bodies, room names, ids, content fields) goes through <see cref="Escape"/>; the pages also carry a
/// Content-Security-Policy that forbids scripts and every network fetch, so even a mistake in escaping cannot run
/// code or call home when an officer opens the transcript. Text is UTF-8 and not transliterated: Thai, Arabic, CJK
/// and emoji render with the reader's fonts (a font list with Noto fallbacks), and each body is its own bidi
/// paragraph (<c>dir="auto"</c>), so a right-to-left message cannot reorder what follows it.
/// </summary>
internal static class TranscriptHtml
{
    private const string Style =
        "body{font-family:system-ui,-apple-system,\"Segoe UI\",\"Noto Sans\",\"Noto Sans Thai\",\"Noto Sans Arabic\",\"Noto Sans Hebrew\"," +
        "\"Noto Sans CJK SC\",\"Noto Sans Devanagari\",Tahoma,Arial,sans-serif;line-height:1.55;margin:2em auto;max-width:60em;padding:0 1em;color:#111}" +
        "header.page{border-bottom:1px solid #ccc;margin-bottom:1em}.meta{color:#555;font-size:.9em}" +
        "article{border-bottom:1px solid #eee;padding:.4em 0}article header{font-size:.85em;color:#555}" +
        ".sender{color:#111;font-weight:600}.body{white-space:pre-wrap;overflow-wrap:anywhere;unicode-bidi:plaintext}" +
        ".removed{color:#777;font-style:italic}.notice{color:#555;font-style:italic}" +
        "pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6;padding:.3em;font-size:.85em}" +
        "nav a{margin-right:1em}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left}";

    /// <summary>The start of a page, up to the first event.</summary>
    public static void BeginPage(StringBuilder sb, string title, string subtitle, string? previous, string? next)
    {
        sb.Append("<!DOCTYPE html>\n<html lang=\"und\"><head><meta charset=\"utf-8\">")
            .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"referrer\" content=\"no-referrer\">")
            .Append("<title>");
        Escape(sb, title);
        sb.Append("</title><style>").Append(Style).Append("</style></head>\n<body><header class=\"page\"><h1 dir=\"auto\">");
        Escape(sb, title);
        sb.Append("</h1><p class=\"meta\">");
        Escape(sb, subtitle);
        sb.Append("</p>");
        Nav(sb, previous, next);
        sb.Append("</header>\n<main>\n");
    }

    public static void EndPage(StringBuilder sb, string? previous, string? next)
    {
        sb.Append("</main>\n<footer>");
        Nav(sb, previous, next);
        sb.Append("</footer></body></html>\n");
    }

    private static void Nav(StringBuilder sb, string? previous, string? next)
    {
        sb.Append("<nav><a href=\"../index.html\">index</a>");
        if (previous is not null)
        {
            sb.Append("<a href=\"");
            Escape(sb, previous);
            sb.Append("\">&larr; previous page</a>");
        }
        if (next is not null)
        {
            sb.Append("<a href=\"");
            Escape(sb, next);
            sb.Append("\">next page &rarr;</a>");
        }
        sb.Append("</nav>");
    }

    /// <summary>One event: when, who, and what (the body as text; other content fields as escaped JSON; removed content as removed).</summary>
    public static void Event(StringBuilder sb, RoomEvent e, string? senderName, string? contentJson)
    {
        sb.Append("<article id=\"e").Append(e.Seq.ToString(CultureInfo.InvariantCulture)).Append("\"><header>#")
            .Append(e.Seq.ToString(CultureInfo.InvariantCulture)).Append(' ');
        var time = DateTimeOffset.FromUnixTimeMilliseconds(e.Timestamp).UtcDateTime;
        sb.Append("<time datetime=\"").Append(time.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)).Append("\">")
            .Append(time.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)).Append(" UTC</time> <bdi class=\"sender\">");
        Escape(sb, senderName ?? e.Sender);
        sb.Append("</bdi> <bdi>&lt;");
        Escape(sb, e.Sender);
        sb.Append("&gt;</bdi>");
        if (e.Type != EventTypes.Message)
        {
            sb.Append(" <span class=\"type\">");
            Escape(sb, e.Type);
            sb.Append("</span>");
        }
        sb.Append("</header>");
        if (e.IsRedacted)
        {
            sb.Append("<div class=\"body removed\">[content removed]</div>");
        }
        else
        {
            var content = e.ContentMap;
            if (e.Type == EventTypes.Message && content.TryGetValue("body", out var body) && body is string text)
            {
                sb.Append("<div class=\"body\" dir=\"auto\">");
                Escape(sb, text);
                sb.Append("</div>");
                if (content.Count > 1 && contentJson is not null)
                {
                    sb.Append("<pre dir=\"ltr\">");
                    Escape(sb, contentJson);
                    sb.Append("</pre>");
                }
            }
            else
            {
                sb.Append("<div class=\"notice\" dir=\"auto\">");
                Escape(sb, Describe(e, content));
                sb.Append("</div>");
                if (contentJson is not null && content.Count > 0)
                {
                    sb.Append("<pre dir=\"ltr\">");
                    Escape(sb, contentJson);
                    sb.Append("</pre>");
                }
            }
        }
        sb.Append("</article>\n");
    }

    private static string Describe(RoomEvent e, IReadOnlyDictionary<string, object?> content) => e.Type switch
    {
        EventTypes.Create => "created the room",
        EventTypes.Member => $"{content.GetValueOrDefault("user")}: {content.GetValueOrDefault("membership")}" +
            (content.GetValueOrDefault("reason") is string reason ? $" ({reason})" : ""),
        EventTypes.Name => $"named the room \u201c{content.GetValueOrDefault("name")}\u201d",
        EventTypes.Topic => $"set the topic \u201c{content.GetValueOrDefault("topic")}\u201d",
        EventTypes.Archived => content.GetValueOrDefault("archived") is true ? "archived the room" : "unarchived the room",
        _ => e.Type,
    };

    /// <summary>The export's front page: scope, counts, and each room with links to its pages.</summary>
    public static string Index(string title, IReadOnlyList<(string Label, string Value)> facts, IReadOnlyList<ExportRoomSummary> rooms)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"und\"><head><meta charset=\"utf-8\">")
            .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
        Escape(sb, title);
        sb.Append("</title><style>").Append(Style).Append("</style></head>\n<body><header class=\"page\"><h1>");
        Escape(sb, title);
        sb.Append("</h1><table>");
        foreach (var (label, value) in facts)
        {
            sb.Append("<tr><th>");
            Escape(sb, label);
            sb.Append("</th><td dir=\"auto\">");
            Escape(sb, value);
            sb.Append("</td></tr>");
        }
        sb.Append("</table></header>\n<main><h2>Rooms</h2><table><tr><th>room</th><th>id</th><th>events</th><th>pages</th></tr>\n");
        foreach (var room in rooms)
        {
            sb.Append("<tr><td dir=\"auto\">");
            Escape(sb, room.Name.Length > 0 ? room.Name : "(no name)");
            sb.Append("</td><td>");
            Escape(sb, room.RoomId);
            sb.Append("</td><td>").Append(room.Events.ToString(CultureInfo.InvariantCulture)).Append("</td><td>");
            for (var i = 0; i < room.Pages.Count; i++)
            {
                sb.Append("<a href=\"");
                Escape(sb, room.Pages[i]);
                sb.Append("\">").Append((i + 1).ToString(CultureInfo.InvariantCulture)).Append("</a> ");
            }
            sb.Append("</td></tr>\n");
        }
        sb.Append("</table><p class=\"meta\">The same events, one JSON object per line, are in messages/*.jsonl.</p></main></body></html>\n");
        return sb.ToString();
    }

    /// <summary>
    /// Escapes text for HTML element content and double- or single-quoted attribute values: the five markup
    /// characters become entities; C0 and C1 control characters (other than tab and newline) and unpaired
    /// surrogates become U+FFFD. Everything else stays as written, so any script renders as itself.
    /// </summary>
    public static void Escape(StringBuilder sb, string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '&':
                    sb.Append("&amp;");
                    break;
                case '<':
                    sb.Append("&lt;");
                    break;
                case '>':
                    sb.Append("&gt;");
                    break;
                case '"':
                    sb.Append("&quot;");
                    break;
                case '\'':
                    sb.Append("&#39;");
                    break;
                case '\n' or '\t':
                    sb.Append(c);
                    break;
                case < ' ' or (>= '\u007f' and <= '\u009f'):
                    sb.Append('\uFFFD');
                    break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                    {
                        sb.Append(c).Append(text[++i]);
                    }
                    else if (char.IsSurrogate(c))
                    {
                        sb.Append('\uFFFD');
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
    }

    public static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length + 16);
        Escape(sb, text);
        return sb.ToString();
    }
}

/// <summary>One room of an export, for the index page.</summary>
internal sealed record ExportRoomSummary(string RoomId, string Name, long Events, IReadOnlyList<string> Pages);
