using TeamComms.Load;

// dotnet run -c Release --project bench/TeamComms.Load -- --room-size 1000 --rooms 1 --payload 64 --seconds 10 --json
LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (ArgumentException ex)
{
    if (ex.Message.Length > 0)
    {
        Console.Error.WriteLine(ex.Message);
    }
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}
try
{
    var report = await LoadRunner.RunAsync(options).ConfigureAwait(false);
    Console.WriteLine(options.Json ? report.ToJson() : report.ToTable());
    return 0;
}
catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or System.Net.WebSockets.WebSocketException or System.ComponentModel.Win32Exception or TimeoutException)
{
    Console.Error.WriteLine($"load: {ex.Message}");
    return 1;
}
