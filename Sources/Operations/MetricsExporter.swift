import Foundation
import Jobs
import Metrics
import Prometheus
import Storage

/// Renders `/metrics`: what the process recorded through swift-metrics (requests, latencies, jobs run),
/// plus gauges read at scrape time (queue depth per queue and state, open transactions).
public struct MetricsExporter: Sendable {
    let registry: PrometheusCollectorRegistry
    let queue: JobQueue
    let store: Store

    public init(registry: PrometheusCollectorRegistry, queue: JobQueue, store: Store) {
        self.registry = registry
        self.queue = queue
        self.store = store
    }

    static var jobs: MetricNameDescriptor { .init(metricName: "plaza_jobs", unitName: "", helpText: "Jobs per queue and state.") }
    static var databaseUp: MetricNameDescriptor {
        .init(metricName: "plaza_database_up", unitName: "", helpText: "1 when the last query answered.")
    }
    static var openTransactions: MetricNameDescriptor {
        .init(metricName: "plaza_database_transactions_open", unitName: "", helpText: "Transactions open or waiting for a connection.")
    }
    static var poolSize: MetricNameDescriptor {
        .init(metricName: "plaza_database_pool_size", unitName: "", helpText: "Connections the pools may open.")
    }

    public func render() async -> String {
        if let stats = try? await queue.stats() {
            var seen: Set<String> = []
            for stat in stats {
                seen.insert("\(stat.queue)|\(stat.state.rawValue)")
                registry.makeGauge(descriptor: Self.jobs, labels: [("queue", stat.queue), ("state", stat.state.rawValue)])
                    .set(to: Double(stat.count))
            }
            // States that emptied since the last scrape must read 0, not their old value.
            for queueName in Set(stats.map(\.queue)) {
                for state in JobState.allCases where !seen.contains("\(queueName)|\(state.rawValue)") {
                    registry.makeGauge(descriptor: Self.jobs, labels: [("queue", queueName), ("state", state.rawValue)]).set(to: 0.0)
                }
            }
            registry.makeGauge(descriptor: Self.databaseUp).set(to: 1.0)
        } else {
            registry.makeGauge(descriptor: Self.databaseUp).set(to: 0.0)
        }
        registry.makeGauge(descriptor: Self.openTransactions).set(to: Double(store.openTransactions))
        registry.makeGauge(descriptor: Self.poolSize).set(to: Double(store.poolCapacity))
        return registry.emitToString()
    }
}
