namespace TeamComms.Protocol;

/// <summary>
/// Stable error codes a client can see, on the WebSocket (in an Error frame) and over HTTP (as the
/// <c>error.code</c> string). The numeric value and the snake_case name never change once published;
/// docs/protocol.md lists every one of them.
/// </summary>
public enum ErrorCode
{
    /// <summary>The frame is not valid MessagePack, or not an array whose first element is a frame type.</summary>
    BadFrame = 1,
    /// <summary>A field has the wrong MessagePack type or an invalid value.</summary>
    BadField = 2,
    /// <summary>The frame type is not one this server knows.</summary>
    UnknownFrame = 3,
    /// <summary>The WebSocket message is larger than the server's frame limit.</summary>
    FrameTooLarge = 4,
    /// <summary>None of the protocol versions the client offered is supported. The message names the supported ones.</summary>
    UnsupportedVersion = 5,
    /// <summary>The first frame on a connection was not Hello.</summary>
    HelloRequired = 6,
    /// <summary>The access token is unknown or malformed.</summary>
    TokenInvalid = 7,
    /// <summary>The access token's session has expired.</summary>
    TokenExpired = 8,
    /// <summary>The session was revoked (logout, admin action or deactivation).</summary>
    SessionRevoked = 9,
    /// <summary>The room does not exist (or the caller may not know it exists).</summary>
    UnknownRoom = 10,
    /// <summary>The caller is not a joined member of the room.</summary>
    NotMember = 11,
    /// <summary>The caller lacks the permission for this action.</summary>
    Forbidden = 12,
    /// <summary>Too many frames or requests; slow down. The message gives a retry hint.</summary>
    RateLimited = 13,
    /// <summary>The server's data volume is (nearly) full; nothing was stored.</summary>
    StorageFull = 14,
    /// <summary>The storage layer failed; nothing was stored.</summary>
    StorageUnavailable = 15,
    /// <summary>The referenced user does not exist.</summary>
    UnknownUser = 16,
    /// <summary>The target is already a member, or already invited.</summary>
    AlreadyMember = 17,
    /// <summary>Joining requires an invitation the caller does not have.</summary>
    NotInvited = 18,
    /// <summary>The event content is larger than the content limit.</summary>
    ContentTooLarge = 19,
    /// <summary>The resume token is malformed or belongs to another server or data directory.</summary>
    ResumeInvalid = 20,
    /// <summary>The event type is reserved or malformed.</summary>
    InvalidEventType = 21,
    /// <summary>A request field is missing or invalid (HTTP API).</summary>
    BadRequest = 22,
    /// <summary>Username and password do not match.</summary>
    InvalidCredentials = 23,
    /// <summary>The resource already exists (for example a duplicate username).</summary>
    Conflict = 24,
    /// <summary>The resource does not exist (HTTP API).</summary>
    NotFound = 25,
    /// <summary>Authentication is required (HTTP API, missing bearer token).</summary>
    Unauthenticated = 26,
    /// <summary>The server is shutting down or not yet ready.</summary>
    Unavailable = 27,
    /// <summary>An unexpected server error; it is logged with the request id.</summary>
    Internal = 28,
    /// <summary>The account is deactivated.</summary>
    AccountDisabled = 29,
    /// <summary>The room is archived and read-only.</summary>
    RoomArchived = 30,
    /// <summary>A company policy forbids the action. The message names the policy.</summary>
    PolicyViolation = 31,
    /// <summary>A directory rule does not parse or names an unknown attribute. The message says where and why.</summary>
    InvalidRule = 32,
    /// <summary>Federation: the other server is not a partner of this one, or federation is off.</summary>
    FederationRefused = 33,
    /// <summary>Federation: the room's hub cannot be reached; the action is queued and will apply when it can be.</summary>
    FederationPending = 34,
    /// <summary>Federation: a request, event, checkpoint or key document signature does not verify.</summary>
    SignatureInvalid = 35,
    /// <summary>Federation: the signed request is outside the time window or was seen before.</summary>
    RequestReplayed = 36,
    /// <summary>Federation: an event or batch fails verification (id, content hash, chain, order or origin).</summary>
    EventInvalid = 37,
    /// <summary>The edit or delete window the company sets for one's own messages has passed.</summary>
    EditWindowClosed = 38,
    /// <summary>The related or referenced event does not exist in this room (or its content is gone).</summary>
    UnknownEvent = 39,
    /// <summary>A relation (<c>rel</c>) is not allowed here: wrong kind of target, a thread inside a thread, a second identical reaction.</summary>
    InvalidRelation = 40,
    /// <summary>The room's content rules do not allow this attachment type.</summary>
    AttachmentTypeNotAllowed = 41,
    /// <summary>The attachment is larger than the room's content rules allow.</summary>
    AttachmentTooLarge = 42,
    /// <summary>The room's link policy does not allow a link in the message. The message names the link.</summary>
    LinkNotAllowed = 43,
    /// <summary>The poll is closed.</summary>
    PollClosed = 44,
    /// <summary>No such attachment, or it is not yours to post or read.</summary>
    UnknownAttachment = 45,
    /// <summary>A signed download link is malformed, forged or expired.</summary>
    LinkExpired = 46,
    /// <summary>
    /// The action would let one person hold roles that must stay apart (security officer and compliance officer), or
    /// the caller holds both and the server refuses the action that would combine them. The message names the roles.
    /// </summary>
    RoleConflict = 47,
    /// <summary>The approval request expired before a second officer decided it; nothing was changed. File a new request.</summary>
    ApprovalExpired = 48,
    /// <summary>The approval request was already decided (approved, rejected, cancelled or superseded); nothing was changed.</summary>
    ApprovalClosed = 49,
    /// <summary>The value is not an age X25519 recipient (<c>age1…</c>), or names a recipient the request does not allow.</summary>
    InvalidRecipient = 50,
    /// <summary>The compliance officer has no approved age recipient registered, so an export cannot be encrypted to them.</summary>
    NoExportRecipient = 51,
    /// <summary>Workplace: you are not a recipient of this alert (only recipients acknowledge it).</summary>
    NotRecipient = 52,
    /// <summary>Workplace: the alert already had its all-clear (or was already cancelled); nothing changed.</summary>
    AlertClosed = 53,
    /// <summary>Workplace: this server has no push gateway configured, so push endpoints cannot be registered.</summary>
    PushDisabled = 54,
    /// <summary>Workplace: the incident id and secret of an anonymous report do not match.</summary>
    IncidentSecretInvalid = 55,
    /// <summary>
    /// Cluster mode: this feature does not work across nodes yet (the attention features; federation). Nothing was changed. See docs/architecture.md, "What is not replicated yet".
    /// </summary>
    ClusterUnsupported = 56,
    /// <summary>
    /// An attachment's stored bytes are missing or do not authenticate (modified, truncated or swapped in the attachments
    /// directory or the cluster's object store): nothing of it is sent.
    /// </summary>
    AttachmentDamaged = 59,
}

