using System.Buffers;
using System.Net.WebSockets;

namespace TeamComms.Load.Targets;

/// <summary>
/// A connection's outgoing side: callers append bytes without waiting; one send loop at a time swaps the pending
/// buffer out and writes it. With <paramref name="coalesce"/>, everything pending goes out as one WebSocket
/// message (TeamComms accepts several frames per message); without it, each appended chunk is its own message
/// (a ws broadcaster treats a message as one payload).
/// </summary>
internal sealed class WebSocketPump(bool coalesce)
{
    private readonly Lock _lock = new();
    private ArrayBufferWriter<byte> _pending = new(1024);
    private ArrayBufferWriter<byte> _writing = new(1024);
    private readonly List<int> _pendingEnds = [];
    private readonly List<int> _writingEnds = [];
    private bool _active;

    public WebSocket? Socket { get; set; }

    /// <summary>Appends one chunk written by <paramref name="write"/>; starts the send loop if it is idle.</summary>
    public void Append<TState>(TState state, Action<IBufferWriter<byte>, TState> write)
    {
        lock (_lock)
        {
            write(_pending, state);
            _pendingEnds.Add(_pending.WrittenCount);
            if (_active)
            {
                return;
            }
            _active = true;
        }
        _ = SendLoopAsync();
    }

    private async Task SendLoopAsync()
    {
        try
        {
            while (true)
            {
                lock (_lock)
                {
                    if (_pending.WrittenCount == 0 || Socket is not { State: WebSocketState.Open })
                    {
                        _active = false;
                        return;
                    }
                    (_pending, _writing) = (_writing, _pending);
                    _writingEnds.Clear();
                    _writingEnds.AddRange(_pendingEnds);
                    _pendingEnds.Clear();
                }
                var data = _writing.WrittenMemory;
                if (coalesce)
                {
                    await Socket.SendAsync(data, WebSocketMessageType.Binary, true, CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    var start = 0;
                    foreach (var end in _writingEnds)
                    {
                        await Socket.SendAsync(data[start..end], WebSocketMessageType.Binary, true, CancellationToken.None).ConfigureAwait(false);
                        start = end;
                    }
                }
                _writing.ResetWrittenCount();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            lock (_lock)
            {
                _active = false;
                _pending.ResetWrittenCount();
                _pendingEnds.Clear();
            }
        }
    }
}
