using System.CommandLine;
using System.Text.Json.Nodes;
using TeamComms.Client;

namespace TeamComms.Cli;

/// <summary>
/// <c>teamcomms admin moderation …</c> (the moderation queue), <c>teamcomms admin legal-hold …</c> and
/// <c>teamcomms admin retention …</c>: the admin side of docs/operations.md, "Workplace content".
/// </summary>
internal static class ModerationCommands
{
    public static void Add(Command admin, Option<string> configOption, Option<bool> jsonOption)
    {
        admin.Subcommands.Add(Moderation(configOption, jsonOption));
        admin.Subcommands.Add(LegalHolds(configOption, jsonOption));
        admin.Subcommands.Add(Retention(configOption));
    }

    private static Command Moderation(Option<string> configOption, Option<bool> jsonOption)
    {
        var moderation = new Command("moderation", "The moderation queue: reported messages (admin or moderator role)");
        var statusOption = new Option<string>("--status") { Description = "open or resolved", DefaultValueFactory = _ => "open" };
        var reports = new Command("reports", "List reports, newest first");
        reports.Options.Add(statusOption);
        reports.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            var page = (await http.ListReportsAsync(pr.GetValue(statusOption)!, ct))!;
            foreach (var r in page["reports"]!.AsArray())
            {
                Console.WriteLine(pr.GetValue(jsonOption) ? r!.ToJsonString() : ReportLine(r!.AsObject()));
            }
        }));
        var idArg = new Argument<long>("id") { Description = "The report id" };
        var actionOption = new Option<string>("--action") { Description = "dismiss, or redact the reported message", Required = true };
        var noteOption = new Option<string?>("--note") { Description = "A note kept with the resolution" };
        var resolve = new Command("resolve", "Resolve a report: dismiss it, or redact the message (audited)");
        resolve.Arguments.Add(idArg);
        resolve.Options.Add(actionOption);
        resolve.Options.Add(noteOption);
        resolve.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            var r = (await http.ResolveReportAsync(pr.GetValue(idArg), pr.GetValue(actionOption)!, pr.GetValue(noteOption), ct))!;
            Console.WriteLine($"report {r["report_id"]} {r["status"]}: {r["resolution"]}");
        }));
        moderation.Subcommands.Add(reports);
        moderation.Subcommands.Add(resolve);
        return moderation;
    }

    private static string ReportLine(JsonObject r)
    {
        var content = r["event"]?["content"];
        var text = content is JsonObject c && c["body"] is { } body ? body.ToString() : content is null ? "(removed)" : content.ToJsonString();
        return $"{r["report_id"]}\t{r["status"]}\t{r["room_id"]}\tsender={r["sender"]}\treporter={r["reporter"]}\treason={r["reason"]}\t{text}";
    }

    private static Command LegalHolds(Option<string> configOption, Option<bool> jsonOption)
    {
        var holds = new Command("legal-hold", "Legal holds on users or rooms: retention and redaction keep their content (admin or compliance officer)");
        var list = new Command("list", "List legal holds, active and released");
        list.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            foreach (var h in (await http.ListLegalHoldsAsync(ct))!["holds"]!.AsArray())
            {
                Console.WriteLine(pr.GetValue(jsonOption) ? h!.ToJsonString()
                    : $"{h!["id"]}\t{h["kind"]}\t{h["target"]}\t{((bool)h["released"]! ? "released" : "active")}\t{h["reason"]}");
            }
        }));
        var kindOption = new Option<string>("--kind") { Description = "user or room", Required = true };
        var targetOption = new Option<string>("--target") { Description = "The user id (name@server) or room id", Required = true };
        var reasonOption = new Option<string>("--reason") { Description = "The matter the hold is for", Required = true };
        var create = new Command("create", "Place a legal hold (audited)");
        create.Options.Add(kindOption);
        create.Options.Add(targetOption);
        create.Options.Add(reasonOption);
        create.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            var h = (await http.CreateLegalHoldAsync(pr.GetValue(kindOption)!, pr.GetValue(targetOption)!, pr.GetValue(reasonOption)!, ct))!;
            Console.WriteLine($"legal hold {h["id"]} on {h["kind"]} {h["target"]}");
        }));
        var idArg = new Argument<long>("id") { Description = "The hold id" };
        var release = new Command("release", "Release a legal hold (audited); the next retention run catches up");
        release.Arguments.Add(idArg);
        release.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            var h = (await http.ReleaseLegalHoldAsync(pr.GetValue(idArg), ct))!;
            Console.WriteLine($"legal hold {h["id"]} released");
        }));
        holds.Subcommands.Add(list);
        holds.Subcommands.Add(create);
        holds.Subcommands.Add(release);
        return holds;
    }

    private static Command Retention(Option<string> configOption)
    {
        var retention = new Command("retention", "Retention of message content (admin or compliance officer)");
        var roomArg = new Argument<string>("room") { Description = "The room id" };
        var daysArg = new Argument<int>("days") { Description = "Days to keep content; 0: the company default" };
        var set = new Command("set", "Set a room's own retention (audited)");
        set.Arguments.Add(roomArg);
        set.Arguments.Add(daysArg);
        set.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            await http.SetRoomRetentionAsync(pr.GetValue(roomArg)!, pr.GetValue(daysArg), ct);
            Console.WriteLine($"retention of {pr.GetValue(roomArg)}: {pr.GetValue(daysArg)} days");
        }));
        var run = new Command("run", "Run the retention job now and wait for it");
        run.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            var r = (await http.SendAsync(HttpMethod.Post, "/v1/admin/retention/run", new JsonObject(), ct))!;
            Console.WriteLine($"retention run done ({r["runs"]} runs since start)");
        }));
        retention.Subcommands.Add(set);
        retention.Subcommands.Add(run);
        return retention;
    }
}
