import Foundation

/// How the files module stores and serves.
public struct FileSettings: Sendable, Equatable {
    /// Where the local store keeps blobs (`<data dir>/files` unless set).
    public var root: String
    /// The most pixels an image may have; bigger ones are refused from their header, before decoding.
    public var maxPixels: Int
    /// How long a signed link to a private file works.
    public var signedURLLifetime: Duration
    /// The boxes on-demand variants may ask for (`?w=&h=`); anything else is refused, so nobody can make
    /// the server render and keep arbitrary sizes.
    public var onDemandSizes: Set<Int>
    /// How many on-demand variants one image may have.
    public var maxOnDemandVariants = 16
    /// An S3-compatible bucket to keep blobs in instead of ``root`` (which still holds staging files).
    public var s3: S3BlobStore.Location?

    public init(
        root: String = "./plaza-data/files", maxPixels: Int = 50_000_000, signedURLLifetime: Duration = .seconds(900),
        onDemandSizes: Set<Int> = [0, 48, 64, 96, 128, 160, 200, 256, 320, 400, 480, 640, 800, 960, 1024, 1280, 1600, 1920]
    ) {
        self.root = root
        self.maxPixels = maxPixels
        self.signedURLLifetime = signedURLLifetime
        self.onDemandSizes = onDemandSizes
    }
}
