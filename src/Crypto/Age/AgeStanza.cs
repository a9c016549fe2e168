namespace TeamComms.Crypto.Age;

/// <summary>One recipient stanza of an age header: <c>-> type args…</c> and a binary body.</summary>
/// <param name="Type">The first argument, such as <c>X25519</c>.</param>
/// <param name="Arguments">The remaining arguments.</param>
/// <param name="Body">The decoded body.</param>
public sealed record AgeStanza(string Type, IReadOnlyList<string> Arguments, byte[] Body);
