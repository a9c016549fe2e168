using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TeamComms.Server.Approvals;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Compliance;

/// <summary>Registers the separated roles' services: two-person approvals, export recipients and compliance exports.</summary>
internal static class ComplianceServiceCollectionExtensions
{
    public static IServiceCollection AddTeamCommsCompliance(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection("TeamComms");
        services.AddOptions<ApprovalOptions>().Bind(section.GetSection("Approvals")).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ApprovalOptions>, ApprovalOptionsValidator>();
        services.AddOptions<ExportOptions>().Bind(section.GetSection("Compliance"));
        services.AddSingleton<SecurityStore>();
        services.AddSingleton<ApprovalService>();
        services.AddSingleton<ExportService>();
        services.AddHostedService<RecipientConfigWatch>();
        return services;
    }

    /// <summary>Maps <c>/v1/approvals</c> and the export endpoints under <c>/v1/compliance</c>.</summary>
    public static void MapTeamCommsCompliance(IEndpointRouteBuilder app)
    {
        ApprovalEndpoints.Map(app);
        ExportEndpoints.Map(app);
    }
}

/// <summary>Reports every invalid approval setting by name.</summary>
internal sealed class ApprovalOptionsValidator : IValidateOptions<ApprovalOptions>
{
    public ValidateOptionsResult Validate(string? name, ApprovalOptions options)
    {
        var errors = options.Validate().ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
