/// # Storage — one database, two engines
///
/// Opens the database Plaza runs on — an SQLite file (the embedded default, in WAL mode with foreign
/// keys on) or PostgreSQL (`postgres://…`) — and gives every service the same three things:
///
/// - ``Store``: the connection pools, the ``Dialect``, and ``Store/transaction(_:)``, the only way to write.
///   On SQLite, writes queue in process and are committed in groups through one connection whose statements
///   run on the calling thread (`SQLiteWriter`), so concurrent writers never fail with "database is locked"
///   and pay no thread hop per statement. On PostgreSQL a transaction's code runs on its connection's event
///   loop (`PostgresClientDatabase`), and statements that repeat run by name, prepared once per connection
///   (`PostgresStatements`). ``Transaction/run(together:)`` sends independent statements in one round trip on
///   PostgreSQL.
/// - ``MigrationList``: the ordered migrations the composition root assembles; a migration may branch on
///   ``Dialect`` where SQL differs (FTS5 vs tsvector).
/// - The audit log's table and ``Transaction/audit(_:action:resourceType:resourceID:organisationID:details:at:)``,
///   which writes an audit entry in the same transaction as the change it records.
public enum StorageModule {}
