namespace TeamComms.Protocol.Frames;

/// <summary>
/// Frame type codes: the first element of every frame array. 1–63 travel from client to server, 64–127 from
/// server to client.
/// </summary>
public static class FrameType
{
    /// <summary>Client: <c>[1, versions:[uint], token:str, resume:bin|nil, rooms:[str]|nil, client:str|nil]</c>. Must be first.</summary>
    public const int Hello = 1;
    /// <summary>Client: <c>[2, req:uint]</c>; answered by Pong.</summary>
    public const int Ping = 2;
    /// <summary>Client: <c>[3, req:uint, room:str, txn:str, type:str, content:map]</c>; answered by Ack or Error.</summary>
    public const int Send = 3;
    /// <summary>Client: <c>[4, resume:bin]</c>, "I have received everything up to this token". No answer.</summary>
    public const int Received = 4;
    /// <summary>Client: <c>[5, req:uint, method:str, params:map]</c>; answered by Result or Error.</summary>
    public const int Call = 5;

    /// <summary>Server: <c>[64, version:uint, user:str, session:str, resume:bin, server_time:int, limits:map]</c>.</summary>
    public const int Welcome = 64;
    /// <summary>Server: <c>[65, req:uint, code:uint, name:str, message:str]</c>; req is 0 when not tied to a request.</summary>
    public const int Error = 65;
    /// <summary>Server: <c>[66, req:uint, server_time:int]</c>.</summary>
    public const int Pong = 66;
    /// <summary>Server: <c>[67, req:uint, room:str, seq:uint, id:bin32, ts:int]</c>; the send is durable.</summary>
    public const int Ack = 67;
    /// <summary>Server: <c>[68, pos:uint, event:array]</c>; a live or replayed event.</summary>
    public const int Event = 68;
    /// <summary>Server: <c>[69, resume:bin]</c>; the resume token covering everything sent so far.</summary>
    public const int Position = 69;
    /// <summary>Server: <c>[70, req:uint, result:any]</c>; the answer to a Call.</summary>
    public const int Result = 70;
    /// <summary>Server: <c>[71, reason:str]</c>; erase local company data and sign out.</summary>
    public const int Wipe = 71;
    /// <summary>Server: <c>[72, room:str, seq:uint, notify:bool, reason:str]</c>; per-device notification decision.</summary>
    public const int Notify = 72;
    /// <summary>
    /// Server: <c>[73, req:uint, room:str, txn:str]</c>; the Send is queued for the room's hub on another server, which
    /// has not ordered it yet (for example because it cannot be reached). The Ack (or Error) for the same req follows
    /// when the hub has ordered it.
    /// </summary>
    public const int Pending = 73;
}
