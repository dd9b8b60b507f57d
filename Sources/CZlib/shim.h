#ifndef KAFKA_PIPE_CZLIB_H
#define KAFKA_PIPE_CZLIB_H
#include <zlib.h>
// Swift cannot call the deflateInit2/inflateInit2 macros directly.
static inline int czlib_deflateInit2(z_streamp strm, int level, int method, int windowBits, int memLevel, int strategy) {
    return deflateInit2_(strm, level, method, windowBits, memLevel, strategy, ZLIB_VERSION, (int)sizeof(z_stream));
}
static inline int czlib_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2_(strm, windowBits, ZLIB_VERSION, (int)sizeof(z_stream));
}
#endif
