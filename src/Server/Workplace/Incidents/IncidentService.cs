using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Crypto.Age;
using TeamComms.Protocol;
using TeamComms.Protocol.Canonical;
using TeamComms.Protocol.Events;
using TeamComms.Server.Accounts;
using TeamComms.Server.Audit;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Connections;
using TeamComms.Server.FanOut;
using TeamComms.Server.Hosting;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using TeamComms.Server.Storage.Encryption;

namespace TeamComms.Server.Workplace.Incidents;

/// <summary>
/// Incident reports. A report opens a confidential room owned by the server: its members are the people holding an
/// incident role (a directory rule keeps them current) and, unless the report is anonymous, the reporter. Nobody in it
/// can invite or change roles, and admins cannot add members to it. An anonymous reporter is not a member: their posts
/// carry the pseudonym <c>_anonymous@server</c>, and they read and write through calls that prove the report's secret,
/// which only they received. The link between them and the report is kept only sealed to the company escrow key
/// (docs/security.md says who can open it). Every reporter gets a receipt signed with the server key.
/// </summary>
internal sealed partial class IncidentService
{
    public const int MaxDescription = 8000;
    public const string RuleName = "incident-responders";

    private readonly IRoomLog _log;
    private readonly RoomRegistry _rooms;
    private readonly EventStore _events;
    private readonly AttentionStore _store;
    private readonly DirectoryService _directory;
    private readonly AttentionPolicy _policy;
    private readonly AuditLog _audit;
    private readonly ServerKey _serverKey;
    private readonly ConnectionRegistry _connections;
    private readonly FanOutHub _fanOut;
    private readonly TimeProvider _time;
    private readonly KeyOptions _keys;
    private readonly ILogger _logger;
    private readonly Alerts.SendRateLimiter _rate;
    private readonly int _reportsPerDay;

    public IncidentService(IRoomLog log, RoomRegistry rooms, EventStore events, AttentionStore store, DirectoryService directory, AttentionPolicy policy,
        AuditLog audit, ServerKey serverKey, ConnectionRegistry connections, FanOutHub fanOut, TimeProvider time, IOptions<KeyOptions> keys,
        IOptions<AttentionOptions> options, ILogger<IncidentService> logger)
    {
        _log = log;
        _rooms = rooms;
        _events = events;
        _store = store;
        _directory = directory;
        _policy = policy;
        _audit = audit;
        _serverKey = serverKey;
        _connections = connections;
        _fanOut = fanOut;
        _time = time;
        _keys = keys.Value;
        _logger = logger;
        _reportsPerDay = options.Value.IncidentReportsPerDay;
        _rate = new Alerts.SendRateLimiter(time, _reportsPerDay, TimeSpan.FromDays(1));
    }

    /// <summary>The pseudonym of an anonymous reporter in their incident room.</summary>
    public string AnonymousId => "_anonymous@" + _directory.ServerName;

