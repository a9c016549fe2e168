using TeamComms.Protocol;

namespace TeamComms.Server.Conversations;

/// <summary>
/// A poll as its <c>poll</c> event defines it: <c>{question, options: [{id, text}], multiple?, anonymous?, closes_at?}</c>.
/// 2 to 20 options with distinct ids (1 to 64 characters); a closing time, when given, in the future.
/// </summary>
internal sealed record PollSpec(string Question, IReadOnlyList<string> OptionIds, bool Multiple, bool Anonymous, long? ClosesAt, string? Error = null)
{
    public const int MaxOptions = 20;

    public static PollSpec Parse(FieldMap content, long nowMs)
    {
        string question;
        var ids = new List<string>();
        bool multiple, anonymous;
        long? closesAt;
        try
        {
            question = content.RequiredString("question", 1024);
            multiple = content.OptionalBool("multiple") ?? false;
            anonymous = content.OptionalBool("anonymous") ?? false;
            closesAt = content.OptionalInt("closes_at");
            if (content.Map.GetValueOrDefault("options") is not List<object?> { Count: >= 2 and <= MaxOptions } options)
            {
                return Invalid($"a poll has 2 to {MaxOptions} options [{{id, text}}]");
            }
            foreach (var o in options)
            {
                if (o is not Dictionary<string, object?> option)
                {
                    return Invalid("each poll option is a map {id, text}");
                }
                var f = new FieldMap(option);
                var id = f.RequiredString("id", 64);
                f.RequiredString("text", 256);
                if (id.Length == 0 || ids.Contains(id))
                {
                    return Invalid("poll option ids are distinct and not empty");
                }
                ids.Add(id);
            }
        }
        catch (ProtocolException ex)
        {
            return Invalid(ex.Message);
        }
        if (question.Length == 0)
        {
            return Invalid("a poll has a question");
        }
        if (closesAt is { } at && at <= nowMs)
        {
            return Invalid("closes_at is in the past");
        }
        return new PollSpec(question, ids, multiple, anonymous, closesAt);
    }

    private static PollSpec Invalid(string error) => new("", [], false, false, null, error);
}
