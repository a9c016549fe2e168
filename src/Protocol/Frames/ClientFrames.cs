namespace TeamComms.Protocol.Frames;

/// <summary>A frame a client sends.</summary>
public abstract record ClientFrame;

/// <summary>The first frame on every connection: versions offered, access token, optional resume token and room filter.</summary>
public sealed record HelloFrame(IReadOnlyList<int> Versions, string Token, byte[]? Resume, IReadOnlyList<string>? Rooms, string? ClientName) : ClientFrame;

/// <summary>A liveness probe.</summary>
public sealed record PingFrame(ulong RequestId) : ClientFrame;

/// <summary>Propose an event. <see cref="Content"/> is canonical MessagePack (the decoder canonicalizes it).</summary>
public sealed record SendFrame(ulong RequestId, string RoomId, string TransactionId, string Type, byte[] Content) : ClientFrame;

/// <summary>Receipt confirmation: everything up to <see cref="Resume"/> has been received.</summary>
public sealed record ReceivedFrame(byte[] Resume) : ClientFrame;

/// <summary>A method call with a parameter map.</summary>
public sealed record CallFrame(ulong RequestId, string Method, FieldMap Params) : ClientFrame;
