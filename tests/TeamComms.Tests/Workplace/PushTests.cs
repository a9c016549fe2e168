using Microsoft.Extensions.DependencyInjection;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Workplace;

/// <summary>Push through the company's gateway (a local HTTP receiver): quiet hours, urgency and reminders apply as to Notify frames.</summary>
public class PushTests
{
    private static string Reason(System.Text.Json.Nodes.JsonObject n) => n["teamcomms"]!["reason"]!.GetValue<string>();

    [Fact]
    public async Task Push_OfflineDevicesGetMessagesInWorkingHours_UrgentAndRemindersAlways_QuietHoursSilence()
    {
        await using var gateway = await PushReceiver.StartAsync();
        var clock = AttentionKit.Clock();
        await using var server = await TestServer.StartAsync(new() { ["TeamComms:Workplace:PushGatewayUrl"] = gateway.BaseUrl.ToString() }, time: clock);
        var hr = await server.PersonAsync("push-hr", roles: ["hr"]);
        var bob = await server.PersonAsync("push-bob");
        await using var hrConn = await hr.ConnectAsync();
        var room = await hrConn.CreateRoomAsync("Warehouse", invite: [bob.UserId]);
        await using (var bobConn = await bob.ConnectAsync())
        {
            await bobConn.JoinAsync(room);
            Assert.Equal(ErrorCode.BadField, (await bobConn.CallErrorAsync("push.register", new() { ["app_id"] = "com.acme.teamcomms", ["pushkey"] = "" })).Code);
            var registered = await bobConn.CallMapAsync("push.register", new() { ["app_id"] = "com.acme.teamcomms", ["pushkey"] = "bob-phone" });
            Assert.NotNull(registered);
        } // bob's phone is in his pocket: no live connection

        var noon = await hrConn.SendTextAsync(room, "Delivery at 3");
        var pushed = await gateway.WaitAsync(n => n["room_id"]?.GetValue<string>() == room);
        Assert.Equal(("message", noon.EventId.ToString(), "high", "bob-phone"),
            (Reason(pushed), pushed["event_id"]!.GetValue<string>(), pushed["prio"]!.GetValue<string>(), pushed["devices"]![0]!["pushkey"]!.GetValue<string>()));
        Assert.Null(pushed["content"]); // the gateway never sees message content
        Assert.Equal(hr.UserId, pushed["sender"]!.GetValue<string>());

        clock.Advance(TimeSpan.FromHours(7)); // 19:00: quiet hours
        await hrConn.SendTextAsync(room, "Tomorrow's rota is up");
        var alert = await hrConn.CallMapAsync("alerts.send", new() { ["room"] = room, ["body"] = "Forklift accident, bay 4: keep clear" });
        var urgent = await gateway.WaitAsync(n => Reason(n) == NotifyReasons.Urgent);
        Assert.Equal(("urgent", true), (urgent["devices"]![0]!["tweaks"]!["sound"]!.GetValue<string>(), urgent["teamcomms"]!["urgent"]!.GetValue<bool>()));
        Assert.Equal(new EventId((byte[])alert["event_id"]!).ToString(), urgent["event_id"]!.GetValue<string>());
        // One push loop posts in commit order: the quiet message before the alert was not pushed.
        Assert.Equal(2, gateway.Notifications().Count);

        clock.Advance(TimeSpan.FromMinutes(2));
        var reminder = await gateway.WaitAsync(n => Reason(n) == NotifyReasons.Reminder);
        Assert.Equal(((string)alert["alert_id"]!, room), (reminder["teamcomms"]!["alert"]!.GetValue<string>(), reminder["room_id"]!.GetValue<string>()));

        // The platform says the phone is gone: the gateway rejects its key with the next reminder, and the device is unregistered.
        gateway.Reject.Add("bob-phone");
        clock.Advance(TimeSpan.FromMinutes(2));
        await gateway.WaitAsync(_ => gateway.Notifications().Count(x => Reason(x) == NotifyReasons.Reminder) == 2);
        var store = server.Services.GetRequiredService<TeamComms.Server.Storage.AttentionStore>();
        await Eventually.TrueAsync(() => store.PushDevices().All(d => d.PushKey != "bob-phone"), what: "the rejected device is unregistered");
    }

    [Fact]
    public async Task PushRegister_WithoutAGateway_IsRefusedWithPushDisabled()
    {
        await using var server = await TestServer.StartAsync();
        var bob = await server.PersonAsync("nopush-bob");
        await using var bobConn = await bob.ConnectAsync();
        Assert.Equal(ErrorCode.PushDisabled, (await bobConn.CallErrorAsync("push.register", new() { ["app_id"] = "a", ["pushkey"] = "k" })).Code);
    }
}
