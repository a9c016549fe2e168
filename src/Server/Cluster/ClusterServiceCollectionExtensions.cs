using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Server.Accounts;
using TeamComms.Server.Connections;
using TeamComms.Server.FanOut;
using TeamComms.Server.Hosting;
using TeamComms.Server.Rooms;
using TeamComms.Server.Singletons;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Cluster;

/// <summary>Registers cluster mode when <c>TeamComms:Cluster:Enabled</c> is true; otherwise registers nothing.</summary>
public static class ClusterServiceCollectionExtensions
{
    public static IServiceCollection AddTeamCommsCluster(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(TeamCommsOptions.Section).GetSection(ClusterOptions.Section);
        services.AddOptions<ClusterOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ClusterOptions>, ClusterOptionsValidator>();
        if (!section.GetValue<bool>(nameof(ClusterOptions.Enabled)))
        {
            services.TryAddSingleton<ISingletonLeases, LocalSingletonLeases>();
            return services;
        }
        services.AddSingleton<ISingletonLeases, JetStreamSingletonLeases>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<ClusterOptions>>().Value);
        services.AddSingleton<ClusterAlarm>();
        services.AddSingleton<ClusterEngine>();
        services.AddSingleton(sp => new ClusterKeys(sp.GetRequiredService<ClusterEngine>(), sp.GetRequiredService<ClusterOptions>(),
            sp.GetRequiredService<IOptions<TeamCommsOptions>>().Value.DataDirectory, sp.GetRequiredService<ILogger<ClusterKeys>>()));
        services.AddSingleton(sp => TeamCommsServiceCollectionExtensions.NewLocalRoomLog(sp, new LogClock(sp.GetRequiredService<TimeProvider>())));
        services.AddSingleton(sp => new ClusterSync(sp.GetRequiredService<ClusterOptions>().NodeId, sp.GetRequiredService<AccountService>(),
            sp.GetRequiredService<ConnectionRegistry>(), sp));
        services.AddSingleton(sp => new JetStreamRoomLog(
            sp.GetRequiredService<LocalRoomLog>(),
            sp.GetRequiredService<ClusterEngine>(),
            sp.GetRequiredService<ClusterKeys>(),
            sp.GetRequiredService<ClusterOptions>(),
            sp.GetRequiredService<RoomStore>(),
            sp.GetRequiredService<RocksStore>(),
            sp.GetRequiredService<ClusterAlarm>(),
            [new LazySync(sp), new LazyFederation(sp)],
            sp.GetRequiredService<ILogger<JetStreamRoomLog>>())
        {
            ServerName = sp.GetRequiredService<ServerIdentity>().ServerName,
        });
        services.AddSingleton<IRoomLog>(sp => sp.GetRequiredService<JetStreamRoomLog>());
        services.AddTeamCommsClusterAttachments();
        services.AddSingleton<ClusterNode>();
        services.AddSingleton<ClusterFederationKeys>();
        services.AddSingleton<ClusterFederation>();
        services.AddSingleton(sp => new ClusterMetrics(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
            sp.GetRequiredService<JetStreamRoomLog>, sp.GetRequiredService<ClusterAlarm>(), sp.GetRequiredService<ClusterNode>,
            () => (JetStreamSingletonLeases)sp.GetRequiredService<ISingletonLeases>()));
        // Before every other hosted service: the log must be open (and caught up) before the first admin is created or
        // the directory loads.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, ClusterLifecycle>());
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, ClusterRowsWiring>()); // before ClusterLifecycle opens the log
        return services;
    }

    /// <summary>Attachments in the replicated object store instead of the node's directory (replaces the single node's storage).</summary>
    private static void AddTeamCommsClusterAttachments(this IServiceCollection services) =>
        services.AddSingleton<Attachments.IAttachmentStorage>(sp => new ObjectStoreAttachmentStorage(
            sp.GetRequiredService<ClusterEngine>(),
            sp.GetRequiredService<ClusterKeys>(),
            sp.GetRequiredService<ClusterOptions>(),
            sp.GetRequiredService<JetStreamRoomLog>(),
            sp.GetRequiredService<IOptions<TeamCommsOptions>>().Value.DataDirectory,
            sp.GetRequiredService<ILogger<ObjectStoreAttachmentStorage>>()));

    /// <summary>Resolves the federation observer on first use (partner changes applied from the log).</summary>
    private sealed class LazyFederation(IServiceProvider sp) : IAppliedEntryObserver
    {
        public void OnApplied(string originNode, IReadOnlyList<Proposal> proposals) =>
            sp.GetRequiredService<ClusterFederation>().OnApplied(originNode, proposals);
    }

    /// <summary>
    /// Resolves the sync observer, and the features' own observers (registered as <see cref="IAppliedEntryObserver"/>), on
    /// first use (they depend on services that depend on the room log).
    /// </summary>
    private sealed class LazySync(IServiceProvider sp) : IAppliedEntryObserver
    {
        private IAppliedEntryObserver[]? _features;

        public void OnApplied(string originNode, IReadOnlyList<Proposal> proposals)
        {
            sp.GetRequiredService<ClusterSync>().OnApplied(originNode, proposals);
            foreach (var observer in _features ??= [.. sp.GetServices<IAppliedEntryObserver>()])
            {
                observer.OnApplied(originNode, proposals);
            }
        }
    }
}

internal sealed class ClusterOptionsValidator : IValidateOptions<ClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterOptions options)
    {
        var errors = options.Validate().ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
