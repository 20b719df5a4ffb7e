namespace Wrenn.Plugins.Jail;

/// <summary>A jail could not be made, entered or freed; the message names what and how to act.</summary>
public sealed class JailException(string message, Exception? inner = null) : Exception(message, inner);
