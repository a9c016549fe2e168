using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Server.Accounts;
using TeamComms.Server.AdminConsole;
using TeamComms.Server.Api;
using TeamComms.Server.Cluster;
using TeamComms.Server.Connections;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Compliance;
using TeamComms.Server.Federation;
using TeamComms.Server.FanOut;
using TeamComms.Server.Keys;
using TeamComms.Server.Storage.Encryption;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using TeamComms.Server.Workplace;

namespace TeamComms.Server.Hosting;

/// <summary>Registers the TeamComms server's services.</summary>
public static class TeamCommsServiceCollectionExtensions
{
    public static IServiceCollection AddTeamComms(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(TeamCommsOptions.Section);
        services.AddOptions<TeamCommsOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TeamCommsOptions>, TeamCommsOptionsValidator>();
        services.AddOptions<StorageOptions>().Bind(section.GetSection("Storage"))
            .Validate(o => o.MaxBatchEvents is > 0 and <= 100_000, "TeamComms:Storage:MaxBatchEvents must be 1..100000").ValidateOnStart();
        services.AddOptions<AccountOptions>().Bind(section.GetSection("Accounts"))
            .Validate(o => o.Argon2MemoryKiB >= 8 && o.Argon2Passes >= 1, "TeamComms:Accounts Argon2 cost is below libsodium's minimum").ValidateOnStart();
        services.AddTeamCommsKeys(section);
        services.AddOptions<ConnectionOptions>().Bind(section.GetSection("Connections"))
            .Validate(o => o.MaxFrameBytes >= 1024 && o.QueueByteLimit >= o.MaxFrameBytes && o.FramesPerSecond > 0 && o.MaxInflight > 0,
                "TeamComms:Connections limits are inconsistent").ValidateOnStart();

        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ServerMetrics>();
        services.AddTeamCommsMetrics(configuration);
        services.AddTeamCommsDeliveryTransport();
        services.AddSingleton<Readiness>();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<TeamCommsOptions>>().Value;
            var errors = options.Validate().ToList();
            if (errors.Count > 0)
            {
                throw new OptionsValidationException(TeamCommsOptions.Section, typeof(TeamCommsOptions), errors);
            }
            return new RocksStore(options.DataDirectory, sp.GetRequiredService<IOptions<StorageOptions>>().Value,
                sp.GetRequiredService<ILoggerFactory>().CreateLogger<RocksStore>(), sp.GetRequiredService<IOptions<KeyOptions>>().Value);
        });
        services.AddSingleton(sp => new ServerIdentity(PinServerName(sp.GetRequiredService<RocksStore>(), sp.GetRequiredService<IOptions<TeamCommsOptions>>().Value.ServerName)));
        services.AddSingleton<EventStore>();
        services.AddSingleton<RoomStore>();
        services.AddSingleton<AccountStore>();
        services.AddSingleton<RoomRegistry>();
        services.AddSingleton<FanOutHub>();
        services.AddSingleton<IRoomLog>(sp => NewLocalRoomLog(sp, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<AccountService>();
        services.AddSingleton<ClientCalls>();
        services.AddSingleton<ConnectionServices>();
        services.AddHostedService<TeamCommsLifecycle>();
        services.AddTeamCommsDirectory(configuration);
        services.AddTeamCommsAdminConsole();
        services.AddTeamCommsCompliance(configuration);
        services.AddTeamCommsFederation(configuration);
        services.AddTeamCommsWorkplace(configuration);
        services.AddTeamCommsAttention(configuration);
        services.AddTeamCommsCluster(configuration);
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never;
        });
        return services;
    }

    /// <summary>The server name is part of every stored id, so it is recorded on first start and may not change.</summary>
    private static string PinServerName(RocksStore store, string configured)
    {
        var stored = store.Get("server_name"u8, store.Meta);
        if (stored is null)
        {
            store.Put("server_name"u8, System.Text.Encoding.UTF8.GetBytes(configured), store.Meta);
            return configured;
        }
        var name = System.Text.Encoding.UTF8.GetString(stored);
        if (name != configured)
        {
            throw new StorageFormatException(
                $"The data directory belongs to server '{name}' but TeamComms:ServerName is '{configured}'. " +
                "Server names are part of every id and cannot change; set TeamComms:ServerName back to '" + name + "'.");
        }
        return name;
    }

    /// <summary>
    /// The sequencer with every collaborator it takes from the container, for a single node and for cluster mode alike
    /// (cluster mode passes the log's clock), so that the two cannot drift apart.
    /// </summary>
    internal static LocalRoomLog NewLocalRoomLog(IServiceProvider sp, TimeProvider clock) => new(
        sp.GetRequiredService<RocksStore>(),
        sp.GetRequiredService<RoomRegistry>(),
        sp.GetRequiredService<RoomStore>(),
        sp.GetRequiredService<EventStore>(),
        sp.GetRequiredService<AccountStore>(),
        clock,
        sp.GetRequiredService<IOptions<StorageOptions>>().Value,
        sp.GetRequiredService<ServerIdentity>().ServerName,
        new CompositeCommitSink([sp.GetRequiredService<FanOutHub>(), .. sp.GetServices<ICommitSink>()]),
        sp.GetRequiredService<ServerMetrics>(),
        sp.GetRequiredService<ILogger<LocalRoomLog>>(),
        sp.GetService<IRoomPolicy>(),
        sp.GetService<IRoomFederation>(),
        sp.GetService<IRoomWorkplace>());
}

/// <summary>Reports every invalid top-level setting by name.</summary>
internal sealed class TeamCommsOptionsValidator : IValidateOptions<TeamCommsOptions>
{
    public ValidateOptionsResult Validate(string? name, TeamCommsOptions options)
    {
        var errors = options.Validate().ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

}
