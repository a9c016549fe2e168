using System.CommandLine;

namespace TeamComms.Cli;

/// <summary><c>teamcomms admin federation …</c>: the partner allowlist, the server's signing key, outbox status and the audit of refusals.</summary>
internal static class FederationCommands
{
    public static Command Build(Option<string> configOption, Option<bool> jsonOption)
    {
        var federation = new Command("federation", "Federation with partner servers (admin role)");

        var status = new Command("status", "Keys, partners and per-destination outboxes");
        status.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            var s = (await http.FederationStatusAsync(ct))!;
            if (pr.GetValue(jsonOption))
            {
                Console.WriteLine(s.ToJsonString());
                return;
            }
            Console.WriteLine($"server {s["server_name"]}  federation {((bool)s["enabled"]! ? "on" : "off")}  key {s["key_id"]}  pending sends {s["pending_sends"]}");
            foreach (var d in s["destinations"]!.AsArray())
            {
                Console.WriteLine($"{d!["server"]}\toutbox={d["outbox"]}\trooms_behind={d["rooms_behind"]}\tfailures={d["failures"]}\t{d["last_error"]}");
            }
        }));
        federation.Subcommands.Add(status);

        var partners = new Command("partners", "The partner allowlist: only these servers may federate with this one");
        var list = new Command("list", "List partners");
        list.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            foreach (var p in await http.ListPartnersAsync(ct))
            {
                Console.WriteLine(pr.GetValue(jsonOption) ? p.ToJsonString() : $"{p["server"]}\t{p["base_url"]?.GetValue<string>() ?? "(well-known)"}\t{p["note"]}");
            }
        }));
        var serverArg = new Argument<string>("server") { Description = "Server name, for example partner.example" };
        var baseUrlOption = new Option<string?>("--base-url") { Description = "https://host[:port]; overrides /.well-known/teamcomms/server discovery" };
        var noteOption = new Option<string?>("--note") { Description = "Why this partner is listed" };
        var add = new Command("add", "Add or update a partner");
        add.Arguments.Add(serverArg);
        add.Options.Add(baseUrlOption);
        add.Options.Add(noteOption);
        add.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            var p = (await http.AddPartnerAsync(pr.GetValue(serverArg)!, pr.GetValue(baseUrlOption), pr.GetValue(noteOption), ct))!;
            Console.WriteLine($"partner {p["server"]} added");
        }));
        var remove = new Command("remove", "Remove a partner: requests from and to it are refused from now on");
        remove.Arguments.Add(serverArg);
        remove.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            await http.RemovePartnerAsync(pr.GetValue(serverArg)!, ct);
            Console.WriteLine($"partner {pr.GetValue(serverArg)} removed");
        }));
        partners.Subcommands.Add(list);
        partners.Subcommands.Add(add);
        partners.Subcommands.Add(remove);
        federation.Subcommands.Add(partners);

        var keys = new Command("keys", "The server's federation signing key");
        var rotate = new Command("rotate", "Start a new signing key; the old one stays published so what it signed still verifies");
        rotate.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            Console.WriteLine(await http.RotateFederationKeyAsync(ct));
        }));
        keys.Subcommands.Add(rotate);
        federation.Subcommands.Add(keys);

        var limitOption = new Option<int>("--limit") { Description = "Entries to show", DefaultValueFactory = _ => 50 };
        var audit = new Command("audit", "Recent federation refusals and changes");
        audit.Options.Add(limitOption);
        audit.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(configOption)!);
            foreach (var e in await http.FederationAuditAsync(pr.GetValue(limitOption), ct))
            {
                Console.WriteLine(pr.GetValue(jsonOption) ? e.ToJsonString()
                    : $"{DateTimeOffset.FromUnixTimeMilliseconds(e["ts"]!.GetValue<long>()):u}\t{e["kind"]}\t{e["server"]}\t{e["detail"]}");
            }
        }));
        federation.Subcommands.Add(audit);
        return federation;
    }
}
