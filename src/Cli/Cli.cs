using System.CommandLine;
using System.Text.Json;
using TeamComms.Client;
using TeamComms.Protocol.Events;

namespace TeamComms.Cli;

/// <summary>Helpers shared by the commands: saved credentials, connections, output and error handling.</summary>
internal static class Cli
{
    /// <summary>Runs a command body; server errors print as <c>error: code: message</c> with exit code 1.</summary>
    public static async Task<int> Run(Func<Task> body)
    {
        try
        {
            await body();
            return 0;
        }
        catch (OperationFailedException)
        {
            return 1;
        }
        catch (TeamCommsException ex)
        {
            Console.Error.WriteLine($"error: {ex.CodeName}: {ex.ServerMessage}");
            return 1;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or HttpRequestException
            or System.Net.WebSockets.WebSocketException or ConnectionLostException or UriFormatException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            return 130;
        }
    }

    public static Credentials Load(string path) =>
        Credentials.Load(path) ?? throw new InvalidOperationException("not logged in; run `teamcomms login --server URL --user NAME` first");

    public static TeamCommsHttpClient Http(string configPath)
    {
        var c = Load(configPath);
        return new TeamCommsHttpClient(new Uri(c.Server)) { AccessToken = c.AccessToken };
    }

    public static async Task<TeamCommsConnection> ConnectAsync(string configPath, CancellationToken ct, IReadOnlyList<string>? rooms = null)
    {
        using var http = Http(configPath);
        return await TeamCommsConnection.ConnectAsync(http.WebSocketUrl, http.AccessToken!, new ClientOptions
        {
            ClientName = "teamcomms-cli",
            Rooms = rooms,
        }, ct);
    }

    public static string ReadPassword(bool fromStdin)
    {
        if (fromStdin || Console.IsInputRedirected)
        {
            return Console.In.ReadLine() ?? throw new ArgumentException("no password on standard input");
        }
        if (Environment.GetEnvironmentVariable("TEAMCOMMS_PASSWORD") is { Length: > 0 } env)
        {
            return env;
        }
        Console.Error.Write("password: ");
        var chars = new List<char>();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                Console.Error.WriteLine();
                return new string(chars.ToArray());
            }
            if (key.Key == ConsoleKey.Backspace && chars.Count > 0)
            {
                chars.RemoveAt(chars.Count - 1);
            }
            else if (!char.IsControl(key.KeyChar))
            {
                chars.Add(key.KeyChar);
            }
        }
    }

    public static Command RoomCommand(string name, string description, Argument<string> roomArg, Argument<string>? userArg,
        Option<string> config, Func<TeamCommsConnection, string, string?, CancellationToken, Task>? action)
    {
        var command = new Command(name, description);
        command.Arguments.Add(roomArg);
        if (userArg is not null)
        {
            command.Arguments.Add(userArg);
        }
        if (action is not null)
        {
            command.SetAction((pr, ct) => Run(async () =>
            {
                await using var conn = await ConnectAsync(pr.GetValue(config)!, ct);
                await action(conn, pr.GetValue(roomArg)!, userArg is null ? null : pr.GetValue(userArg), ct);
                Console.WriteLine("ok");
            }));
        }
        return command;
    }

    /// <summary>One event as a line: <c>[seq] sender: body</c>, or a JSON object with <c>--json</c>.</summary>
    public static string Format(RoomEvent e, bool json)
    {
        var content = e.ContentMap;
        if (json)
        {
            return JsonSerializer.Serialize(new
            {
                room_id = e.RoomId,
                seq = e.Seq,
                event_id = e.Id.ToString(),
                sender = e.Sender,
                type = e.Type,
                ts = e.Timestamp,
                content = content.ToDictionary(kv => kv.Key, kv => kv.Value is byte[] b ? Convert.ToBase64String(b) : kv.Value),
            });
        }
        var time = DateTimeOffset.FromUnixTimeMilliseconds(e.Timestamp).ToLocalTime().ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        return e.Type switch
        {
            EventTypes.Message => $"[{e.Seq}] {time} {e.Sender}: {content.GetValueOrDefault("body")}",
            EventTypes.Member => $"[{e.Seq}] {time} * {content.GetValueOrDefault("user")} {content.GetValueOrDefault("membership")} (by {e.Sender})",
            EventTypes.Name => $"[{e.Seq}] {time} * name: {content.GetValueOrDefault("name")}",
            EventTypes.Topic => $"[{e.Seq}] {time} * topic: {content.GetValueOrDefault("topic")}",
            _ => $"[{e.Seq}] {time} {e.Sender} {e.Type}",
        };
    }
}
