using System.Text.Json;
using System.Text.Json.Nodes;
using TeamComms.Protocol;
using TeamComms.Server.Audit;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Moderation;

/// <summary>
/// The company's content policy in memory: edit and delete windows for one's own messages, company-wide retention and
/// the default content rules of rooms. The sequencer reads <see cref="Current"/> on every check; admins change it with
/// <c>PUT /v1/admin/policies/content</c>, audited in the same write. In cluster mode the change travels through the
/// cluster log and every node's sequencer takes the new policy as it applies that row (<see cref="IApplyTimeRows"/>), so
/// every node checks each later proposal against the same policy, in log order.
/// </summary>
internal sealed class ContentPolicy(WorkplaceStore store, AuditLog audit) : IApplyTimeRows, IDisposable
{
    private static readonly string[] s_fields = ["edit_window_minutes", "delete_window_minutes", "retention_days", "attachments", "links"];
    private volatile ContentPolicyRecord _current = store.GetContentPolicy();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _appliedInBatch;

    public ContentPolicyRecord Current => _current;

    /// <summary>Applies a partial update; only the fields present change. Returns the new policy.</summary>
    public async Task<ContentPolicyRecord> UpdateAsync(Principal by, JsonObject body)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var next = _current;
            var changes = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (field, value) in body)
            {
                switch (field)
                {
                    case "edit_window_minutes":
                        next = next with { EditWindowMinutes = Window(field, value) };
                        changes[field] = next.EditWindowMinutes?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unlimited";
                        break;
                    case "delete_window_minutes":
                        next = next with { DeleteWindowMinutes = Window(field, value) };
                        changes[field] = next.DeleteWindowMinutes?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unlimited";
                        break;
                    case "retention_days":
                        var days = Int(field, value);
                        if (days is < 0 or > 36500)
                        {
                            throw new ApiException(ErrorCode.BadRequest, "retention_days is 0 (keep forever) to 36500");
                        }
                        next = next with { RetentionDays = (int)days };
                        changes[field] = days.ToString(System.Globalization.CultureInfo.InvariantCulture);
                        break;
                    case "attachments":
                    case "links":
                        ContentRulesRecord parsed;
                        try
                        {
                            var map = MsgPackValue.ReadMap(MsgPackValue.ToBytes(new Dictionary<string, object?> { [field] = JsonToPlain(value) }));
                            parsed = AttachmentRules.Parse(new FieldMap(map)).Rules;
                        }
                        catch (ProtocolException ex)
                        {
                            throw new ApiException(ErrorCode.BadRequest, ex.Message);
                        }
                        next = next with { Defaults = AttachmentRules.Merge(parsed, next.Defaults) };
                        changes[field] = value?.ToJsonString() ?? "null";
                        break;
                    default:
                        throw new ApiException(ErrorCode.BadRequest, $"unknown content policy '{field}'; the policies are {string.Join(", ", s_fields)}");
                }
            }
            await audit.RecordWithAsync([by.Event("policy.content.update", "content", changes)], async writes =>
            {
                await audit.CommitAsync([.. writes, WorkplaceStore.PutContentPolicy(next)], store.Write).ConfigureAwait(false);
                return (true, 0);
            }).ConfigureAwait(false);
            if (!audit.Clustered)
            {
                _current = next; // in cluster mode the sequencer set it when it applied the row, in log order
            }
            return next;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The policy as the admin API shows it.</summary>
    public static object View(ContentPolicyRecord p) => new
    {
        edit_window_minutes = p.EditWindowMinutes,
        delete_window_minutes = p.DeleteWindowMinutes,
        retention_days = p.RetentionDays,
        attachments = new { max_bytes = p.Defaults.MaxAttachmentBytes, types = p.Defaults.AttachmentTypes },
        links = new { policy = p.Defaults.LinkPolicy, domains = p.Defaults.LinkDomains },
    };

    private static int? Window(string field, JsonNode? value)
    {
        if (value is null)
        {
            return null;
        }
        var minutes = Int(field, value);
        return minutes is < 0 or > 5_256_000 ? throw new ApiException(ErrorCode.BadRequest, $"{field} is 0 (never) to 5256000 minutes, or null (no limit)") : (int)minutes;
    }

    private static long Int(string field, JsonNode? value) =>
        value is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var n)
            ? n
            : throw new ApiException(ErrorCode.BadRequest, $"{field} must be an integer");

    /// <summary>JSON to the plain values <see cref="MsgPackValue"/> writes (integers as long).</summary>
    internal static object? JsonToPlain(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => o.ToDictionary(kv => kv.Key, kv => JsonToPlain(kv.Value), StringComparer.Ordinal),
        JsonArray a => a.Select(JsonToPlain).ToList(),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        JsonValue v when v.TryGetValue<long>(out var l) => l,
        JsonValue v => v.GetValue<double>(),
        _ => null,
    };

    /// <summary>True for the content policy's row.</summary>
    public static bool IsPolicyRow(StagedWrite write) =>
        write.Family == WorkplaceStore.Family && write.Key is [KeyCodec.ContentPolicyTag];

    StagedWrite IApplyTimeRows.OnApply(StagedWrite write, long nowMs)
    {
        if (IsPolicyRow(write) && write.Value is { } value)
        {
            _current = WorkplaceJson.Decode<ContentPolicyRecord>(value);
            _appliedInBatch = true;
        }
        return write;
    }

    void IApplyTimeRows.OnCommitted() => _appliedInBatch = false;

    void IApplyTimeRows.OnRolledBack()
    {
        if (_appliedInBatch)
        {
            _current = store.GetContentPolicy();
            _appliedInBatch = false;
        }
    }

    public void Dispose() => _gate.Dispose();
}
