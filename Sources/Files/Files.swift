/// # Files — uploads, storage, image variants and delivery
///
/// Every file people send to Plaza — avatars, category images, service photos and videos, chat
/// attachments — comes through this module.
///
/// - Uploads stream into a staging file as they arrive (multipart, `purpose` first, or a raw body):
///   the size limit of the purpose stops a body while it streams, the SHA-256 is taken on the way, and
///   the type is decided from the content's first bytes, never from the client's header or the name.
/// - Images are decoded once in full before anything is stored (truncated, corrupt and lying files are
///   refused; so are images over the pixel limit, before decoding), then stored; the purpose's variants
///   are made by a job through libvips (orientation applied, metadata stripped, WebP or JPEG), and
///   on-demand variants from an allow-list are made once and kept.
/// - Bytes live in a ``BlobStore``: a directory under the data directory by default.
/// - Delivery answers ranges, ETags and `If-Modified-Since`; public files and all variants are cached
///   for a year (a file's id never names other bytes); private files are read by their owner, by whoever
///   the owning entity's module lets in, or through a signed link that expires.
public enum FilesModule {}
