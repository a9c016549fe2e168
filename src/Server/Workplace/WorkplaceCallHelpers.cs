using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Accounts;
using TeamComms.Server.Audit;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Workplace;

/// <summary>Parameter parsing and results shared by the workplace features' WebSocket calls.</summary>
internal static class WorkplaceCallHelpers
{
    /// <summary>An event id parameter: MessagePack bin 32, or its unpadded base64url text.</summary>
    public static EventId EventIdParam(FieldMap p, string name)
    {
        return p.Map.GetValueOrDefault(name) switch
        {
            byte[] { Length: EventId.Size } bytes => new EventId(bytes),
            string text => EventId.Parse(text),
            null => throw new ApiException(ErrorCode.BadField, $"'{name}' is required (an event id: bin 32)"),
            _ => throw new ApiException(ErrorCode.BadField, $"'{name}' is an event id: bin 32"),
        };
    }

    public static string RoomParam(FieldMap p)
    {
        var id = p.RequiredString("room", Identifiers.MaxIdLength);
        return Identifiers.IsValidRoomId(id) ? id : throw new ApiException(ErrorCode.BadField, $"'{id}' is not a room id");
    }

    public static Principal By(AuthenticatedSession s, AccountStore accounts) => new(s.UserId, accounts.GetSession(s.SessionKey)?.LastAddress ?? "");

    /// <summary><c>{seq, event_id}</c> of the outcome's last event, or, for a room hosted elsewhere, once its hub ordered it.</summary>
    public static async Task<object?> EventResultAsync(AppendOutcome outcome)
    {
        if (!outcome.Ok)
        {
            throw new ApiException(outcome.Error!.Value, outcome.Message!);
        }
        if (outcome.Forwarded is { } forwarded)
        {
            var result = await forwarded.WaitForCallAsync().ConfigureAwait(false)
                ?? throw new ApiException(ErrorCode.FederationPending,
                    $"queued for {forwarded.Hub}, the room's hub, which has not ordered it yet; it applies when {forwarded.Hub} can be reached");
            if (!result.Ok)
            {
                throw new ApiException(result.Error!.Value, result.Message!);
            }
            return new Dictionary<string, object?> { ["seq"] = result.Seq, ["event_id"] = result.Id.ToArray() };
        }
        return new Dictionary<string, object?> { ["seq"] = outcome.Events[^1].Seq, ["event_id"] = outcome.Events[^1].Id.ToArray() };
    }

    /// <summary>Whether a member (current or past) may read the event at <paramref name="seq"/> through history.</summary>
    public static bool CanRead(RoomState state, string userId, long seq)
    {
        if (state.Member(userId) is not { JoinSeq: > 0 } m || m.Membership == Membership.Invite)
        {
            return false;
        }
        var min = state.HistoryVisibility == HistoryVisibilities.Full ? 1 : m.JoinSeq;
        var max = m.Membership == Membership.Join ? long.MaxValue : m.Seq;
        return seq >= min && seq <= max;
    }

    /// <summary>The room's content rules as clients see them.</summary>
    public static Dictionary<string, object?> RulesView(ContentRulesRecord rules) => new()
    {
        ["attachments"] = new Dictionary<string, object?>
        {
            ["max_bytes"] = rules.MaxAttachmentBytes,
            ["types"] = rules.AttachmentTypes?.Cast<object?>().ToList(),
        },
        ["links"] = new Dictionary<string, object?>
        {
            ["policy"] = rules.LinkPolicy,
            ["domains"] = rules.LinkDomains?.Cast<object?>().ToList(),
        },
    };
}
