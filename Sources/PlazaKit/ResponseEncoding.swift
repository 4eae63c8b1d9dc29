import Foundation

/// Plaza's responses spell an absent optional as `null`: a field the schema lists is always there, so a client
/// tells "no parent" from "an older server that does not know parents". Swift's synthesized `Encodable` leaves
/// absent optionals out (it calls `encodeIfPresent`), so responses are encoded through ``NullWriting``, which
/// answers `encodeIfPresent(nil)` with `encodeNil()` at every level, and otherwise hands everything to
/// Foundation's `JSONEncoder` (dates, sorting and escaping stay its own).
///
/// Request types are untouched: clients still leave out what they do not send.
public protocol OmitsAbsentMembers {}

/// A value encoded with absent optionals written as `null` (see ``OmitsAbsentMembers`` for the exception:
/// wire formats of other standards, such as OAuth's and OpenID Connect's, which say absent members are left out).
public struct NullWriting<Value: Encodable>: Encodable {
    public let value: Value
    public init(_ value: Value) { self.value = value }

    public func encode(to encoder: any Encoder) throws {
        if value is any OmitsAbsentMembers { return try value.encode(to: encoder) }
        try value.encode(to: NullWritingEncoder(base: encoder))
    }
}

/// The value to hand a base container: wrapped, unless it has no members (scalars: wrapping them would only
/// recurse, since the containers' generic `encode` also stands for their scalar overloads) or the base encoder
/// must see its type (Foundation encodes dates, URLs, data and decimals by their type, not by their `Encodable`
/// conformance). The container's generic `encode` opens the returned existential, so Foundation sees the
/// concrete type.
private func nullWritingValue<T: Encodable>(_ value: T) -> any Encodable {
    switch value {
    case is String, is Bool, is Int, is Double, is Int64, is Int32, is Int16, is Int8, is UInt, is UInt64, is UInt32, is UInt16,
        is UInt8, is Float, is Date, is URL, is Data, is Decimal, is UUID, is any OmitsAbsentMembers:
        return value
    default: return NullWriting<T>(value)
    }
}

private struct NullWritingEncoder: Encoder {
    let base: any Encoder
    var codingPath: [any CodingKey] { base.codingPath }
    var userInfo: [CodingUserInfoKey: Any] { base.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(NullWritingKeyed(base: base.container(keyedBy: type)))
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { NullWritingUnkeyed(base: base.unkeyedContainer()) }
    func singleValueContainer() -> any SingleValueEncodingContainer { NullWritingSingle(base: base.singleValueContainer()) }
}

private struct NullWritingKeyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
    var base: KeyedEncodingContainer<Key>
    var codingPath: [any CodingKey] { base.codingPath }

    mutating func encodeNil(forKey key: Key) throws { try base.encodeNil(forKey: key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try base.encode(nullWritingValue(value), forKey: key) }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try base.encodeNil(forKey: key) }
    }
    // The scalar overloads are requirements of their own: without these the protocol's defaults (which skip nil) would run.
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try scalar(value, key) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try scalar(value, key) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try scalar(value, key) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try scalar(value, key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try scalar(value, key) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try scalar(value, key) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try scalar(value, key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try scalar(value, key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try scalar(value, key) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try scalar(value, key) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try scalar(value, key) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try scalar(value, key) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try scalar(value, key) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try scalar(value, key) }

    private mutating func scalar<T: Encodable>(_ value: T?, _ key: Key) throws {
        if let value { try base.encode(value, forKey: key) } else { try base.encodeNil(forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(NullWritingKeyed<NestedKey>(base: base.nestedContainer(keyedBy: keyType, forKey: key)))
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        NullWritingUnkeyed(base: base.nestedUnkeyedContainer(forKey: key))
    }
    mutating func superEncoder() -> any Encoder { NullWritingEncoder(base: base.superEncoder()) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { NullWritingEncoder(base: base.superEncoder(forKey: key)) }
}

private struct NullWritingUnkeyed: UnkeyedEncodingContainer {
    var base: any UnkeyedEncodingContainer
    var codingPath: [any CodingKey] { base.codingPath }
    var count: Int { base.count }

    mutating func encodeNil() throws { try base.encodeNil() }
    mutating func encode<T: Encodable>(_ value: T) throws { try base.encode(nullWritingValue(value)) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(NullWritingKeyed<NestedKey>(base: base.nestedContainer(keyedBy: keyType)))
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { NullWritingUnkeyed(base: base.nestedUnkeyedContainer()) }
    mutating func superEncoder() -> any Encoder { NullWritingEncoder(base: base.superEncoder()) }
}

private struct NullWritingSingle: SingleValueEncodingContainer {
    var base: any SingleValueEncodingContainer
    var codingPath: [any CodingKey] { base.codingPath }

    mutating func encodeNil() throws { try base.encodeNil() }
    mutating func encode<T: Encodable>(_ value: T) throws { try base.encode(nullWritingValue(value)) }
}
