using RocksDbSharp;

namespace TeamComms.Server.Storage;

internal sealed partial class RocksStore
{
    /// <summary>Partners, this server's keys, cached remote keys and pending forwarded sends (tagged keys, see <see cref="KeyCodec"/>).</summary>
    public ColumnFamilyHandle Federation => _handles["federation"];

    /// <summary>Durable per-destination outbox of proposals: <c>server ‖ 0 ‖ seq</c>.</summary>
    public ColumnFamilyHandle FedOutbox => _handles["fed_outbox"];

    /// <summary>Per-destination push cursors of hub rooms: <c>server ‖ 0 ‖ roomKey</c> → acknowledged seq.</summary>
    public ColumnFamilyHandle FedCursors => _handles["fed_cursors"];

    /// <summary>Proposal nonces the hub has ordered: <c>origin ‖ 0 ‖ nonce</c> → <c>roomKey ‖ seq</c>.</summary>
    public ColumnFamilyHandle FedNonces => _handles["fed_nonces"];
}
