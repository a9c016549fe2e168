using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TeamComms.Protocol.Frames;

namespace TeamComms.Load.Targets;

/// <summary>
/// TeamComms: starts TeamComms.Server.dll with a fresh data directory (or uses --url), provisions users with
/// sessions and rooms with their members joined through the bulk admin endpoints, and speaks the WebSocket protocol
/// with a lean decoder: it reads the frame type, the event type and the body, and skips the rest.
/// A member evicted as a slow consumer (close 4003) reconnects with its last resume token and resumes.
/// </summary>
internal sealed partial class TeamCommsTarget(LoadOptions options) : ILoadTarget
{
    private const string Password = "load-password-0123";
    private readonly HttpMessageInvoker _invoker = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(10) });
    private readonly string _runId = Convert.ToHexString(Guid.NewGuid().ToByteArray().AsSpan(0, 3)).ToLowerInvariant();
    private HttpClient _http = null!;
    private Uri _baseUrl = null!;
    private Uri[] _wsUrls = [];
    private int _nextWs;
    private string[] _tokens = [];
    private byte[][] _roomIdBytes = [];
    private int _roomSize;

    public string Name => "teamcomms";
    private int PayloadSize => options.Payload;
    public ServerProcess? Server { get; private set; }

    public async Task StartAsync(CancellationToken ct)
    {
        var adminPassword = Environment.GetEnvironmentVariable("TEAMCOMMS_LOAD_ADMIN_PASSWORD") ?? "load-admin-" + _runId + "-password";
        var urls = options.Url?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        if (urls.Length > 0)
        {
            _baseUrl = new Uri(urls[0]);
        }
        else
        {
            var dll = options.ServerDll ?? Path.Combine(AppContext.BaseDirectory, "TeamComms.Server.dll");
            var data = Path.Combine(Path.GetTempPath(), "tc-load-" + _runId);
            Directory.CreateDirectory(data);
            var env = new Dictionary<string, string>
            {
                ["TEAMCOMMS__SERVERNAME"] = "load.local",
                ["TEAMCOMMS__ACCOUNTS__BOOTSTRAPPASSWORD"] = adminPassword,
                ["TEAMCOMMS__STORAGE__SYNCWRITES"] = options.Sync ? "true" : "false",
                ["Logging__LogLevel__Default"] = "Warning",
                ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
            };
            foreach (var (k, v) in options.ServerSettings)
            {
                env[k.Replace(":", "__", StringComparison.Ordinal)] = v;
            }
            var (process, listening) = await ServerProcess.StartAsync("dotnet", [dll, "--urls", "http://127.0.0.1:0", "--data", data],
                env, ListeningRegex(), options.ServerCpus, data, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            Server = process;
            _baseUrl = new Uri(listening);
        }
        _wsUrls = [.. (urls.Length > 0 ? urls.Select(u => new Uri(u)) : [_baseUrl])
            .Select(u => new UriBuilder(u) { Scheme = u.Scheme == "https" ? "wss" : "ws", Path = "/v1/ws" }.Uri)];
        _http = new HttpClient { BaseAddress = _baseUrl, Timeout = TimeSpan.FromMinutes(5) };
        using var login = await _http.PostAsJsonAsync("/v1/login", new { username = "admin", password = adminPassword, device_name = "load" }, ct).ConfigureAwait(false);
        var body = await ReadJsonAsync(login, ct).ConfigureAwait(false);
        _http.DefaultRequestHeaders.Authorization = new("Bearer", (string)body["access_token"]!);
    }

    public async Task ProvisionAsync(int rooms, int roomSize, CancellationToken ct)
    {
        _roomSize = roomSize;
        var (userIds, tokens) = await CreateUsersAsync(rooms * roomSize, "m", ct).ConfigureAwait(false);
        _tokens = tokens;
        _roomIdBytes = new byte[rooms][];
        var next = 0;
        while (next < rooms)
        {
            var count = Math.Min(Math.Min(10_000, rooms - next), Math.Max(1, 50_000 / roomSize));
            var batch = Enumerable.Range(next, count).Select(r => new
            {
                name = $"load {r}",
                members = userIds.Skip(r * roomSize).Take(roomSize).ToArray(),
            }).ToArray();
            using var response = await _http.PostAsJsonAsync("/v1/admin/rooms/bulk", new { rooms = batch }, ct).ConfigureAwait(false);
            var created = (JsonArray)(await ReadJsonAsync(response, ct).ConfigureAwait(false))["rooms"]!;
            for (var i = 0; i < count; i++)
            {
                var roomId = (string?)created[i]!["room_id"] ?? throw new InvalidOperationException("room provisioning failed: " + created[i]!.ToJsonString());
                _roomIdBytes[next + i] = MsgPackStr(roomId);
            }
            next += count;
        }
        if (_wsUrls.Length > 1)
        {
            // Cluster nodes apply the provisioned users, sessions and rooms from the log; give the others a moment.
            await Task.Delay(TimeSpan.FromSeconds(3), ct).ConfigureAwait(false);
        }
    }

    public async Task ProvisionIdleAsync(int count, CancellationToken ct) =>
        (_, _tokens) = await CreateUsersAsync(count, "i", ct).ConfigureAwait(false);

    private async Task<(string[] UserIds, string[] Tokens)> CreateUsersAsync(int count, string prefix, CancellationToken ct)
    {
        var ids = new List<string>(count);
        var tokens = new List<string>(count);
        for (var start = 0; start < count; start += 5000)
        {
            var n = Math.Min(5000, count - start);
            var users = Enumerable.Range(start, n).Select(i => new { username = $"l{_runId}{prefix}{i}", display_name = $"Load {i}" }).ToArray();
            using var response = await _http.PostAsJsonAsync("/v1/admin/users/bulk",
                new { users, password = Password, sessions = true, device_name = "load" }, ct).ConfigureAwait(false);
            var body = await ReadJsonAsync(response, ct).ConfigureAwait(false);
            ids.AddRange(((JsonArray)body["user_ids"]!).Select(x => (string)x!));
            tokens.AddRange(((JsonArray)body["access_tokens"]!).Select(x => (string)x!));
        }
        if (ids.Count != count)
        {
            throw new InvalidOperationException($"created {ids.Count} of {count} users");
        }
        return ([.. ids], [.. tokens]);
    }

    public async Task<IMemberConnection> ConnectAsync(Member member, CancellationToken ct)
    {
        var connection = new Connection(this, member, _tokens[(member.Room * _roomSize) + member.Index], _roomIdBytes[member.Room]);
        await connection.OpenAsync(null, ct).ConfigureAwait(false);
        return connection;
    }

    public async Task<IAsyncDisposable> ConnectIdleAsync(int n, CancellationToken ct)
    {
        var connection = new Connection(this, null, _tokens[n], []);
        await connection.OpenAsync(null, ct).ConfigureAwait(false);
        return connection;
    }

    private async Task<ClientWebSocket> OpenSocketAsync(string token, byte[]? resume, CancellationToken ct)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        // Cluster nodes: spread connections round-robin (a resumed connection may land on another node; tokens work on every node).
        var wsUrl = _wsUrls[(int)((uint)Interlocked.Increment(ref _nextWs) % (uint)_wsUrls.Length)];
        await socket.ConnectAsync(wsUrl, _invoker, ct).ConfigureAwait(false);
        var hello = new ArrayBufferWriter<byte>(256);
        ClientFrameWriter.WriteHello(hello, [1], token, resume, null, "teamcomms-load");
        await socket.SendAsync(hello.WrittenMemory, WebSocketMessageType.Binary, true, ct).ConfigureAwait(false);
        return socket;
    }

    private static async Task<JsonObject> ReadJsonAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{(int)response.StatusCode} from {response.RequestMessage?.RequestUri}: {text}");
        }
        return (JsonObject)JsonNode.Parse(text)!;
    }

    private static byte[] MsgPackStr(string s)
    {
        var utf8 = Encoding.UTF8.GetBytes(s);
        var buffer = new ArrayBufferWriter<byte>();
        WriteStrHeader(buffer, utf8.Length);
        buffer.Write(utf8);
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteStrHeader<TWriter>(TWriter output, int length) where TWriter : IBufferWriter<byte>
    {
        var span = output.GetSpan(5);
        if (length < 32)
        {
            span[0] = (byte)(0xa0 | length);
            output.Advance(1);
        }
        else if (length < 256)
        {
            span[0] = 0xd9;
            span[1] = (byte)length;
            output.Advance(2);
        }
        else if (length < 65536)
        {
            span[0] = 0xda;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)length);
            output.Advance(3);
        }
        else
        {
            span[0] = 0xdb;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
            output.Advance(5);
        }
    }

    /// <summary>
    /// The server's own view from /metrics (sums and counts of its histograms, and counters), for the report: events
    /// per group commit, commit latency, frames per socket write.
    /// </summary>
    public async Task<Dictionary<string, double>> ServerMetricsAsync(CancellationToken ct)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        try
        {
            var text = await _http.GetStringAsync("/metrics", ct).ConfigureAwait(false);
            foreach (var line in text.Split('\n'))
            {
                if (!line.StartsWith("teamcomms_", StringComparison.Ordinal))
                {
                    continue;
                }
                // name{labels} value [timestamp]: only series whose labels are the scope's own (no le="…").
                var brace = line.IndexOf('{', StringComparison.Ordinal);
                var close = line.IndexOf('}', StringComparison.Ordinal);
                if (brace > 0 && line.AsSpan(brace, close - brace).Contains("le=", StringComparison.Ordinal))
                {
                    continue;
                }
                var name = brace > 0 ? line[..brace] : line[..line.IndexOf(' ', StringComparison.Ordinal)];
                var rest = (close > 0 ? line[(close + 1)..] : line[name.Length..]).Trim().Split(' ');
                if (double.TryParse(rest[0], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v))
                {
                    values[name] = v;
                }
            }
        }
        catch (HttpRequestException)
        {
        }
        return values;
    }

    public async ValueTask DisposeAsync()
    {
        _http?.Dispose();
        _invoker.Dispose();
        if (Server is not null)
        {
            await Server.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>One member's WebSocket: a send pump and a receive loop with the lean decoder.</summary>
    private sealed class Connection(TeamCommsTarget target, Member? member, string token, byte[] roomId, Member[]? roomMembers = null) : IMemberConnection
    {
        /// <summary>Message events received (all rooms).</summary>
        public long Events;
        public long EventsAwaited = long.MaxValue;
        public TaskCompletionSource<long> AllEvents { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public byte[]? ResumeToken => _hasResume ? _resume.ToArray() : null;

        private static ReadOnlySpan<byte> MessageType => "message"u8;
        private static ReadOnlySpan<byte> BodyKey => "body"u8;
        private readonly WebSocketPump _pump = new(coalesce: true);
        private readonly CancellationTokenSource _stop = new();
        private readonly TaskCompletionSource _welcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly byte[] _resume = new byte[17];
        private long _lastPos;

        /// <summary>Events dropped because a resume sent them again (at or below the last position seen).</summary>
        public long ResumeOverlap;
        private bool _hasResume;
        private ClientWebSocket _socket = null!;
        private Task _receive = Task.CompletedTask;

        public async Task OpenAsync(byte[]? resume, CancellationToken ct)
        {
            _socket = await target.OpenSocketAsync(token, resume, ct).ConfigureAwait(false);
            _pump.Socket = _socket;
            _receive = ReceiveLoopAsync(_socket);
            await _welcome.Task.WaitAsync(TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
        }

        public void Send(int index, long intendedTicks) =>
            _pump.Append((this, index, intendedTicks), static (output, s) => s.Item1.WriteSend(output, s.index, s.intendedTicks));

        /// <summary><c>[3, req, room, txn, "message", {"body": payload}]</c>; req = index + 1, so an Error names the message.</summary>
        private void WriteSend(IBufferWriter<byte> output, int index, long intendedTicks)
        {
            var payload = target.PayloadSize;
            var span = output.GetSpan(64 + roomId.Length + payload);
            var p = 0;
            span[p++] = 0x96;
            span[p++] = FrameType.Send;
            span[p++] = 0xce;
            BinaryPrimitives.WriteUInt32BigEndian(span[p..], (uint)index + 1);
            p += 4;
            roomId.CopyTo(span[p..]);
            p += roomId.Length;
            span[p++] = 0xa9; // txn: "t" + 8 hex digits
            span[p++] = (byte)'t';
            Hex8(span.Slice(p, 8), (uint)index);
            p += 8;
            span[p++] = 0xa7;
            MessageType.CopyTo(span[p..]);
            p += 7;
            span[p++] = 0x81;
            span[p++] = 0xa4;
            BodyKey.CopyTo(span[p..]);
            p += 4;
            output.Advance(p);
            WriteStrHeader(output, payload);
            Payload.Write(output.GetSpan(payload)[..payload], member!.Room, index, intendedTicks);
            output.Advance(payload);
        }

        private static void Hex8(Span<byte> d, uint v)
        {
            for (var i = 7; i >= 0; i--)
            {
                var n = (int)(v & 0xF);
                d[i] = (byte)(n < 10 ? '0' + n : 'a' + n - 10);
                v >>= 4;
            }
        }

        private async Task ReceiveLoopAsync(ClientWebSocket socket)
        {
            var buffer = new byte[16 * 1024];
            var filled = 0;
            try
            {
                while (true)
                {
                    if (filled == buffer.Length)
                    {
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }
                    var result = await socket.ReceiveAsync(buffer.AsMemory(filled), _stop.Token).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        await OnClosedAsync((int?)socket.CloseStatus).ConfigureAwait(false);
                        return;
                    }
                    filled += result.Count;
                    var consumed = Decode(buffer.AsSpan(0, filled), Stopwatch.GetTimestamp(), out var events);
                    if (consumed > 0)
                    {
                        buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                        filled -= consumed;
                    }
                    if (member is not null && events > 0)
                    {
                        await member.PaceAsync(events).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException or InvalidDataException)
            {
                if (!_stop.IsCancellationRequested)
                {
                    if (ex is InvalidDataException)
                    {
                        target.NoteError("undecodable frame");
                    }
                    await OnClosedAsync((int?)socket.CloseStatus).ConfigureAwait(false);
                }
            }
        }

        /// <summary>Decodes every complete frame; returns the bytes consumed.</summary>
        private int Decode(ReadOnlySpan<byte> s, long now, out int events)
        {
            events = 0;
            var start = 0;
            while (true)
            {
                var end = start;
                if (!LeanMsgPack.TrySkip(s, ref end))
                {
                    return start;
                }
                var f = s[start..end];
                start = end;
                var p = 0;
                LeanMsgPack.ArrayHeader(f, ref p);
                switch (LeanMsgPack.Integer(f, ref p))
                {
                    case FrameType.Event when member is not null || roomMembers is not null:
                        // Positions only grow on a connection's stream. After a resume the server may send again
                        // what a cut-off write already carried (the token covers only what a Position frame
                        // confirmed): like the reference client, drop what is at or below the last position seen.
                        var pos = LeanMsgPack.Integer(f, ref p);
                        if (pos <= _lastPos)
                        {
                            ResumeOverlap++;
                            break;
                        }
                        _lastPos = pos;
                        LeanMsgPack.ArrayHeader(f, ref p);
                        for (var i = 0; i < 6; i++)
                        {
                            LeanMsgPack.Skip(f, ref p); // v, id, room, seq, prev, sender
                        }
                        if (!LeanMsgPack.Bytes(f, ref p).SequenceEqual(MessageType))
                        {
                            break; // membership and state events
                        }
                        LeanMsgPack.Skip(f, ref p); // ts
                        LeanMsgPack.Skip(f, ref p); // content hash
                        var pairs = LeanMsgPack.MapHeader(f, ref p);
                        for (var i = 0; i < pairs; i++)
                        {
                            if (LeanMsgPack.Bytes(f, ref p).SequenceEqual(BodyKey))
                            {
                                var body = LeanMsgPack.Bytes(f, ref p);
                                var to = member;
                                if (roomMembers is not null && Payload.TryRead(body, out var r, out _, out _) && (uint)r < (uint)roomMembers.Length)
                                {
                                    to = roomMembers[r];
                                }
                                to?.OnPayload(body, now);
                                events++;
                                if (++Events == EventsAwaited)
                                {
                                    AllEvents.TrySetResult(Stopwatch.GetTimestamp());
                                }
                            }
                            else
                            {
                                LeanMsgPack.Skip(f, ref p);
                            }
                        }
                        break;
                    case FrameType.Position:
                        LeanMsgPack.Bytes(f, ref p).CopyTo(_resume);
                        _hasResume = true;
                        break;
                    case FrameType.Welcome:
                        LeanMsgPack.Skip(f, ref p); // version
                        LeanMsgPack.Skip(f, ref p); // user
                        LeanMsgPack.Skip(f, ref p); // session
                        if (!_hasResume)
                        {
                            LeanMsgPack.Bytes(f, ref p).CopyTo(_resume);
                            _hasResume = true;
                        }
                        _welcome.TrySetResult();
                        break;
                    case FrameType.Error:
                        var req = LeanMsgPack.Integer(f, ref p);
                        LeanMsgPack.Integer(f, ref p);
                        var name = Encoding.UTF8.GetString(LeanMsgPack.Bytes(f, ref p));
                        if (req > 0 && member is not null)
                        {
                            target._run?.OnSendFailed(member.Room, (int)(req - 1));
                            target.NoteError(name);
                        }
                        else
                        {
                            target.NoteError(name);
                            _welcome.TrySetException(new InvalidOperationException("refused: " + name));
                        }
                        break;
                }
            }
        }

        private async Task OnClosedAsync(int? status)
        {
            _welcome.TrySetException(new InvalidOperationException($"closed with {status}"));
            if (member is null || _stop.IsCancellationRequested)
            {
                return;
            }
            if (status == 4003)
            {
                Interlocked.Increment(ref member.Evictions);
            }
            target.NoteError($"close {status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)"}");
            // Resume from the last token: everything missed is replayed (late, not lost). Keep trying (bounded): a
            // server under load may refuse or time out a few connection attempts.
            Interlocked.Increment(ref member.Reconnects);
            for (var attempt = 0; attempt < 100 && !_stop.IsCancellationRequested; attempt++)
            {
                try
                {
                    var socket = await target.OpenSocketAsync(token, _hasResume ? _resume.ToArray() : null, _stop.Token).ConfigureAwait(false);
                    _socket = socket;
                    _pump.Socket = socket;
                    _receive = ReceiveLoopAsync(socket);
                    return;
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    target.NoteError("reconnect " + ex.GetType().Name);
                    await Task.Delay(Math.Min(2000, 100 * (attempt + 1))).ConfigureAwait(false);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            try
            {
                _socket.Abort();
            }
            catch (ObjectDisposedException)
            {
            }
            _socket.Dispose();
        }
    }

    /// <summary>
    /// The resume scenario: one client in <paramref name="rooms"/> rooms of 2 (each with its own sender) disconnects;
    /// each sender sends <paramref name="missed"/> messages; the client reconnects with its resume token. Timed from
    /// the reconnect to the arrival of its last missed event.
    /// </summary>
    public async Task<(double Ms, long Events, List<Member> Members, Run Run)> ResumeAsync(LoadOptions o, int rooms, int missed, CancellationToken ct)
    {
        var (ids, tokens) = await CreateUsersAsync(rooms + 1, "r", ct).ConfigureAwait(false);
        _roomIdBytes = new byte[rooms][];
        for (var next = 0; next < rooms; next += 10_000)
        {
            var count = Math.Min(10_000, rooms - next);
            var batch = Enumerable.Range(next, count).Select(r => new { name = $"resume {r}", members = new[] { ids[0], ids[r + 1] } }).ToArray();
            using var response = await _http.PostAsJsonAsync("/v1/admin/rooms/bulk", new { rooms = batch }, ct).ConfigureAwait(false);
            var created = (JsonArray)(await ReadJsonAsync(response, ct).ConfigureAwait(false))["rooms"]!;
            for (var i = 0; i < count; i++)
            {
                _roomIdBytes[next + i] = MsgPackStr((string?)created[i]!["room_id"] ?? throw new InvalidOperationException(created[i]!.ToJsonString()));
            }
        }
        var run = new Run(o, rooms, 2);
        Attach(run);
        var clients = new Member[rooms];
        var members = new List<Member>();
        foreach (var room in run.Rooms)
        {
            var client = new Member(run, room.Index, 0, slow: false);
            var sender = new Member(run, room.Index, 1, slow: false);
            room.Members = [client, sender];
            room.Senders = [sender];
            clients[room.Index] = client;
            members.Add(client);
            members.Add(sender);
        }
        // The client connects once (to hold a token for "now"), then goes away.
        var first = new Connection(this, null, tokens[0], [], clients);
        await first.OpenAsync(null, ct).ConfigureAwait(false);
        var token = first.ResumeToken ?? throw new InvalidOperationException("no resume token in Welcome");
        await first.DisposeAsync().ConfigureAwait(false);
        // Each sender sends its room's messages (within the per-connection burst), and they are durable.
        var senders = new Connection[rooms];
        await Parallel.ForEachAsync(Enumerable.Range(0, rooms), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (r, t) =>
        {
            var c = new Connection(this, run.Rooms[r].Members[1], tokens[r + 1], _roomIdBytes[r]) { EventsAwaited = missed };
            await c.OpenAsync(null, t).ConfigureAwait(false);
            run.Rooms[r].Members[1].Connection = c;
            senders[r] = c;
        }).ConfigureAwait(false);
        run.Begin(Stopwatch.GetTimestamp(), long.MaxValue);
        foreach (var room in run.Rooms)
        {
            for (var i = 0; i < missed; i++)
            {
                var k = room.NextIndex();
                room.SenderOf(k).Connection.Send(k, Stopwatch.GetTimestamp());
            }
        }
        // A sender receives its own messages back after they are durable and dispatched.
        await Task.WhenAll(senders.Select(c => c.AllEvents.Task)).WaitAsync(TimeSpan.FromMinutes(5), ct).ConfigureAwait(false);
        var expected = (long)rooms * missed;
        var again = new Connection(this, null, tokens[0], [], clients) { EventsAwaited = expected };
        var started = Stopwatch.GetTimestamp();
        await again.OpenAsync(token, ct).ConfigureAwait(false);
        var done = await again.AllEvents.Task.WaitAsync(TimeSpan.FromMinutes(2), ct).ConfigureAwait(false);
        var ms = (done - started) * 1000.0 / Stopwatch.Frequency;
        members[0].Connection = again;
        for (var i = 1; i < clients.Length; i++)
        {
            clients[i].Connection = NoConnection.Instance;
        }
        return (ms, again.Events, members, run);
    }

    private sealed class NoConnection : IMemberConnection
    {
        public static readonly NoConnection Instance = new();

        public void Send(int index, long intendedTicks)
        {
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private Run? _run;
    private readonly Dictionary<string, int> _errors = new(StringComparer.Ordinal);

    /// <summary>Connects the target to the run (for send failures reported by the server).</summary>
    public void Attach(Run run) => _run = run;


    private void NoteError(string name)
    {
        lock (_errors)
        {
            _errors[name] = _errors.GetValueOrDefault(name) + 1;
        }
    }

    public IReadOnlyDictionary<string, int> Errors
    {
        get
        {
            lock (_errors)
            {
                return new Dictionary<string, int>(_errors);
            }
        }
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningRegex();
}
