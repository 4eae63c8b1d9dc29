import Foundation
import HTTPTypes
import Hummingbird
import PlazaKit

/// What the delivery route needs to answer for a file or a variant.
struct FileDelivery: Sendable {
    var key: String
    var contentType: String
    var size: Int64
    var etag: String
    var lastModified: Date
    var cacheControl: String
    /// For types a browser should not show in place (PDF, text): the name to save it under.
    var downloadName: String?
}

/// One `Range: bytes=…` request, as RFC 9110 §14 reads it: a single range is honoured; several, or
/// one the server cannot parse, are ignored (the whole file is sent); one outside the file is refused.
enum ByteRange: Equatable {
    case whole
    case part(ClosedRange<Int64>)
    case unsatisfiable

    static func parse(_ header: String?, size: Int64) -> ByteRange {
        guard let header, header.hasPrefix("bytes="), size > 0 else { return .whole }
        let spec = header.dropFirst("bytes=".count)
        guard !spec.contains(",") else { return .whole }
        let sides = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard sides.count == 2 else { return .whole }
        if sides[0].isEmpty {
            guard let suffix = Int64(sides[1]) else { return .whole }
            guard suffix > 0 else { return .unsatisfiable }
            return .part(max(0, size - suffix)...(size - 1))
        }
        guard let first = Int64(sides[0]) else { return .whole }
        guard first < size else { return .unsatisfiable }
        if sides[1].isEmpty { return .part(first...(size - 1)) }
        guard let last = Int64(sides[1]), last >= first else { return .whole }
        return .part(first...min(last, size - 1))
    }
}

extension FileDelivery {
    /// The response: 304 when the client's copy is current, 206 for a range, 416 for one outside the file.
    func response(to request: Request, blobs: any BlobStore) async throws -> Response {
        var headers: HTTPFields = [
            .eTag: etag, .lastModified: Self.httpDate(lastModified), .cacheControl: cacheControl, .acceptRanges: "bytes",
            .contentType: contentType, HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            // Whatever a file holds, it runs nothing on this origin.
            .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        ]
        if let downloadName {
            let encoded = downloadName.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "file"
            headers[.contentDisposition] = "attachment; filename*=UTF-8''\(encoded)"
        }
        if notModified(request) {
            return Response(status: .notModified, headers: headers)
        }
        var range = ByteRange.parse(request.headers[.range], size: size)
        if let ifRange = request.headers[.ifRange], ifRange != etag { range = .whole }
        switch range {
        case .whole:
            guard size > 0 else { return Response(status: .ok, headers: headers) }
            return Response(status: .ok, headers: headers, body: try await blobs.read(key, range: 0...(size - 1)))
        case .part(let part):
            headers[.contentRange] = "bytes \(part.lowerBound)-\(part.upperBound)/\(size)"
            return Response(status: .partialContent, headers: headers, body: try await blobs.read(key, range: part))
        case .unsatisfiable:
            throw PlazaError(
                .rangeNotSatisfiable, code: "range-not-satisfiable", title: "Range not satisfiable",
                detail: "The file has \(size) bytes; the range asked for lies outside it.", headers: ["Content-Range": "bytes */\(size)"])
        }
    }

    private func notModified(_ request: Request) -> Bool {
        if let match = request.headers[.ifNoneMatch] {
            return match == "*" || match.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == etag }
        }
        if let since = request.headers[.ifModifiedSince], let date = Self.parseHTTPDate(since) {
            return lastModified.timeIntervalSince1970.rounded(.down) <= date.timeIntervalSince1970
        }
        return false
    }

    static func httpDate(_ date: Date) -> String {
        formatter().string(from: date)
    }

    static func parseHTTPDate(_ text: String) -> Date? {
        formatter().date(from: text)
    }

    private static func formatter() -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter
    }
}

