using System.Data;
using System.Data.Common;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// Parameter helpers over the ADO.NET base types, so the store's SQL runs unchanged on SQLite (Microsoft.Data.Sqlite)
/// and PostgreSQL (Npgsql). Parameters are named <c>@name</c> in SQL and here: both providers accept that form.
/// </summary>
internal static class DbCommandExtensions
{
    /// <summary>Adds a parameter with a value (null becomes DBNull); its type follows from the value.</summary>
    public static DbParameter AddWithValue(this DbParameterCollection parameters, string name, object? value)
    {
        var parameter = CreateFor(parameters, name);
        parameter.Value = value ?? DBNull.Value;
        parameters.Add(parameter);
        return parameter;
    }

    /// <summary>Adds a typed parameter (its value set per row by the caller).</summary>
    public static DbParameter Add(this DbParameterCollection parameters, string name, DbType type)
    {
        var parameter = CreateFor(parameters, name);
        parameter.DbType = type;
        parameters.Add(parameter);
        return parameter;
    }

    /// <summary>Adds a parameter without a declared type (its value decides: see <see cref="IndicatorKey"/>).</summary>
    public static DbParameter AddUntyped(this DbParameterCollection parameters, string name)
    {
        var parameter = CreateFor(parameters, name);
        parameter.Value = DBNull.Value;
        parameters.Add(parameter);
        return parameter;
    }

    private static DbParameter CreateFor(DbParameterCollection parameters, string name) => parameters switch
    {
        Microsoft.Data.Sqlite.SqliteParameterCollection => new Microsoft.Data.Sqlite.SqliteParameter { ParameterName = name },
        Npgsql.NpgsqlParameterCollection => new Npgsql.NpgsqlParameter { ParameterName = name },
        _ => throw new NotSupportedException("unsupported database provider: " + parameters.GetType().Name),
    };
}
