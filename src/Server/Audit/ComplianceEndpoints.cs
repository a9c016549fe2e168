using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Accounts;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Audit;

/// <summary>
/// Compliance officers read archived rooms, whether or not they were members. Every read is audited. Active rooms
/// stay private to their members.
/// </summary>
internal static class ComplianceEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/compliance/rooms", (HttpContext context, AccountService accounts, RoomStore rooms) =>
        {
            Access.Require(context, accounts, CompanyRoles.ComplianceOfficer);
            return Results.Ok(new
            {
                rooms = rooms.AllRooms().Where(r => r.Archived).Select(r => new { room_id = r.RoomId, name = r.Name, kind = r.Kind, creator = r.Creator }),
            });
        });

        app.MapGet("/v1/compliance/rooms/{roomId}/history", async (string roomId, HttpContext context, AccountService accounts, RoomRegistry registry,
            EventStore events, AuditLog audit, long? from, string? dir, int? limit) =>
        {
            var (_, by) = Access.Require(context, accounts, CompanyRoles.ComplianceOfficer);
            var room = registry.Find(roomId) ?? throw new ApiException(ErrorCode.UnknownRoom, "no such room");
            var view = room.View;
            if (!view.State.Archived)
            {
                throw new ApiException(ErrorCode.Forbidden, "compliance officers read archived rooms; this room is active");
            }
            var forward = (dir ?? "forward") == "forward";
            var size = Math.Clamp(limit ?? 100, 1, Limits.MaxHistoryPage);
            var start = from ?? (forward ? 1 : view.Head.Seq);
            var page = forward ? events.ReadRange(room.Key, start, view.Head.Seq, true, size) : events.ReadRange(room.Key, start, 1, false, size);
            await audit.RecordAsync(by.Event("compliance.read", room.RoomId, new Dictionary<string, string>
            {
                ["from"] = start.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["count"] = page.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            })).ConfigureAwait(false);
            long? next = page.Count == size ? (forward ? page[^1].Seq + 1 : page[^1].Seq - 1) : null;
            return Results.Ok(new
            {
                room_id = room.RoomId,
                name = view.State.Name,
                head_seq = view.Head.Seq,
                events = page.Select(e => EventJson(EventCodec.Read(e.Wire))),
                next = next is > 0 && next <= view.Head.Seq ? next : null,
            });
        });
    }

    public static object EventJson(RoomEvent e) => new
    {
        seq = e.Seq,
        event_id = e.Id.ToString(),
        sender = e.Sender,
        type = e.Type,
        ts = e.Timestamp,
        content = e.IsRedacted ? null : e.ContentMap.ToDictionary(kv => kv.Key, kv => kv.Value is byte[] b ? Convert.ToBase64String(b) : kv.Value),
    };
}
