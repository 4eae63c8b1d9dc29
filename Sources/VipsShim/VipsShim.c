#include "VipsShim.h"

#include <string.h>
#include <vips/vips.h>

int plaza_vips_start(int concurrency) {
    if (VIPS_INIT("plaza")) return -1;
    // Every variant is made once and stored; an operation cache would only hold decoded pixels longer.
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    if (concurrency > 0) vips_concurrency_set(concurrency);
    return 0;
}

int plaza_vips_probe(const char *path, PlazaImageInfo *info) {
    const char *loader = vips_foreign_find_load(path);
    if (loader == NULL) return -1;
    VipsImage *image = vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (image == NULL) return -1;
    info->width = vips_image_get_width(image);
    info->height = vips_image_get_height(image);
    info->bands = vips_image_get_bands(image);
    int orientation = 1;
    if (vips_image_get_typeof(image, VIPS_META_ORIENTATION)) {
        vips_image_get_int(image, VIPS_META_ORIENTATION, &orientation);
    }
    info->orientation = orientation;
    // "VipsForeignLoadJpegFile" → "jpegload"
    const char *name = loader;
    if (strncmp(name, "VipsForeignLoad", 15) == 0) name += 15;
    size_t length = 0;
    while (name[length] != '\0' && length + 5 < sizeof(info->loader)) {
        char c = name[length];
        info->loader[length] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        length++;
    }
    info->loader[length] = '\0';
    g_object_unref(image);
    return 0;
}

int plaza_vips_verify(const char *path) {
    VipsImage *small = NULL;
    if (vips_thumbnail(path, &small, 64, "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL)) return -1;
    double average = 0;
    int failed = vips_avg(small, &average, NULL);
    g_object_unref(small);
    return failed ? -1 : 0;
}

static int save(VipsImage *image, const char *output, PlazaFormat format, int quality) {
    if (format == PlazaFormatJPEG) {
        VipsImage *flat = NULL;
        if (vips_image_hasalpha(image)) {
            VipsArrayDouble *white = vips_array_double_newv(3, 255.0, 255.0, 255.0);
            int failed = vips_flatten(image, &flat, "background", white, NULL);
            vips_area_unref(VIPS_AREA(white));
            if (failed) return -1;
            image = flat;
        }
        int failed = vips_jpegsave(image, output, "Q", quality, "strip", TRUE, "optimize_coding", TRUE,
                                   "interlace", TRUE, NULL);
        if (flat) g_object_unref(flat);
        return failed ? -1 : 0;
    }
    return vips_webpsave(image, output, "Q", quality, "strip", TRUE, NULL) ? -1 : 0;
}

int plaza_vips_variant(const char *input, const char *output, int width, int height, PlazaFit fit,
                       PlazaFormat format, int quality, int *out_width, int *out_height) {
    // vips_thumbnail's box defaults to a square; an unbounded side gets a size no image reaches.
    int boxWidth = width > 0 ? width : VIPS_MAX_COORD;
    int boxHeight = height > 0 ? height : VIPS_MAX_COORD;
    VipsImage *image = NULL;
    int failed;
    if (fit == PlazaFitInside || width <= 0 || height <= 0) {
        failed = vips_thumbnail(input, &image, boxWidth, "height", boxHeight, "size", VIPS_SIZE_DOWN,
                                "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
    } else {
        VipsInteresting interesting = fit == PlazaFitSmart ? VIPS_INTERESTING_ATTENTION : VIPS_INTERESTING_CENTRE;
        failed = vips_thumbnail(input, &image, boxWidth, "height", boxHeight, "crop", interesting, "size", VIPS_SIZE_DOWN,
                                "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
    }
    if (failed) return -1;
    failed = save(image, output, format, quality);
    if (!failed) {
        *out_width = vips_image_get_width(image);
        *out_height = vips_image_get_height(image);
    }
    g_object_unref(image);
    return failed;
}

size_t plaza_vips_take_error(char *buffer, size_t capacity) {
    const char *text = vips_error_buffer();
    size_t length = strlen(text);
    if (capacity == 0) return length;
    size_t copied = length < capacity - 1 ? length : capacity - 1;
    memcpy(buffer, text, copied);
    buffer[copied] = '\0';
    vips_error_clear();
    return copied;
}

size_t plaza_vips_tracked_memory(void) { return vips_tracked_get_mem(); }
size_t plaza_vips_tracked_memory_peak(void) { return vips_tracked_get_mem_highwater(); }
