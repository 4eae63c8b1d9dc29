// libvips from Debian's libvips-dev, found through pkg-config (`vips`).
#include <vips/vips.h>
