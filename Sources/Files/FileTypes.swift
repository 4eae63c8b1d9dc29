import Foundation
import PlazaKit

/// What a file is for: its size limit, its allowed types, its visibility, the variants made for it, who may
/// upload for it and whether it must be bound to an entity (or be swept). The core declares `avatar` and
/// `attachment`; apps declare theirs in their manifests (new ones named for the app, `notes-photo`), and
/// ``FileService/register(_:owner:)`` refuses a name declared twice.
public struct FilePurpose: Sendable, Hashable {
    public let name: String
    /// The most bytes a file of this purpose may have.
    public let maxBytes: Int64
    public let allowedTypes: Set<MediaType>
    /// Private files are read by their owner, by whoever their entity lets in, or through a signed link.
    public let visibility: FileVisibility
    /// The variants made when a file of this purpose is stored (images only).
    public let variants: [VariantSpec]
    /// Who may upload for this purpose (any signed-in person, unless a stricter action is named).
    public let uploadAction: Action
    /// A file of this purpose that nothing binds within a day is swept away.
    public let needsEntity: Bool

    public init(
        _ name: String, maxBytes: Int64, allowedTypes: Set<MediaType>, visibility: FileVisibility = .public, variants: [VariantSpec] = [],
        uploadAction: Action = FilePolicy.upload, needsEntity: Bool = true
    ) {
        self.name = name
        self.maxBytes = maxBytes
        self.allowedTypes = allowedTypes
        self.visibility = visibility
        self.variants = variants
        self.uploadAction = uploadAction
        self.needsEntity = needsEntity
    }

    public static func == (lhs: FilePurpose, rhs: FilePurpose) -> Bool { lhs.name == rhs.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }

    public static let images: Set<MediaType> = [.jpeg, .png, .webp, .gif]

    /// A person's picture: public, square variants, the profile's own.
    public static let avatar = FilePurpose(
        "avatar", maxBytes: 5 << 20, allowedTypes: images,
        variants: [VariantSpec(name: "small", width: 64, height: 64, fit: .smart), VariantSpec(name: "large", width: 256, height: 256, fit: .smart)],
        needsEntity: false)
    /// A file sent with a message: private to the thread.
    public static let attachment = FilePurpose(
        "attachment", maxBytes: 25 << 20, allowedTypes: images.union([.pdf, .plainText]), visibility: .private,
        variants: [VariantSpec(name: "preview", width: 480, height: 480, fit: .inside)])

    /// The core's purposes.
    public static let core: [FilePurpose] = [avatar, attachment]
}

public enum FileVisibility: String, Sendable, Codable {
    case `public`
    case `private`
}

/// A content type Plaza recognises by its first bytes.
public enum MediaType: String, Sendable, Codable, CaseIterable {
    case jpeg = "image/jpeg"
    case png = "image/png"
    case gif = "image/gif"
    case webp = "image/webp"
    case mp4 = "video/mp4"
    case quicktime = "video/quicktime"
    case webm = "video/webm"
    case pdf = "application/pdf"
    case plainText = "text/plain"

    public var isImage: Bool { [.jpeg, .png, .gif, .webp].contains(self) }

    /// Whether the libvips loader (its class name less `VipsForeignLoad`, lowercased: `jpegfile`,
    /// `nsgiffile`) reads this type: a file whose first bytes say JPEG must decode as one.
    func isRead(by loader: String) -> Bool {
        switch self {
        case .jpeg: loader.hasPrefix("jpeg")
        case .png: loader.hasPrefix("png")
        case .gif: loader.hasPrefix("gif") || loader.hasPrefix("nsgif")
        case .webp: loader.hasPrefix("webp")
        default: false
        }
    }
}

/// How a variant fills its box.
public enum VariantFit: String, Sendable, Codable, CaseIterable {
    /// Inside the box, whole, aspect ratio kept.
    case inside
    /// Fills the box; the centre is kept.
    case cover
    /// Fills the box; the most interesting part is kept (libvips' attention crop).
    case smart
}

public enum VariantFormat: String, Sendable, Codable {
    case webp
    case jpeg

    var mediaType: String { self == .webp ? "image/webp" : "image/jpeg" }
}

/// A variant to make: a name, a box and a fit. Named variants belong to purposes; on-demand ones are
/// named by their box (`w320-h240-cover`).
public struct VariantSpec: Sendable, Hashable, Codable {
    public var name: String
    public var width: Int
    public var height: Int
    public var fit: VariantFit
    public var format: VariantFormat = .webp

    public init(name: String, width: Int, height: Int, fit: VariantFit, format: VariantFormat = .webp) {
        self.name = name
        self.width = width
        self.height = height
        self.fit = fit
        self.format = format
    }

    /// An on-demand variant, `?w=&h=&fit=`; its name says its box so each is made once.
    public static func onDemand(width: Int, height: Int, fit: VariantFit, format: VariantFormat) -> VariantSpec {
        VariantSpec(name: "w\(width)-h\(height)-\(fit.rawValue)-\(format.rawValue)", width: width, height: height, fit: fit, format: format)
    }
}

/// A stored file as the API shows it.
public struct StoredFile: Codable, Sendable, Equatable {
    public var id: UUID
    /// The purpose's name.
    public var purpose: String
    public var name: String
    public var contentType: String
    public var size: Int64
    public var sha256: String
    public var visibility: FileVisibility
    public var width: Int?
    public var height: Int?
    public var ownerId: UUID?
    public var entity: String?
    /// Where the bytes are; for a private file, a signed link that expires.
    public var url: String
    /// Variant name → URL (signed for a private file). Named variants appear once the file is stored;
    /// a variant not made yet is made when it is first asked for.
    public var variants: [String: String]
    public var createdAt: Date
}

/// A variant as stored.
public struct StoredVariant: Sendable, Equatable {
    public var name: String
    public var contentType: String
    public var size: Int64
    public var width: Int
    public var height: Int
    public var sha256: String
    public var key: String
}

/// What an entity (a message, a profile, a category) lets people do with the files bound to it: its
/// owner module answers with the facts the policy needs.
public typealias FileEntityFacts = @Sendable (_ entityID: String) async throws -> ResourceFacts?
