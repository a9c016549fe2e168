using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TeamComms.Server.Connections;
using TeamComms.Server.FanOut;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using TeamComms.Server.Workplace.Alerts;
using TeamComms.Server.Workplace.Incidents;
using TeamComms.Server.Workplace.Notifications;
using TeamComms.Server.Workplace.Push;
using TeamComms.Server.Workplace.Receipts;

namespace TeamComms.Server.Workplace;

/// <summary>Registers receipts, alerts (urgent messages, broadcasts, acknowledgements), quiet hours, push and incident reports.</summary>
public static class AttentionServiceCollectionExtensions
{
    public static IServiceCollection AddTeamCommsAttention(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AttentionOptions>().Bind(configuration.GetSection("TeamComms").GetSection(AttentionOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AttentionOptions>, AttentionOptionsValidator>();
        services.AddSingleton<AttentionStore>();
        services.AddSingleton<AttentionPolicy>();
        services.AddSingleton<AttentionService>();
        services.AddSingleton<IAttentionSource>(sp => sp.GetRequiredService<AttentionService>());
        services.AddSingleton<PushGateway>();
        services.AddSingleton<PushService>();
        services.AddSingleton<ICommitSink>(sp => sp.GetRequiredService<PushService>());
        services.AddSingleton<SummaryService>();
        services.AddSingleton<ReceiptService>();
        services.AddSingleton<AlertSignals>();
        services.AddSingleton<ICommitSink>(sp => sp.GetRequiredService<AlertSignals>());
        services.AddSingleton<IDeliveryObserver>(sp => sp.GetRequiredService<AlertSignals>());
        services.AddSingleton<AlertService>();
        services.AddSingleton<Cluster.IAppliedEntryObserver, AttentionClusterSync>();
        services.AddSingleton<IncidentService>();
        services.AddSingleton<IRoomProtection, IncidentRoomProtection>();
        services.AddSingleton<AttentionCalls>();
        services.AddHostedService<AttentionStartup>();
        // Reminders and escalation: the one background component, started after the alerts are loaded (cluster mode runs it under a lease).
        services.AddSingleton<AlertTimers>();
        services.AddHostedService<AlertTimersLease>();
        return services;
    }
}

/// <summary>Reports every invalid workplace setting by name.</summary>
internal sealed class AttentionOptionsValidator : IValidateOptions<AttentionOptions>
{
    public ValidateOptionsResult Validate(string? name, AttentionOptions options)
    {
        var errors = options.Validate().ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
