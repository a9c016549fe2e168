// The tests run on Linux only (key-file permission checks, the real `age` tool, kill -9).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
