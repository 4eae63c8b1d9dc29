import Foundation

/// A cron schedule in the classic five fields (`minute hour day-of-month month day-of-week`, UTC),
/// with `*`, lists, ranges and steps, or one of `@hourly`, `@daily`, `@weekly`, `@monthly`.
public struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
    public let description: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let days: Set<Int>
    let months: Set<Int>
    let weekdays: Set<Int>
    let dayIsRestricted: Bool
    let weekdayIsRestricted: Bool

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ expression: String) throws {
        let aliases = [
            "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
            "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *",
        ]
        let trimmed = expression.trimmingCharacters(in: .whitespaces)
        let text = aliases[trimmed] ?? trimmed
        let fields = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard fields.count == 5 else {
            throw ParseError(description: "a cron schedule has five fields (minute hour day month weekday), got \(fields.count) in \"\(expression)\"")
        }
        description = expression
        minutes = try Self.parse(fields[0], 0...59, "minute")
        hours = try Self.parse(fields[1], 0...23, "hour")
        days = try Self.parse(fields[2], 1...31, "day of month")
        months = try Self.parse(fields[3], 1...12, "month")
        // 7 is another name for Sunday.
        weekdays = Set(try Self.parse(fields[4], 0...7, "day of week").map { $0 % 7 })
        dayIsRestricted = fields[2] != "*"
        weekdayIsRestricted = fields[4] != "*"
    }

    private static func parse(_ field: String, _ range: ClosedRange<Int>, _ name: String) throws -> Set<Int> {
        var values = Set<Int>()
        for part in field.split(separator: ",") {
            let pieces = part.split(separator: "/", maxSplits: 1)
            var step = 1
            if pieces.count == 2 {
                guard let value = Int(pieces[1]), value > 0 else { throw ParseError(description: "bad step in \(name) field \"\(field)\"") }
                step = value
            }
            let base = pieces[0]
            var lower = range.lowerBound
            var upper = range.upperBound
            if base != "*" {
                let bounds = base.split(separator: "-", maxSplits: 1)
                guard let low = Int(bounds[0]) else { throw ParseError(description: "bad \(name) \"\(base)\"") }
                lower = low
                upper = pieces.count == 2 && bounds.count == 1 ? range.upperBound : low
                if bounds.count == 2 {
                    guard let high = Int(bounds[1]) else { throw ParseError(description: "bad \(name) range \"\(base)\"") }
                    upper = high
                }
            }
            guard range.contains(lower), range.contains(upper), lower <= upper else {
                throw ParseError(description: "\(name) \"\(part)\" is outside \(range.lowerBound)-\(range.upperBound)")
            }
            values.formUnion(stride(from: lower, through: upper, by: step))
        }
        return values
    }

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// The first matching minute strictly after `date`, or `nil` if none comes within five years
    /// (a schedule such as February 30th).
    public func next(after date: Date) -> Date? {
        let calendar = Self.calendar
        var current = calendar.dateInterval(of: .minute, for: date)!.start.addingTimeInterval(60)
        let limit = date.addingTimeInterval(5 * 366 * 86400)
        while current < limit {
            let parts = calendar.dateComponents([.month, .day, .hour, .minute, .weekday], from: current)
            guard months.contains(parts.month!) else {
                current = calendar.nextDate(after: current, matching: DateComponents(day: 1, hour: 0, minute: 0), matchingPolicy: .nextTime)!
                continue
            }
            guard dayMatches(day: parts.day!, weekday: parts.weekday! - 1) else {
                current = calendar.startOfDay(for: current).addingTimeInterval(86400)
                continue
            }
            guard hours.contains(parts.hour!) else {
                current = calendar.dateInterval(of: .hour, for: current)!.start.addingTimeInterval(3600)
                continue
            }
            guard minutes.contains(parts.minute!) else {
                current = current.addingTimeInterval(60)
                continue
            }
            return current
        }
        return nil
    }

    /// Cron's rule: when both day fields are restricted, either may match.
    private func dayMatches(day: Int, weekday: Int) -> Bool {
        switch (dayIsRestricted, weekdayIsRestricted) {
        case (true, true): return days.contains(day) || weekdays.contains(weekday)
        case (true, false): return days.contains(day)
        case (false, true): return weekdays.contains(weekday)
        case (false, false): return true
        }
    }
}
