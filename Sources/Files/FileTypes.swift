import Foundation
import PlazaKit

/// What a file is for. Each purpose has its size limit, its allowed types, its visibility and the
/// variants made for it.
public enum FilePurpose: String, Sendable, Codable, CaseIterable {
    case avatar
    case categoryImage = "category-image"
    case servicePhoto = "service-photo"
    case serviceVideo = "service-video"
    case attachment

    /// The most bytes a file of this purpose may have.
    public var maxBytes: Int64 {
        switch self {
        case .avatar: 5 << 20
        case .categoryImage: 10 << 20
        case .servicePhoto: 20 << 20
        case .serviceVideo: 500 << 20
        case .attachment: 25 << 20
        }
    }

    public var allowedTypes: Set<MediaType> {
        switch self {
        case .avatar, .categoryImage, .servicePhoto: [.jpeg, .png, .webp, .gif]
        case .serviceVideo: [.mp4, .quicktime, .webm]
        case .attachment: [.jpeg, .png, .webp, .gif, .pdf, .plainText]
        }
    }

    /// Private files are read by their owner, by whoever their entity lets in, or through a signed link.
    public var visibility: FileVisibility { self == .attachment ? .private : .public }

    /// The variants made when a file of this purpose is stored (images only).
    public var variants: [VariantSpec] {
        switch self {
        case .avatar:
            [VariantSpec(name: "small", width: 64, height: 64, fit: .smart), VariantSpec(name: "large", width: 256, height: 256, fit: .smart)]
        case .categoryImage:
            [VariantSpec(name: "card", width: 400, height: 300, fit: .cover), VariantSpec(name: "large", width: 1200, height: 900, fit: .inside)]
        case .servicePhoto:
            [VariantSpec(name: "thumb", width: 320, height: 240, fit: .smart), VariantSpec(name: "large", width: 1600, height: 1200, fit: .inside)]
        case .serviceVideo:
            []
        case .attachment:
            [VariantSpec(name: "preview", width: 480, height: 480, fit: .inside)]
        }
    }

    /// Who may upload for this purpose beyond any signed-in person.
    var uploadAction: Action { self == .categoryImage ? FilePolicy.uploadCatalogue : FilePolicy.upload }
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
    public var purpose: FilePurpose
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
