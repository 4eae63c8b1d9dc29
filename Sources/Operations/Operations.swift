/// # Operations — the operators' view
///
/// What the seeds' system logs, Prometheus and Grafana do: the audit log reader (entries are written
/// by every module in its own transactions, see `Transaction.audit` in Storage), `/health`, `/ready`,
/// `/metrics` in Prometheus text format, and the operators' API over the job queue and the audit log.
///
/// Operations sits at the bottom of the import order: it may read every module, and nobody imports it.
public enum OperationsModule {}