/// <summary>Names and HTTP statuses of <see cref="ErrorCode"/> values.</summary>
public static class ErrorCodes
{
    private static readonly string[] s_names = BuildNames();

    /// <summary>The stable snake_case name of a code, for example <c>not_member</c>.</summary>
    public static string Name(ErrorCode code)
    {
        var i = (int)code;
        return (uint)i < (uint)s_names.Length && s_names[i] is { } n ? n : "unknown";
    }

    /// <summary>Parses a snake_case name back to its code.</summary>
    public static bool TryParse(string name, out ErrorCode code)
    {
        for (var i = 0; i < s_names.Length; i++)
        {
            if (s_names[i] == name)
            {
                code = (ErrorCode)i;
                return true;
            }
        }
        code = default;
        return false;
    }

    /// <summary>The HTTP status the HTTP API uses for a code.</summary>
    public static int HttpStatus(ErrorCode code) => code switch
    {
        ErrorCode.Unauthenticated or ErrorCode.TokenInvalid or ErrorCode.TokenExpired or ErrorCode.SessionRevoked
            or ErrorCode.InvalidCredentials or ErrorCode.SignatureInvalid or ErrorCode.RequestReplayed => 401,
        ErrorCode.Forbidden or ErrorCode.NotMember or ErrorCode.AccountDisabled or ErrorCode.PolicyViolation
            or ErrorCode.NotInvited or ErrorCode.RoomArchived or ErrorCode.FederationRefused
            or ErrorCode.NotRecipient or ErrorCode.IncidentSecretInvalid => 403,
        ErrorCode.NotFound or ErrorCode.UnknownRoom or ErrorCode.UnknownUser => 404,
        ErrorCode.Conflict or ErrorCode.AlreadyMember or ErrorCode.RoleConflict or ErrorCode.ApprovalExpired
            or ErrorCode.ApprovalClosed or ErrorCode.NoExportRecipient or ErrorCode.AlertClosed => 409,
        ErrorCode.FrameTooLarge or ErrorCode.ContentTooLarge or ErrorCode.AttachmentTooLarge => 413,
        ErrorCode.UnknownEvent or ErrorCode.UnknownAttachment => 404,
        ErrorCode.AttachmentTypeNotAllowed => 415,
        ErrorCode.LinkExpired or ErrorCode.EditWindowClosed or ErrorCode.LinkNotAllowed => 403,
        ErrorCode.RateLimited => 429,
        ErrorCode.StorageFull => 507,
        ErrorCode.StorageUnavailable or ErrorCode.Unavailable or ErrorCode.FederationPending => 503,
        ErrorCode.Internal or ErrorCode.AttachmentDamaged => 500,
        ErrorCode.ClusterUnsupported => 501,
        _ => 400,
    };

    private static string[] BuildNames()
    {
        var values = Enum.GetValues<ErrorCode>();
        var names = new string[values.Max(v => (int)v) + 1];
        foreach (var v in values)
        {
            names[(int)v] = ToSnake(v.ToString());
        }
        return names;
    }

    private static string ToSnake(string pascal)
    {
        var sb = new System.Text.StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            var c = pascal[i];
            if (char.IsUpper(c))
            {
                if (i > 0)
                {
                    sb.Append('_');
                }
                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }
}
