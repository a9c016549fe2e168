using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TeamComms.Server.Hosting;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Federation;

/// <summary>Registers federation: keys, partners, discovery, signed requests, outboxes, ingest and backfill.</summary>
public static class FederationServiceCollectionExtensions
{
    public static IServiceCollection AddTeamCommsFederation(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FederationOptions>().Bind(configuration.GetSection(TeamCommsOptions.Section).GetSection("Federation")).ValidateOnStart();
        services.AddSingleton<IValidateOptions<FederationOptions>, FederationOptionsValidator>();
        services.TryAddSingleton<IFederationAudit, LoggingFederationAudit>();
        services.AddSingleton<FederationStore>();
        services.AddSingleton<ServerKeyRing>();
        services.AddSingleton<PartnerTable>();
        services.AddSingleton<FederationHttp>();
        services.AddSingleton<ServerDirectory>();
        services.AddSingleton<FederationClient>();
        services.AddSingleton<KeyCache>();
        services.AddSingleton<RequestVerifier>();
        services.AddSingleton<ForwardRegistry>();
        services.AddSingleton<FederationSenders>();
        services.AddSingleton<FollowerBackfill>();
        services.AddSingleton<TransactionIngest>();
        services.AddSingleton<RoomEventPages>();
        services.AddSingleton<RoomFederation>();
        services.AddSingleton<IRoomFederation>(sp => sp.GetRequiredService<RoomFederation>());
        services.AddSingleton<ICommitSink, FederationCommitSink>();
        services.AddHostedService<FederationHostedService>();
        return services;
    }
}

/// <summary>Reports every invalid federation setting.</summary>
internal sealed class FederationOptionsValidator : IValidateOptions<FederationOptions>
{
    public ValidateOptionsResult Validate(string? name, FederationOptions options)
    {
        var errors = options.Validate().ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
