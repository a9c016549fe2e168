using TeamComms.Server.Connections;

namespace TeamComms.Server.FanOut;

/// <summary>An unordered array-backed set of connections; iteration is a plain array walk. Fan-out thread only.</summary>
internal sealed class ConnectionSet
{
    private ClientConnection[] _items = new ClientConnection[4];

    public int Count { get; private set; }

    public ReadOnlySpan<ClientConnection> Items => _items.AsSpan(0, Count);

    public bool Add(ClientConnection connection)
    {
        if (IndexOf(connection) >= 0)
        {
            return false;
        }
        if (Count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }
        _items[Count++] = connection;
        return true;
    }

    public bool Remove(ClientConnection connection)
    {
        var i = IndexOf(connection);
        if (i < 0)
        {
            return false;
        }
        _items[i] = _items[--Count];
        _items[Count] = null!;
        return true;
    }

    private int IndexOf(ClientConnection connection) => Array.IndexOf(_items, connection, 0, Count);
}
