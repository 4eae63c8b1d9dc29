/// # PlazaTesting — fixtures shared by every test target
///
/// - ``TestDatabase``: each test gets its own copy of a database migrated once per test process — a copied
///   SQLite file, or `CREATE DATABASE … TEMPLATE` on PostgreSQL when `PLAZA_TEST_DATABASE_URL` is set.
/// - ``withTestPlaza(clock:configure:_:)``: a whole ``Plaza`` on such a copy, closed and dropped afterwards.
/// - ``ManualClock``: time that moves only when a test says so, for leases, backoff and timers.
/// - ``TestAuthentication``: a middleware that signs requests in from an `X-Test-Principal` header, until
///   the identity module's tokens exist; only test routers install it.
public enum PlazaTestingModule {}
