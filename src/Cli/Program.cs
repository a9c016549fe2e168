using System.CommandLine;
using System.Text.Json;
using TeamComms.Cli;
using TeamComms.Client;

var configOption = new Option<string>("--config")
{
    Description = "Credentials file (default ~/.config/teamcomms/credentials.json or $TEAMCOMMS_CONFIG)",
    Recursive = true,
    DefaultValueFactory = _ => Credentials.DefaultPath,
};
var jsonOption = new Option<bool>("--json") { Description = "Print JSON instead of text", Recursive = true };
var root = new RootCommand("teamcomms: the TeamComms command-line client");
root.Options.Add(configOption);
root.Options.Add(jsonOption);

// login / logout / whoami / setup
var serverOption = new Option<string>("--server") { Description = "Server base URL", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
var userOption = new Option<string>("--user", "-u") { Description = "Username", Required = true };
var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from standard input" };
var deviceOption = new Option<string>("--device") { Description = "Device name for this session", DefaultValueFactory = _ => "teamcomms-cli" };
var login = new Command("login", "Log in and save the session token");
login.Options.Add(serverOption);
login.Options.Add(userOption);
login.Options.Add(passwordStdin);
login.Options.Add(deviceOption);
login.SetAction((pr, ct) => Cli.Run(async () =>
{
    var password = Cli.ReadPassword(pr.GetValue(passwordStdin));
    using var http = new TeamCommsHttpClient(new Uri(pr.GetValue(serverOption)!));
    var result = await http.LoginAsync(pr.GetValue(userOption)!, password, pr.GetValue(deviceOption), ct);
    new Credentials(http.BaseUrl.ToString(), result.UserId, result.AccessToken, result.SessionId).Save(pr.GetValue(configOption)!);
    Console.WriteLine($"logged in as {result.UserId} (session {result.SessionId})");
}));
root.Subcommands.Add(login);

var logout = new Command("logout", "Revoke the saved session and forget it");
logout.SetAction((pr, ct) => Cli.Run(async () =>
{
    var path = pr.GetValue(configOption)!;
    using var http = Cli.Http(pr.GetValue(configOption)!);
    await http.LogoutAsync(ct);
    File.Delete(path);
    Console.WriteLine("logged out");
}));
root.Subcommands.Add(logout);

var whoami = new Command("whoami", "Show the logged-in user");
whoami.SetAction((pr, ct) => Cli.Run(async () =>
{
    using var http = Cli.Http(pr.GetValue(configOption)!);
    Console.WriteLine((await http.MeAsync(ct))!.ToJsonString());
}));
root.Subcommands.Add(whoami);

var tokenOption = new Option<string>("--token") { Description = "The token from the setup link", Required = true };
var setup = new Command("setup", "Set your first password with a setup-link token (password on stdin)");
setup.Options.Add(serverOption);
setup.Options.Add(tokenOption);
setup.SetAction((pr, ct) => Cli.Run(async () =>
{
    var password = Cli.ReadPassword(true);
    using var http = new TeamCommsHttpClient(new Uri(pr.GetValue(serverOption)!));
    var result = await http.CompleteSetupAsync(pr.GetValue(tokenOption)!, password, ct);
    Console.WriteLine($"password set for {result!["user_id"]}");
}));
root.Subcommands.Add(setup);

// rooms
var rooms = new Command("rooms", "List, create and manage rooms");
var roomsList = new Command("list", "Your rooms with unread counts");
roomsList.SetAction((pr, ct) => Cli.Run(async () =>
{
    await using var conn = await Cli.ConnectAsync(pr.GetValue(configOption)!, ct);
    var list = await conn.ListRoomsAsync(ct);
    if (pr.GetValue(jsonOption))
    {
        Console.WriteLine(JsonSerializer.Serialize(list));
        return;
    }
    foreach (var r in list)
    {
        Console.WriteLine($"{r.RoomId}\t{r.Name}\t{r.Membership}\tunread={r.Unread}\tmembers={r.JoinedCount}");
    }
}));
rooms.Subcommands.Add(roomsList);

var nameArg = new Argument<string>("name") { Description = "Room name" };
var topicOption = new Option<string>("--topic") { Description = "Room topic", DefaultValueFactory = _ => "" };
var inviteOption = new Option<string[]>("--invite") { Description = "Users to invite", AllowMultipleArgumentsPerToken = true };
var kindOption = new Option<string?>("--kind") { Description = "group, direct or announcement" };
var historyOption = new Option<string?>("--history") { Description = "full or joined" };
var roomsCreate = new Command("create", "Create a room (private, invite-only)");
roomsCreate.Arguments.Add(nameArg);
roomsCreate.Options.Add(topicOption);
roomsCreate.Options.Add(inviteOption);
roomsCreate.Options.Add(kindOption);
roomsCreate.Options.Add(historyOption);
roomsCreate.SetAction((pr, ct) => Cli.Run(async () =>
{
    await using var conn = await Cli.ConnectAsync(pr.GetValue(configOption)!, ct);
    var id = await conn.CreateRoomAsync(pr.GetValue(nameArg)!, pr.GetValue(topicOption)!, pr.GetValue(inviteOption), pr.GetValue(kindOption), pr.GetValue(historyOption), ct);
    Console.WriteLine(id);
}));
rooms.Subcommands.Add(roomsCreate);

var roomArg = new Argument<string>("room") { Description = "Room id (!…@server)" };
var userArg = new Argument<string>("user") { Description = "User id (name@server)" };
var reasonOption = new Option<string?>("--reason") { Description = "Reason shown to the room" };
rooms.Subcommands.Add(Cli.RoomCommand("invite", "Invite a user", roomArg, userArg, configOption, (c, r, u, ct) => c.InviteAsync(r, u!, ct)));
rooms.Subcommands.Add(Cli.RoomCommand("join", "Accept an invitation", roomArg, null, configOption, (c, r, _, ct) => c.JoinAsync(r, ct)));
rooms.Subcommands.Add(Cli.RoomCommand("leave", "Leave a room", roomArg, null, configOption, (c, r, _, ct) => c.LeaveAsync(r, ct)));
var kick = Cli.RoomCommand("kick", "Remove a member", roomArg, userArg, configOption, null);
kick.Options.Add(reasonOption);
kick.SetAction((pr, ct) => Cli.Run(async () =>
{
    await using var conn = await Cli.ConnectAsync(pr.GetValue(configOption)!, ct);
    await conn.KickAsync(pr.GetValue(roomArg)!, pr.GetValue(userArg)!, pr.GetValue(reasonOption), ct);
    Console.WriteLine("ok");
}));
rooms.Subcommands.Add(kick);
root.Subcommands.Add(rooms);

// send / history / tail
var textArg = new Argument<string>("text") { Description = "Message text" };
var txnOption = new Option<string?>("--txn") { Description = "Transaction id (a retry with the same id is not duplicated)" };
var send = new Command("send", "Send a message");
send.Arguments.Add(roomArg);
send.Arguments.Add(textArg);
send.Options.Add(txnOption);
send.SetAction((pr, ct) => Cli.Run(async () =>
{
    await using var conn = await Cli.ConnectAsync(pr.GetValue(configOption)!, ct);
    // A room hosted on another server: say so while its hub has not ordered the message yet.
    _ = Task.Run(async () =>
    {
        await foreach (var pending in conn.PendingSends.ReadAllAsync(ct))
        {
            Console.Error.WriteLine($"pending: the room's hub {pending.RoomId[(pending.RoomId.IndexOf('@') + 1)..]} has not ordered it yet; waiting (the message is queued)");
        }
    }, ct);
    var ack = await conn.SendTextAsync(pr.GetValue(roomArg)!, pr.GetValue(textArg)!, pr.GetValue(txnOption), ct);
    Console.WriteLine(pr.GetValue(jsonOption)
        ? JsonSerializer.Serialize(new { room_id = ack.RoomId, seq = ack.Seq, event_id = ack.EventId.ToString() })
        : $"sent {ack.RoomId} #{ack.Seq} {ack.EventId}");
}));
root.Subcommands.Add(send);

var limitOption = new Option<int>("--limit") { Description = "Events to show", DefaultValueFactory = _ => 20 };
var history = new Command("history", "Show the latest messages of a room");
history.Arguments.Add(roomArg);
history.Options.Add(limitOption);
history.SetAction((pr, ct) => Cli.Run(async () =>
{
    await using var conn = await Cli.ConnectAsync(pr.GetValue(configOption)!, ct);
    var page = await conn.HistoryAsync(pr.GetValue(roomArg)!, null, false, pr.GetValue(limitOption), ct);
    foreach (var e in page.Events.Reverse())
    {
        Console.WriteLine(Cli.Format(e, pr.GetValue(jsonOption)));
    }
}));
root.Subcommands.Add(history);

var countOption = new Option<int?>("--count") { Description = "Exit after this many events" };
var tail = new Command("tail", "Print a room's events live, like `nats sub` (Ctrl+C to stop)");
tail.Arguments.Add(roomArg);
tail.Options.Add(countOption);
tail.SetAction((pr, ct) => Cli.Run(async () =>
{
    var room = pr.GetValue(roomArg)!;
    await using var conn = await Cli.ConnectAsync(pr.GetValue(configOption)!, ct, [room]);
    Console.Error.WriteLine($"tailing {room}");
    var remaining = pr.GetValue(countOption) ?? int.MaxValue;
    await foreach (var e in conn.Events.ReadAllAsync(ct))
    {
        Console.WriteLine(Cli.Format(e, pr.GetValue(jsonOption)));
        if (--remaining <= 0)
        {
            break;
        }
    }
}));
root.Subcommands.Add(tail);

// sessions
var sessions = new Command("sessions", "Your device sessions");
var sessionsList = new Command("list", "List your sessions");
sessionsList.SetAction((pr, ct) => Cli.Run(async () =>
{
    using var http = Cli.Http(pr.GetValue(configOption)!);
    foreach (var s in await http.ListSessionsAsync(ct))
    {
        Console.WriteLine($"{s.SessionId}\t{s.DeviceName}\t{DateTimeOffset.FromUnixTimeMilliseconds(s.CreatedAt):u}{(s.Current ? "\t(this one)" : "")}");
    }
}));
var sessionArg = new Argument<string>("session") { Description = "Session id (s…)" };
var sessionsRevoke = new Command("revoke", "Revoke a session; its connections close at once");
sessionsRevoke.Arguments.Add(sessionArg);
sessionsRevoke.SetAction((pr, ct) => Cli.Run(async () =>
{
    using var http = Cli.Http(pr.GetValue(configOption)!);
    await http.RevokeSessionAsync(pr.GetValue(sessionArg)!, ct);
    Console.WriteLine("revoked");
}));
sessions.Subcommands.Add(sessionsList);
sessions.Subcommands.Add(sessionsRevoke);
root.Subcommands.Add(sessions);

// admin
var admin = new Command("admin", "Administration (admin role)");
var users = new Command("users", "Manage users");
var usernameArg = new Argument<string>("username") { Description = "Username (the part before @)" };
var displayNameOption = new Option<string>("--display-name") { Description = "Display name", Required = true };
var emailOption = new Option<string?>("--email") { Description = "Email" };
var setupLinkOption = new Option<bool>("--setup-link") { Description = "No password: print a one-time setup link instead" };
var roleOption = new Option<string[]>("--role") { Description = "Company roles", AllowMultipleArgumentsPerToken = true };
var usersCreate = new Command("create", "Create a user (password on stdin with --password-stdin, or --setup-link)");
usersCreate.Arguments.Add(usernameArg);
usersCreate.Options.Add(displayNameOption);
usersCreate.Options.Add(emailOption);
usersCreate.Options.Add(passwordStdin);
usersCreate.Options.Add(setupLinkOption);
usersCreate.Options.Add(roleOption);
usersCreate.SetAction((pr, ct) => Cli.Run(async () =>
{
    if (pr.GetValue(passwordStdin) == pr.GetValue(setupLinkOption))
    {
        throw new ArgumentException("use exactly one of --password-stdin and --setup-link");
    }
    var password = pr.GetValue(passwordStdin) ? Cli.ReadPassword(true) : null;
    using var http = Cli.Http(pr.GetValue(configOption)!);
    var created = await http.CreateUserAsync(pr.GetValue(usernameArg)!, pr.GetValue(displayNameOption)!, pr.GetValue(emailOption), password, pr.GetValue(roleOption), ct);
    Console.WriteLine(created.UserId);
    if (created.SetupLink is not null)
    {
        Console.WriteLine($"setup link (one-time): {created.SetupLink}");
    }
}));
var usersList = new Command("list", "List users");
usersList.SetAction((pr, ct) => Cli.Run(async () =>
{
    using var http = Cli.Http(pr.GetValue(configOption)!);
    foreach (var u in await http.ListUsersAsync(1000, ct))
    {
        Console.WriteLine(pr.GetValue(jsonOption) ? u.ToJsonString() : $"{u["user_id"]}\t{u["display_name"]}\t{(u["active"]!.GetValue<bool>() ? "active" : "deactivated")}");
    }
}));
var usersSetupLink = new Command("setup-link", "Issue a new one-time setup link");
usersSetupLink.Arguments.Add(userArg);
usersSetupLink.SetAction((pr, ct) => Cli.Run(async () =>
{
    using var http = Cli.Http(pr.GetValue(configOption)!);
    Console.WriteLine(await http.CreateSetupLinkAsync(pr.GetValue(userArg)!, ct));
}));
users.Subcommands.Add(usersCreate);
users.Subcommands.Add(usersList);
users.Subcommands.Add(usersSetupLink);
admin.Subcommands.Add(users);
admin.Subcommands.Add(FederationCommands.Build(configOption, jsonOption));
ModerationCommands.Add(admin, configOption, jsonOption);
admin.Subcommands.Add(BackupCommands.Backup(configOption));
admin.Subcommands.Add(BackupCommands.Keys(configOption));
root.Subcommands.Add(admin);
root.Subcommands.Add(EscrowCommands.Escrow());
root.Subcommands.Add(EscrowCommands.Keys());
DirectoryCommands.Add(root, admin, users, rooms, configOption, jsonOption);
root.Subcommands.Add(ComplianceCommands.Approvals(configOption, jsonOption));
root.Subcommands.Add(AlertCommands.Build(configOption, jsonOption));

return await root.Parse(args).InvokeAsync();
