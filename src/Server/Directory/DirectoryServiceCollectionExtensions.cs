using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TeamComms.Server.Audit;
using TeamComms.Server.Hosting;
using TeamComms.Server.Policies;
using TeamComms.Server.Provisioning;
using TeamComms.Server.Provisioning.Scim;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.CompanyDirectory;

/// <summary>Registers the company directory, provisioning, policies and the audit log.</summary>
public static class DirectoryServiceCollectionExtensions
{
    public static IServiceCollection AddTeamCommsDirectory(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection("TeamComms");
        services.AddOptions<AuditOptions>().Bind(section.GetSection("Audit")).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuditOptions>, AuditOptionsValidator>();
        services.TryAddSingleton(sp =>
        {
            var store = sp.GetRequiredService<RocksStore>();
            return store.AtRest is { } atRest
                ? new ServerKey(atRest.SigningKey, ownsKey: false)
                : new ServerKey(ServerKeyStore.LoadOrCreate(store.DataDirectory));
        });
        // Key and backup actions (issue 5) go into the audit log instead of only the server log.
        services.Replace(ServiceDescriptor.Singleton<Keys.ISecurityAuditSink, AuditLogSecurityAuditSink>());
        services.AddSingleton<DirectoryStore>();
        services.AddSingleton<AuditStore>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<AuditStream>();
        services.AddSingleton<DirectoryState>();
        services.AddSingleton<DirectoryService>();
        services.AddSingleton<IRoomPolicy, CompanyPolicy>();
        services.AddSingleton<DirectoryCalls>();
        services.AddSingleton<ProvisioningService>();
        services.AddSingleton<ScimTokens>();
        services.AddHostedService<DirectoryStartup>();
        return services;
    }
}

/// <summary>Reports every invalid audit setting by name.</summary>
internal sealed class AuditOptionsValidator : IValidateOptions<AuditOptions>
{
    public ValidateOptionsResult Validate(string? name, AuditOptions options)
    {
        var errors = options.Validate().ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
