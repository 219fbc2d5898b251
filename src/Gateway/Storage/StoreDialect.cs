namespace CyberCoop.Gateway.Storage;

/// <summary>The few places where the store's SQL differs between SQLite and PostgreSQL.</summary>
internal sealed class StoreDialect
{
    private StoreDialect(bool postgres) => IsPostgres = postgres;

    /// <summary>SQLite.</summary>
    public static StoreDialect Sqlite { get; } = new(postgres: false);

    /// <summary>PostgreSQL.</summary>
    public static StoreDialect Postgres { get; } = new(postgres: true);

    /// <summary>The dialect of an open connection of either engine.</summary>
    public static StoreDialect Of(System.Data.Common.DbConnection connection) => connection is Npgsql.NpgsqlConnection ? Postgres : Sqlite;

    /// <summary>True for PostgreSQL.</summary>
    public bool IsPostgres { get; }

    /// <summary>The larger of two values: SQLite's scalar <c>MAX(a, b)</c>, PostgreSQL's <c>GREATEST(a, b)</c>.</summary>
    public string Greatest(string a, string b) => IsPostgres ? $"GREATEST({a}, {b})" : $"MAX({a}, {b})";

    /// <summary>Comma-joined values of a group.</summary>
    public string JoinedWithCommas(string column) => IsPostgres ? $"string_agg({column}, ',')" : $"group_concat({column}, ',')";

    /// <summary>
    /// The indexed key of an indicator id: SQLite keeps the 16 bytes of a canonical UUID (see <see cref="IndicatorKey"/>);
    /// PostgreSQL keeps the id text in a column with the "C" collation (the same order for canonical ids).
    /// </summary>
    public object Key(string id) => IsPostgres ? id : IndicatorKey.Of(id);

    /// <summary><see cref="Key"/> in SQL, for a column holding the id text.</summary>
    public string KeySql(string column) => IsPostgres ? column : IndicatorKey.Sql(column);
}
