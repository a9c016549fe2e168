using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TeamComms.Server.Attachments;
using TeamComms.Server.Conversations;
using TeamComms.Server.Hosting;
using TeamComms.Server.Moderation;
using TeamComms.Server.Retention;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Workplace;

/// <summary>
/// Registers the workplace features: announcements and pins, threads, reactions and polls, moderation and content
/// rules, retention and legal holds, attachments.
/// </summary>
public static class WorkplaceServiceCollectionExtensions
{
    public static IServiceCollection AddTeamCommsWorkplace(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WorkplaceOptions>().Bind(configuration.GetSection(TeamCommsOptions.Section).GetSection("Workplace")).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WorkplaceOptions>, WorkplaceOptionsValidator>();
        services.AddSingleton<WorkplaceStore>();
        services.AddSingleton<ContentPolicy>();
        services.AddSingleton<LegalHolds>();
        services.AddSingleton<RoomWorkplace>();
        services.AddSingleton<IRoomWorkplace>(sp => sp.GetRequiredService<RoomWorkplace>());
        services.AddSingleton<ContentCompactor>();
        services.AddSingleton<IAttachmentStorage, LocalAttachmentStorage>(); // cluster mode registers its object store after this
        services.AddSingleton<AttachmentStore>();
        services.AddSingleton<AttachmentService>();
        services.AddSingleton<PollCloser>();
        services.AddSingleton<RetentionService>();
        services.AddSingleton<ModerationService>();
        services.AddSingleton<ConversationCalls>();
        services.AddSingleton<ModerationCalls>();
        services.AddHostedService<WorkplaceStartup>();
        return services;
    }

    /// <summary>Maps the workplace features' HTTP endpoints.</summary>
    internal static void MapTeamCommsWorkplace(this IEndpointRouteBuilder app)
    {
        AttachmentEndpoints.Map(app);
        RetentionEndpoints.Map(app);
        ModerationEndpoints.Map(app);
    }
}

/// <summary>Reports every invalid workplace setting.</summary>
internal sealed class WorkplaceOptionsValidator : IValidateOptions<WorkplaceOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkplaceOptions options)
    {
        var errors = options.Validate().ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
