namespace TeamComms.Protocol.Federation;

/// <summary>Limits every implementation accepts at least; a receiver refuses larger input with <c>bad_field</c>.</summary>
public static class FederationLimits
{
    /// <summary>Largest transaction or page body: 16 MiB.</summary>
    public const int MaxBodyBytes = 16 * 1024 * 1024;

    /// <summary>Most proposals in one transaction.</summary>
    public const int MaxProposals = 1000;

    /// <summary>Most room batches in one transaction.</summary>
    public const int MaxRooms = 1000;

    /// <summary>Most events in one room batch or one backfill page.</summary>
    public const int MaxEventsPerBatch = 2000;

    /// <summary>Longest transaction id.</summary>
    public const int MaxTransactionIdLength = 128;
}
