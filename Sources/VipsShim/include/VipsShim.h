// A small, non-variadic face on libvips for Swift, which cannot call C's variadic functions. Nothing of
// GLib shows here, so Swift code that imports this never sees GObject types.
#ifndef PLAZA_VIPS_SHIM_H
#define PLAZA_VIPS_SHIM_H

#include <stddef.h>

/// What an image's header says, read without decoding its pixels.
typedef struct {
    int width;
    int height;
    int bands;
    /// EXIF orientation, 1 (upright) when absent.
    int orientation;
    /// The loader libvips picked: its class name less "VipsForeignLoad", lowercased ("jpegfile", "nsgiffile").
    char loader[64];
} PlazaImageInfo;

/// How a variant fills its box.
typedef enum {
    /// Shrink to fit inside the box, keeping the aspect ratio.
    PlazaFitInside = 0,
    /// Fill the box and cut what sticks out, keeping the centre.
    PlazaFitCover = 1,
    /// Fill the box and keep the most interesting part (libvips' attention crop).
    PlazaFitSmart = 2
} PlazaFit;

typedef enum {
    PlazaFormatWebP = 0,
    PlazaFormatJPEG = 1
} PlazaFormat;

/// Starts libvips once per process; 0 on success.
int plaza_vips_start(int concurrency);

/// Reads the header of the image at `path`; 0 on success.
int plaza_vips_probe(const char *path, PlazaImageInfo *info);

/// Decodes the whole image cheaply (at reduced size where the format allows), failing on truncated or
/// corrupt data; 0 when it decodes.
int plaza_vips_verify(const char *path);

/// Writes a variant of `input` to `output`: orientation applied, metadata stripped, never enlarged.
/// `width` or `height` may be 0 (then only the other one bounds the image). The variant's size is
/// written to `out_width` and `out_height`. 0 on success.
int plaza_vips_variant(const char *input, const char *output, int width, int height, PlazaFit fit,
                       PlazaFormat format, int quality, int *out_width, int *out_height);

/// Copies libvips' error text into `buffer` (NUL-terminated) and clears it; returns its length.
size_t plaza_vips_take_error(char *buffer, size_t capacity);

/// Bytes libvips is tracking now, and the most it has tracked since start.
size_t plaza_vips_tracked_memory(void);
size_t plaza_vips_tracked_memory_peak(void);

#endif