    /// <summary>Files a report; returns <c>{incident_id, room_id?, receipt, secret?}</c>.</summary>
    public async Task<Dictionary<string, object?>> ReportAsync(AuthenticatedSession s, Principal by, string kind, string description, bool anonymous)
    {
        var policy = _policy.Current;
        if (!policy.IncidentKinds.Contains(kind))
        {
            throw new ApiException(ErrorCode.BadField, $"kind is one of {string.Join(", ", policy.IncidentKinds)}");
        }
        description = description.Trim();
        if (description.Length is 0 or > MaxDescription)
        {
            throw new ApiException(ErrorCode.BadField, $"description is 1 to {MaxDescription} characters");
        }
        if (!_rate.TryTake(s.UserKey, out var retry))
        {
            throw new ApiException(ErrorCode.RateLimited, $"at most {_reportsPerDay} reports a day; retry in {retry} s") { RetryAfterSeconds = retry };
        }
        // An anonymous report is recorded by no one: the audit entries and the directory change name "anonymous".
        var actor = anonymous ? new Principal("anonymous", "") : by;
        var key = _store.NextKey("incident");
        var id = "i" + key.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var created = await _log.AppendAsync(new AttentionRoomProposal(_directory.SystemActor, _directory.SystemActor.UserId,
            $"Incident {id}: {kind}", "Confidential: the reporter and the incident team only.", RoomKinds.Group, HistoryVisibilities.Full)).ConfigureAwait(false);
        if (!created.Ok)
        {
            throw new ApiException(created.Error!.Value, created.Message!);
        }
        var room = _rooms.Find(created.RoomId!)!;
        await _directory.ChangeAsync(actor, tx =>
        {
            tx.SetBinding(room.Key, room.RoomId, [ResponderRule(tx, policy.IncidentRoles).Record.Key]);
            if (!anonymous)
            {
                tx.SetManual(room.Key, room.RoomId, tx.RequireUser(s.UserId), "include");
            }
            return 0;
        }).ConfigureAwait(false);
        byte[]? secret = null;
        string? sealedReporter = null;
        if (anonymous)
        {
            secret = RandomNumberGenerator.GetBytes(32);
            sealedReporter = Seal(id, s.UserId);
        }
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var digest = Convert.ToHexStringLower(SHA256.HashData(CanonicalMessagePack.Canonicalize(MsgPackValue.ToBytes(new List<object?> { id, kind, description }))));
        var record = new IncidentRecord
        {
            Key = key,
            Id = id,
            Kind = kind,
            RoomKey = room.Key,
            RoomId = room.RoomId,
            CreatedAt = now,
            Anonymous = anonymous,
            Reporter = anonymous ? null : s.UserId,
            SecretHash = secret is null ? null : Convert.ToHexStringLower(SHA256.HashData(secret)),
            SealedReporter = sealedReporter,
            Digest = digest,
        };
        var content = MsgPackValue.ToCanonicalMap(new Dictionary<string, object?>
        {
            ["incident"] = id,
            ["kind"] = kind,
            ["description"] = description,
            ["anonymous"] = anonymous,
        });
        var (_, outcome) = await _audit.RecordWithAsync([actor.Event("incident.report", id, new Dictionary<string, string>
        {
            ["kind"] = kind,
            ["room"] = room.RoomId,
            ["anonymous"] = anonymous ? "true" : "false",
        })], async rows =>
        {
            var o = await _log.AppendAsync(new AttentionPostProposal(anonymous ? _directory.SystemActor : s.Actor, room.RoomId, AttentionEventTypes.IncidentReport, content)
            {
                Sender = anonymous ? AnonymousId : s.UserId,
                Privileged = true,
                Writes = [AttentionStore.StageIncident(record), AttentionStore.StageIncidentByRoom(room.Key, key), .. rows],
            }).ConfigureAwait(false);
            return (o.Ok, o);
        }).ConfigureAwait(false);
        if (!outcome.Ok)
        {
            throw new ApiException(outcome.Error!.Value, outcome.Message!);
        }
        var ev = outcome.Events[^1];
        var result = new Dictionary<string, object?>
        {
            ["incident_id"] = id,
            ["receipt"] = Receipt(id, kind, digest, ev.Timestamp, anonymous),
        };
        if (anonymous)
        {
            result["secret"] = Base64Url(secret!);
        }
        else
        {
            result["room_id"] = room.RoomId;
        }
        LogReported(_logger, id, kind);
        return result;
    }

