using System.Text;

namespace TeamComms.Server.Provisioning.Csv;

/// <summary>A CSV record and the line it starts on (1-based), for error messages.</summary>
internal sealed record CsvRow(int Line, IReadOnlyList<string> Fields);

/// <summary>
/// RFC 4180 CSV: comma-separated, fields optionally in double quotes, <c>""</c> for a quote inside quotes, quoted
/// fields may span lines, CRLF or LF line ends, an optional UTF-8 byte order mark. Blank lines are skipped.
/// </summary>
internal static class CsvReader
{
    public static List<CsvRow> Parse(string text)
    {
        var rows = new List<CsvRow>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var i = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0;
        var line = 1;
        var rowLine = 1;
        var quoted = false;
        var fieldStarted = false;
        while (i < text.Length)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"')
                    {
                        field.Append('"');
                        i += 2;
                        continue;
                    }
                    quoted = false;
                    i++;
                    if (i < text.Length && text[i] is not (',' or '\r' or '\n'))
                    {
                        throw new CsvException(line, "a closing quote must end the field");
                    }
                    continue;
                }
                if (c == '\n')
                {
                    line++;
                }
                field.Append(c);
                i++;
                continue;
            }
            switch (c)
            {
                case '"' when !fieldStarted:
                    quoted = true;
                    fieldStarted = true;
                    i++;
                    continue;
                case '"':
                    throw new CsvException(line, "a quote inside an unquoted field; put the field in quotes and double the quote");
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    fieldStarted = false;
                    i++;
                    continue;
                case '\r' or '\n':
                    if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                    {
                        i++;
                    }
                    i++;
                    EndRow();
                    line++;
                    rowLine = line;
                    continue;
                default:
                    field.Append(c);
                    fieldStarted = true;
                    i++;
                    continue;
            }
        }
        if (quoted)
        {
            throw new CsvException(rowLine, "a quoted field is not closed");
        }
        EndRow();
        return rows;

        void EndRow()
        {
            fields.Add(field.ToString());
            field.Clear();
            fieldStarted = false;
            if (!(fields.Count == 1 && fields[0].Length == 0))
            {
                rows.Add(new CsvRow(rowLine, [.. fields]));
            }
            fields.Clear();
        }
    }
}

/// <summary>A CSV file that cannot be read at all.</summary>
internal sealed class CsvException(int line, string message) : Exception($"line {line}: {message}")
{
    public int Line { get; } = line;
}