extension FileService {
    /// Finds what to send for `/files/<id>[/<variant>][?w=&h=&fit=&format=]`, checking who asks: public
    /// files are anyone's; a private one needs a valid signed link or a caller the policy lets read it.
    func delivery(_ id: UUID, variant name: String?, query: [String: String], caller: Caller) async throws -> FileDelivery {
        guard let record = try await record(id) else { throw Self.notFound }
        let spec = try variantSpec(record, named: name, query: query)
        if record.visibility == .private {
            if let expires = query["expires"], let signature = query["signature"] {
                try await checkSignature(id, variant: spec?.name, expires: expires, signature: signature)
            } else {
                try await authorizeRead(record, caller: caller)
            }
        }
        let cache = record.visibility == .public ? "public, max-age=31536000, immutable" : "private, max-age=300"
        guard let spec else {
            let inline = record.contentType.hasPrefix("image/") || record.contentType.hasPrefix("video/")
            return FileDelivery(
                key: record.key, contentType: record.contentType, size: record.size, etag: "\"\(record.sha256)\"",
                lastModified: record.createdAt, cacheControl: cache, downloadName: inline ? nil : record.name)
        }
        if !record.purpose.variants.contains(spec), try await storedVariant(record.id, spec.name) == nil {
            try await checkOnDemandRoom(record)
        }
        let variant = try await variant(record, spec)
        return FileDelivery(
            key: variant.key, contentType: variant.contentType, size: variant.size, etag: "\"\(variant.sha256)\"",
            lastModified: record.createdAt, cacheControl: cache, downloadName: nil)
    }

    /// Each image may have ``FileSettings/maxOnDemandVariants`` sizes made on demand: the allow-list bounds
    /// the boxes, this bounds how much one image can cost in work and storage.
    func checkOnDemandRoom(_ record: Record) async throws {
        let named = record.purpose.variants.map(\.name)
        let made = try await store.sql.raw("SELECT name FROM file_variants WHERE file_id = \(bind: record.id)").all()
            .map { try $0.decode(column: "name", as: String.self) }.filter { !named.contains($0) }
        guard made.count < settings.maxOnDemandVariants else {
            throw PlazaError.validation(
                field: "w",
                "this image already has its \(settings.maxOnDemandVariants) sizes made on demand; ask for one of those: "
                    + made.sorted().joined(separator: ", "))
        }
    }

    /// A named variant of the purpose, or an on-demand one from `w`, `h`, `fit` and `format` within the
    /// allow-list; `nil` for the original.
    func variantSpec(_ record: Record, named name: String?, query: [String: String]) throws -> VariantSpec? {
        let isImage = record.contentType.hasPrefix("image/")
        if let name {
            guard isImage, let spec = record.purpose.variants.first(where: { $0.name == name }) else {
                throw PlazaError.notFound("This file has no variant \"\(name)\".")
            }
            return spec
        }
        guard query["w"] != nil || query["h"] != nil else { return nil }
        guard isImage else { throw PlazaError.validation(field: "w", "only images have resized variants") }
        let allowed = settings.onDemandSizes.sorted().map(String.init).joined(separator: ", ")
        var errors: [FieldError] = []
        func size(_ key: String) -> Int {
            guard let text = query[key] else { return 0 }
            guard let value = Int(text), settings.onDemandSizes.contains(value) else {
                errors.append(FieldError(field: key, message: "must be one of \(allowed)"))
                return 0
            }
            return value
        }
        let width = size("w"), height = size("h")
        let fit = query["fit"].map { VariantFit(rawValue: $0) } ?? .inside
        if fit == nil { errors.append(FieldError(field: "fit", message: "must be inside, cover or smart")) }
        let format = query["format"].map { VariantFormat(rawValue: $0) } ?? .webp
        if format == nil { errors.append(FieldError(field: "format", message: "must be webp or jpeg")) }
        if errors.isEmpty, width == 0, height == 0 { errors.append(FieldError(field: "w", message: "give a width or a height")) }
        if errors.isEmpty, fit != .inside, width == 0 || height == 0 {
            errors.append(FieldError(field: "fit", message: "\(fit!.rawValue) needs both a width and a height"))
        }
        guard errors.isEmpty, let fit, let format else { throw PlazaError.validation(errors) }
        return .onDemand(width: width, height: height, fit: fit, format: format)
    }
}
