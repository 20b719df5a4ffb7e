namespace Wrenn.Silo.Persistence.LocalPostgres;

/// <summary>The local PostgreSQL could not be set up or started; the message quotes its log.</summary>
public sealed class LocalPostgresException(string message) : Exception(message);
