import Foundation
import PlazaKit
import Synchronization

/// Access tokens whose signature was checked, with what they say, until they expire: checking an ES256
/// signature costs more than the rest of a simple request, and a client presents the same token many times.
/// Only a token that verified is kept, under its exact text; revocation is still asked on every request.
final class VerifiedTokens: Sendable {
    static let capacity = 20_000
    private let entries = Mutex<[String: (principal: Principal, expires: Date)]>([:])

    func principal(for token: String, at now: Date) -> Principal? {
        entries.withLock { entries in
            guard let entry = entries[token] else { return nil }
            guard entry.expires > now else {
                entries[token] = nil
                return nil
            }
            return entry.principal
        }
    }

    func remember(_ token: String, _ principal: Principal, until expires: Date, now: Date) {
        entries.withLock { entries in
            // Full: drop what expired; if that is not enough, start again (the next requests verify once more).
            if entries.count >= Self.capacity {
                entries = entries.filter { $0.value.expires > now }
                if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[token] = (principal, expires)
        }
    }
}
