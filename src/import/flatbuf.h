/*
 * flatbuf.h - a bounds-checked reader for FlatBuffers (the format of .tflite files).
 *
 * Written here because Debian ships no C FlatBuffers library (flatcc is not packaged), and a
 * model file is untrusted input: every offset, vtable, vector length and string is checked
 * against the buffer before it is dereferenced, with 64-bit arithmetic so sums cannot wrap.
 * Accessors never fail loudly: a bad offset sets the sticky `bad` flag in tml_fb, returns
 * "absent", and the caller checks tml_fb.bad once after reading what it needs. No recursion,
 * no allocation.
 */
#ifndef TML_FLATBUF_H
#define TML_FLATBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *buf;
    size_t size;
    bool bad;        /* set by any accessor that met an out-of-bounds or malformed structure */
    const char *why; /* static text of the first problem */
} tml_fb;

typedef struct {
    tml_fb *fb;
    size_t pos;      /* absolute offset of the table */
    size_t vt;       /* absolute offset of its vtable */
    uint16_t vt_size, tbl_size;
    bool valid;
} tml_fb_table;

typedef struct {
    tml_fb *fb;
    size_t pos;      /* absolute offset of element 0 */
    uint32_t n;      /* element count */
} tml_fb_vec;

void tml_fb_init(tml_fb *fb, const uint8_t *buf, size_t size);
/* The root table; false if the buffer is too small or the offset is wrong. */
bool tml_fb_root(tml_fb *fb, tml_fb_table *t);
/* True if the file identifier at bytes 4..7 equals id (4 chars). */
bool tml_fb_has_identifier(const tml_fb *fb, const char *id);

/* Scalars of field `field` (0-based, as declared in the schema) or dflt if absent. */
uint8_t tml_fb_u8(const tml_fb_table *t, int field, uint8_t dflt);
int32_t tml_fb_i32(const tml_fb_table *t, int field, int32_t dflt);
uint32_t tml_fb_u32(const tml_fb_table *t, int field, uint32_t dflt);
uint64_t tml_fb_u64(const tml_fb_table *t, int field, uint64_t dflt);
float tml_fb_f32(const tml_fb_table *t, int field, float dflt);
bool tml_fb_present(const tml_fb_table *t, int field);

/* A sub-table, vector or string field; false if absent (or bad: see fb->bad). */
bool tml_fb_table_field(const tml_fb_table *t, int field, tml_fb_table *out);
bool tml_fb_vector(const tml_fb_table *t, int field, size_t elem_size, tml_fb_vec *out);
/* Bytes of a string field (not NUL-terminated in general); false if absent. */
bool tml_fb_string(const tml_fb_table *t, int field, const char **s, uint32_t *len);

/* Element i of a vector of tables. */
bool tml_fb_vec_table(const tml_fb_vec *v, uint32_t i, tml_fb_table *out);
/* Element i of scalar vectors (unaligned-safe little-endian reads; i < v->n is the caller's). */
int32_t tml_fb_vec_i32(const tml_fb_vec *v, uint32_t i);
int64_t tml_fb_vec_i64(const tml_fb_vec *v, uint32_t i);
float tml_fb_vec_f32(const tml_fb_vec *v, uint32_t i);
const uint8_t *tml_fb_vec_bytes(const tml_fb_vec *v);

#endif
