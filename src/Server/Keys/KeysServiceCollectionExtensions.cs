using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TeamComms.Server.Backups;
using TeamComms.Server.Storage.Encryption;

namespace TeamComms.Server.Keys;

/// <summary>Registers encryption at rest, key rotation and backups.</summary>
internal static class KeysServiceCollectionExtensions
{
    public static IServiceCollection AddTeamCommsKeys(this IServiceCollection services, IConfigurationSection teamComms)
    {
        services.AddOptions<KeyOptions>().Bind(teamComms.GetSection("Keys")).ValidateOnStart();
        services.AddSingleton<IValidateOptions<KeyOptions>, KeyOptionsValidator>();
        services.AddOptions<BackupOptions>().Bind(teamComms.GetSection("Backup"));
        services.TryAddSingleton<ISecurityAuditSink, LoggingSecurityAuditSink>();
        services.AddSingleton<KeyService>();
        services.AddSingleton<BackupService>();
        services.AddHostedService<KeyStartupAudit>();
        return services;
    }
}

/// <summary>Reports every invalid key setting by name.</summary>
internal sealed class KeyOptionsValidator : IValidateOptions<KeyOptions>
{
    public ValidateOptionsResult Validate(string? name, KeyOptions options)
    {
        var errors = options.Validate().ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
