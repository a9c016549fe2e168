using System.Buffers;
using System.Net.WebSockets;
using TeamComms.Protocol;
using TeamComms.Protocol.Frames;

namespace TeamComms.Tests.Infrastructure;

/// <summary>A bare WebSocket speaking raw bytes, for feeding the server bad input.</summary>
public sealed class RawClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();

    public WebSocket Socket => _socket;

    public static async Task<RawClient> ConnectAsync(TestServer server)
    {
        var client = new RawClient();
        await client._socket.ConnectAsync(server.WebSocketUrl, CancellationToken.None);
        return client;
    }

    /// <summary>Connects and completes the handshake; returns the client after Welcome.</summary>
    public static async Task<RawClient> HelloAsync(TestServer server, string token)
    {
        var client = await ConnectAsync(server);
        await client.SendAsync(b => ClientFrameWriter.WriteHello(b, [1], token, default, null, "raw"));
        var frames = await client.ReceiveAsync();
        Assert.IsType<WelcomeFrame>(frames[0]);
        return client;
    }

    public Task SendAsync(Action<IBufferWriter<byte>> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(buffer);
        return SendBytesAsync(buffer.WrittenMemory);
    }

    public Task SendBytesAsync(ReadOnlyMemory<byte> bytes) =>
        _socket.SendAsync(bytes, WebSocketMessageType.Binary, true, CancellationToken.None).AsTask();

    /// <summary>The frames of the next message, or an empty list when the server closed.</summary>
    public async Task<List<ServerFrame>> ReceiveAsync(int timeoutSeconds = 15)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        var buffer = new byte[1 << 20];
        var count = 0;
        while (true)
        {
            var result = await _socket.ReceiveAsync(buffer.AsMemory(count), timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return [];
            }
            count += result.Count;
            if (result.EndOfMessage)
            {
                return ServerFrameReader.ReadAll(buffer.AsMemory(0, count));
            }
        }
    }

    /// <summary>Reads until a frame matching <paramref name="match"/> arrives.</summary>
    public async Task<T> ReceiveUntilAsync<T>(Func<T, bool>? match = null) where T : ServerFrame
    {
        while (true)
        {
            var frames = await ReceiveAsync();
            if (frames.Count == 0)
            {
                throw new InvalidOperationException($"closed ({_socket.CloseStatus}) before a {typeof(T).Name}");
            }
            if (frames.OfType<T>().FirstOrDefault(f => match?.Invoke(f) ?? true) is { } found)
            {
                return found;
            }
        }
    }

    /// <summary>Reads until the server closes; returns the close code.</summary>
    public async Task<int?> ReceiveCloseAsync()
    {
        try
        {
            while ((await ReceiveAsync()).Count > 0)
            {
            }
        }
        catch (WebSocketException)
        {
            return null; // reset without a close frame
        }
        return (int?)_socket.CloseStatus;
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Abort();
        _socket.Dispose();
        await Task.CompletedTask;
    }
}
