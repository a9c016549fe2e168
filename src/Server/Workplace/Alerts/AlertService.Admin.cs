namespace TeamComms.Server.Workplace.Alerts;

/// <summary>Every alert, for the admin console's acknowledgement dashboard (<c>GET /v1/admin/alerts</c>, admins only).</summary>
internal sealed partial class AlertService
{
    /// <summary>The newest <paramref name="limit"/> alerts, newest first, as <c>GET /v1/alerts</c> summarizes them.</summary>
    public List<Dictionary<string, object?>> ListAll(int limit) =>
        _store.Alerts().OrderByDescending(a => a.CreatedAt).Take(limit).Select(Summary).ToList();
}
