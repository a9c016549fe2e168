using System.CommandLine;
using System.Text.Json.Nodes;
using TeamComms.Client;

namespace TeamComms.Cli;

/// <summary><c>teamcomms alerts …</c>: urgent messages and broadcasts, and the live acknowledgement view with CSV export.</summary>
internal static class AlertCommands
{
    public static Command Build(Option<string> configOption, Option<bool> jsonOption)
    {
        var alerts = new Command("alerts", "Urgent messages, emergency broadcasts and acknowledgements");
        var alertArg = new Argument<string>("alert") { Description = "The alert id (a…), as printed by 'alerts send' or 'alerts list'" };

        var room = new Option<string?>("--room") { Description = "Send to a room" };
        var user = new Option<string?>("--user") { Description = "Send to one person (your direct room with them)" };
        var rule = new Option<string?>("--rule") { Description = "Emergency broadcast to a directory rule's members" };
        var group = new Option<string?>("--group") { Description = "Emergency broadcast to a directory group" };
        var company = new Option<bool>("--company") { Description = "Emergency broadcast to the whole company" };
        var body = new Option<string>("--body") { Description = "The message", Required = true };
        var notUrgent = new Option<bool>("--not-urgent") { Description = "Require acknowledgement without urgency (quiet hours apply)" };
        var send = new Command("send", "Send a message that requires acknowledgement; prints the alert id");
        foreach (var o in new Option[] { room, user, rule, group, company, body, notUrgent })
        {
            send.Options.Add(o);
        }
        send.SetAction((pr, ct) => Cli.Run(async () =>
        {
            var targets = new (string Name, string? Value)[]
            {
                ("room", pr.GetValue(room)), ("user", pr.GetValue(user)), ("rule", pr.GetValue(rule)), ("group", pr.GetValue(group)),
                ("company", pr.GetValue(company) ? "" : null),
            }.Where(t => t.Value is not null).ToList();
            if (targets.Count != 1)
            {
                throw new ArgumentException("give exactly one of --room, --user, --rule, --group or --company");
            }
            using var http = Cli.Http(pr.GetValue(configOption)!);
            var sent = (await http.SendAlertAsync(targets[0].Name, targets[0].Value, pr.GetValue(body)!, !pr.GetValue(notUrgent), ct: ct))!;
            Console.WriteLine(pr.GetValue(jsonOption) ? sent.ToJsonString() : $"{sent["alert_id"]}\t{sent["room_id"]}\t{sent["recipients"]} recipients");
        }));
        alerts.Subcommands.Add(send);

        var csv = new Option<bool>("--csv") { Description = "Print the view as CSV (the server's export)" };
        var output = new Option<string?>("--output", "-o") { Description = "Write the view to this file instead of standard output" };
        var watch = new Option<int?>("--watch") { Description = "Print the view again every N seconds until everyone acknowledged or the alert closed" };
        var status = new Command("status", "The acknowledgement view: each recipient as acknowledged, read, delivered or not delivered, with times");
        status.Arguments.Add(alertArg);
        status.Options.Add(csv);
        status.Options.Add(output);
        status.Options.Add(watch);
        status.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            var id = pr.GetValue(alertArg)!;
            var every = pr.GetValue(watch);
            if (every is < 1)
            {
                throw new ArgumentException("--watch takes a number of seconds, at least 1");
            }
            while (true)
            {
                var view = (await http.AlertStatusAsync(id, ct))!;
                var text = pr.GetValue(csv) ? await http.AlertStatusCsvAsync(id, ct)
                    : pr.GetValue(jsonOption) ? view.ToJsonString() + Environment.NewLine
                    : Render(view);
                if (pr.GetValue(output) is { } path)
                {
                    await File.WriteAllTextAsync(path, text, ct);
                }
                else
                {
                    Console.Write(text);
                }
                var counts = view["counts"]!;
                var done = view["state"]!.GetValue<string>() != "active"
                    || counts["acknowledged"]!.GetValue<long>() == counts["recipients"]!.GetValue<long>();
                if (every is null || done)
                {
                    return;
                }
                await Task.Delay(TimeSpan.FromSeconds(every.Value), ct);
            }
        }));
        alerts.Subcommands.Add(status);

        var list = new Command("list", "Alerts you sent and alerts waiting for your acknowledgement");
        list.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            var l = (await http.ListAlertsAsync(ct))!;
            if (pr.GetValue(jsonOption))
            {
                Console.WriteLine(l.ToJsonString());
                return;
            }
            foreach (var (label, key) in new[] { ("sent", "sent"), ("waiting for you", "pending") })
            {
                foreach (var a in l[key]!.AsArray())
                {
                    Console.WriteLine($"{label}\t{a!["alert_id"]}\t{a["state"]}\t{a["room_id"]}\t{a["recipients"]} recipients");
                }
            }
        }));
        alerts.Subcommands.Add(list);

        var ack = new Command("ack", "Acknowledge an alert");
        ack.Arguments.Add(alertArg);
        ack.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            var r = (await http.AcknowledgeAlertAsync(pr.GetValue(alertArg)!, ct))!;
            Console.WriteLine($"acknowledged {r["alert_id"]} at {Time(r["acknowledged_at"])}");
        }));
        alerts.Subcommands.Add(ack);

        var reason = new Option<string?>("--reason") { Description = "Why (shown in the thread)" };
        var cancel = new Command("cancel", "Cancel an alert: reminders stop; what was delivered stays");
        cancel.Arguments.Add(alertArg);
        cancel.Options.Add(reason);
        cancel.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            var r = (await http.CancelAlertAsync(pr.GetValue(alertArg)!, pr.GetValue(reason), ct))!;
            Console.WriteLine($"{r["alert_id"]} {r["state"]}");
        }));
        alerts.Subcommands.Add(cancel);

        var allClear = new Command("all-clear", "Give the all-clear, in the alert's thread");
        allClear.Arguments.Add(alertArg);
        allClear.Options.Add(body);
        allClear.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            var r = (await http.AllClearAsync(pr.GetValue(alertArg)!, pr.GetValue(body)!, ct))!;
            Console.WriteLine($"{r["alert_id"]} {r["state"]}");
        }));
        alerts.Subcommands.Add(allClear);
        return alerts;
    }

    private static string Render(JsonObject view)
    {
        var c = view["counts"]!;
        var lines = new List<string>
        {
            $"{view["alert_id"]}  {view["state"]}  {(view["urgent"]!.GetValue<bool>() ? "urgent" : "not urgent")}  " +
            $"acknowledged {c["acknowledged"]}/{c["recipients"]}  read {c["read"]}  delivered {c["delivered"]}  not delivered {c["not_delivered"]}",
        };
        foreach (var r in view["recipients"]!.AsArray())
        {
            var escalated = r!["escalated_to"] is JsonArray to && to.Count > 0 ? "  escalated to " + string.Join(",", to.Select(x => x!.GetValue<string>())) : "";
            lines.Add($"{r["user"]}\t{r["status"]}\tack {Time(r["acknowledged_at"])}\tread {Time(r["read_at"])}\tdelivered {Time(r["delivered_at"])}\treminders {r["reminders"]}{escalated}");
        }
        return string.Join(Environment.NewLine, lines) + Environment.NewLine;
    }

    private static string Time(JsonNode? ms) =>
        ms is null ? "-" : DateTimeOffset.FromUnixTimeMilliseconds(ms.GetValue<long>()).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
}
