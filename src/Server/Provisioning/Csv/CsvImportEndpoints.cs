using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.CompanyDirectory;

namespace TeamComms.Server.Provisioning.Csv;

/// <summary>
/// <c>POST /v1/admin/import/csv?dry_run=true</c> with the CSV as the body (<c>text/csv</c>): a dry run lists every
/// change (people, groups, room memberships) without applying any; a real run applies them in one commit.
/// </summary>
internal static class CsvImportEndpoints
{
    /// <summary>Largest accepted file: 64 MiB is far above 100,000 employees.</summary>
    private const long MaxBytes = 64L * 1024 * 1024;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/admin/import/csv", async (HttpContext context, AccountService accounts, DirectoryService directory,
            IOptions<AccountOptions> accountOptions, bool? dry_run, bool? setup_links, bool? deactivate_missing) =>
        {
            var (session, by) = Access.Require(context, accounts, Access.People);
            if (context.Request.ContentLength > MaxBytes)
            {
                throw new ApiException(ErrorCode.ContentTooLarge, $"the file is larger than {MaxBytes / (1024 * 1024)} MiB");
            }
            string csv;
            using (var reader = new StreamReader(context.Request.Body, System.Text.Encoding.UTF8))
            {
                csv = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
            }
            var options = new CsvImportOptions(deactivate_missing ?? false, setup_links ?? false, session.IsAdmin);
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            CsvImportPlan plan;
            CommitOutcome outcome;
            try
            {
                (plan, outcome) = await directory.ChangeAsync(by, tx => CsvImport.Apply(tx, csv, options), dry_run ?? false).ConfigureAwait(false);
            }
            catch (CsvImportException ex)
            {
                return Results.Json(new
                {
                    error = new { code = ErrorCodes.Name(ErrorCode.BadRequest), message = ex.Message },
                    errors = ex.Errors.Select(e => new { line = e.Line, message = e.Message }),
                }, statusCode: StatusCodes.Status400BadRequest);
            }
            var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            var baseUrl = accountOptions.Value.PublicBaseUrl?.TrimEnd('/') ?? $"{context.Request.Scheme}://{context.Request.Host}";
            var snapshot = directory.Snapshot;
            return Results.Ok(new
            {
                dry_run = outcome.DryRun,
                created = plan.Created,
                updated = plan.Updated.Select(u => new { user_id = u.UserId, fields = u.Fields }),
                deactivated = plan.Deactivated,
                reactivated = plan.Reactivated,
                groups_created = plan.GroupsCreated,
                memberships = outcome.DryRun ? outcome.Changes.Select(c => new { room_id = c.RoomId, room_name = c.RoomName, user_id = c.UserId, change = c.Change }) : null,
                membership_events = outcome.Events,
                stats = new
                {
                    changed_users = outcome.Stats.ChangedUsers,
                    rule_evaluations = outcome.Stats.RuleEvaluations,
                    rooms_touched = outcome.Stats.RoomsTouched,
                    wants = outcome.Stats.Wants,
                    elapsed_ms = (long)elapsed.TotalMilliseconds,
                },
                setup_links = outcome.SetupTokens.Select(kv => new
                {
                    user_id = snapshot.Users.GetValueOrDefault(kv.Key)?.UserId,
                    email = snapshot.Users.GetValueOrDefault(kv.Key)?.Profile.Email,
                    setup_link = $"{baseUrl}/setup#token={kv.Value}",
                }),
            });
        }).Accepts<string>("text/csv");
    }
}