    /// <summary>An anonymous reporter's message in their incident room, under the pseudonym.</summary>
    public async Task<Dictionary<string, object?>> SendAnonymousAsync(string incidentId, string secret, string body)
    {
        var incident = Authorize(incidentId, secret);
        body = body.Trim();
        if (body.Length is 0 or > MaxDescription)
        {
            throw new ApiException(ErrorCode.BadField, $"body is 1 to {MaxDescription} characters");
        }
        var outcome = await _log.AppendAsync(new AttentionPostProposal(_directory.SystemActor, incident.RoomId, EventTypes.Message,
            MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["body"] = body }))
        {
            Sender = AnonymousId,
            Privileged = true,
        }).ConfigureAwait(false);
        if (!outcome.Ok)
        {
            throw new ApiException(outcome.Error!.Value, outcome.Message!);
        }
        var ev = outcome.Events[^1];
        return new Dictionary<string, object?> { ["seq"] = ev.Seq, ["event_id"] = ev.Id.ToArray() };
    }

    /// <summary>A page of the incident room's history for an anonymous reporter: <c>{events, next}</c>, forward from <paramref name="from"/>.</summary>
    public Dictionary<string, object?> Messages(string incidentId, string secret, long from, int limit)
    {
        var incident = Authorize(incidentId, secret);
        var room = _rooms.Get(incident.RoomKey) ?? throw new ApiException(ErrorCode.UnknownRoom, "the incident room is gone");
        var head = room.View.Head.Seq;
        var page = _events.ReadRange(room.Key, Math.Max(from, 1), head, forward: true, Math.Clamp(limit, 1, Limits.MaxHistoryPage));
        long? next = page.Count > 0 && page[^1].Seq < head ? page[^1].Seq + 1 : null;
        return new Dictionary<string, object?>
        {
            ["room_id"] = room.RoomId,
            ["events"] = page.Select(e => (object?)new RawMsgPack(e.Wire)).ToList(),
            ["next"] = next,
        };
    }

    /// <summary>Delivers the incident room's live events to the caller's connected devices (until they disconnect).</summary>
    public Dictionary<string, object?> Watch(AuthenticatedSession s, string incidentId, string secret)
    {
        var incident = Authorize(incidentId, secret);
        foreach (var connection in _connections.ForSession(s.SessionKey))
        {
            _fanOut.Watch(connection, incident.RoomKey);
        }
        return new Dictionary<string, object?> { ["room_id"] = incident.RoomId, ["head_seq"] = _rooms.Get(incident.RoomKey)?.View.Head.Seq ?? 0 };
    }

    /// <summary>For the incident roles: every report; for others: their own reports that are not anonymous.</summary>
    public List<object?> List(AuthenticatedSession s)
    {
        var responder = AttentionPolicy.HasRole(s.Roles, _policy.Current.IncidentRoles);
        return _store.Incidents()
            .Where(i => responder || i.Reporter == s.UserId)
            .Select(i => (object?)new Dictionary<string, object?>
            {
                ["incident_id"] = i.Id,
                ["kind"] = i.Kind,
                ["room_id"] = i.RoomId,
                ["created_at"] = i.CreatedAt,
                ["anonymous"] = i.Anonymous,
                ["reporter"] = i.Reporter,
            }).ToList();
    }

    /// <summary>The sealed reporter of an anonymous report (ciphertext only), for the escrow holders' unsealing procedure.</summary>
    public async Task<Dictionary<string, object?>> SealedAsync(Principal by, string incidentId)
    {
        var incident = FindIncident(incidentId);
        await _audit.RecordAsync(by.Event("incident.sealed_read", incident.Id)).ConfigureAwait(false);
        return new Dictionary<string, object?>
        {
            ["incident_id"] = incident.Id,
            ["anonymous"] = incident.Anonymous,
            ["sealed_reporter"] = incident.SealedReporter,
        };
    }

    /// <summary>After the policy's incident roles changed: the responders' rule follows, so every incident room's members do.</summary>
    public async Task SyncRespondersAsync(Principal by)
    {
        if (_directory.Snapshot.FindRule(RuleName) is null)
        {
            return; // no report yet: the first one creates the rule
        }
        var roles = _policy.Current.IncidentRoles;
        await _directory.ChangeAsync(by, tx => ResponderRule(tx, roles)).ConfigureAwait(false);
    }

    /// <summary>True when the room is an incident room (admins may not change its members or roles).</summary>
    public bool IsIncidentRoom(long roomKey) => _store.IncidentByRoom(roomKey) is not null;

    private IncidentRecord Authorize(string incidentId, string secret)
    {
        var incident = FindIncident(incidentId);
        if (!incident.Anonymous || incident.SecretHash is null || !TryBase64Url(secret, out var bytes)
            || !CryptographicOperations.FixedTimeEquals(SHA256.HashData(bytes), Convert.FromHexString(incident.SecretHash)))
        {
            throw new ApiException(ErrorCode.IncidentSecretInvalid, "the incident id and secret do not match an anonymous report");
        }
        return incident;
    }

    private IncidentRecord FindIncident(string incidentId)
    {
        if (incidentId.Length > 1 && incidentId[0] == 'i'
            && long.TryParse(incidentId.AsSpan(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var key)
            && _store.GetIncident(key) is { } incident)
        {
            return incident;
        }
        throw new ApiException(ErrorCode.NotFound, $"no incident {incidentId}");
    }

    /// <summary>The rule for the incident roles, <c>incident-responders</c>, kept equal to the policy's roles.</summary>
    private static CompiledRule ResponderRule(DirectoryTransaction tx, IReadOnlyList<string> roles)
    {
        var expression = "role in (" + string.Join(", ", roles.Select(r => "\"" + r + "\"")) + ")";
        if (tx.FindRule(RuleName) is { } rule)
        {
            return rule.Record.Expression == expression ? rule : tx.UpdateRule(rule.Record.Key, expression, null);
        }
        return tx.CreateRule(RuleName, expression, "people who receive incident reports (workplace policy incident_roles)");
    }

    /// <summary>The reporter's id, as an age file to the escrow key only (not the operations recovery key); null without one.</summary>
    private string? Seal(string incidentId, string reporter)
    {
        if (!AgeRecipient.TryParse(_keys.EscrowRecipient, out var escrow))
        {
            return null;
        }
        var plaintext = Encoding.UTF8.GetBytes($"{{\"incident\":\"{incidentId}\",\"reporter\":\"{reporter}\",\"server\":\"{_directory.ServerName}\"}}\n");
        return AgeFile.Armor(AgeFile.Encrypt(plaintext, [escrow]));
    }

    private Dictionary<string, object?> Receipt(string id, string kind, string digest, long ts, bool anonymous)
    {
        var signed = CanonicalMessagePack.Canonicalize(MsgPackValue.ToBytes(new List<object?>
        {
            "teamcomms.incident.receipt", 1L, _directory.ServerName, id, kind, digest, ts,
        }));
        return new Dictionary<string, object?>
        {
            ["incident_id"] = id,
            ["kind"] = kind,
            ["submitted_at"] = ts,
            ["digest"] = digest,
            ["anonymous"] = anonymous,
            ["server"] = _directory.ServerName,
            ["key_id"] = _serverKey.KeyId,
            ["signature"] = _serverKey.Sign(signed),
        };
    }

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private static bool TryBase64Url(string text, out byte[] bytes)
    {
        bytes = new byte[32];
        return text.Length <= 64 && System.Buffers.Text.Base64Url.TryDecodeFromChars(text, bytes, out var written) && written == 32;
    }

    [LoggerMessage(EventId = 9401, Level = LogLevel.Information, Message = "Incident {IncidentId} ({Kind}) reported")]
    private static partial void LogReported(ILogger logger, string incidentId, string kind);
}
