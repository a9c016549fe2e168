namespace TeamComms.Server.Workplace.Push;

/// <summary>
/// One notification for one person's devices, in the shape of the Matrix push gateway API
/// (<c>POST /_matrix/push/v1/notify</c>). Never carries message content: bodies stay on the server (they are encrypted
/// at rest, and the gateway relays to the mobile platforms' push services); the device fetches the event.
/// </summary>
internal sealed record PushNotification(long UserKey, string Reason, bool Urgent)
{
    public string? RoomId { get; init; }
    public long Seq { get; init; }
    public string? EventId { get; init; }
    public string? Type { get; init; }
    public string? Sender { get; init; }
    public string? AlertId { get; init; }
    /// <summary>For a summary: room id → messages that arrived while quiet.</summary>
    public IReadOnlyList<(string RoomId, long Count)>? Summary { get; init; }
    /// <summary>Only devices without a live connection (ordinary messages); alerts and reminders go to every device.</summary>
    public bool OfflineOnly { get; init; }
}
