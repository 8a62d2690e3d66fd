/*
 * flatbuf.c - bounds-checked FlatBuffers reading (see flatbuf.h for why it exists).
 *
 * Layout reminders: a table starts with an int32 soffset to its vtable (vtable = table -
 * soffset); a vtable is uint16 vtable size, uint16 table size, then one uint16 per field with
 * the field's offset from the table start (0 = absent). Offsets to sub-objects are uint32,
 * relative to where they are stored. Vectors are a uint32 count followed by the elements;
 * strings are byte vectors followed by a NUL.
 */
#include <string.h>

#include "import/flatbuf.h"

static bool fail(tml_fb *fb, const char *why)
{
    if (!fb->bad) {
        fb->bad = true;
        fb->why = why;
    }
    return false;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }

static bool in_bounds(const tml_fb *fb, uint64_t pos, uint64_t len)
{
    return pos <= fb->size && len <= fb->size - pos;
}

void tml_fb_init(tml_fb *fb, const uint8_t *buf, size_t size)
{
    fb->buf = buf;
    fb->size = size;
    fb->bad = false;
    fb->why = NULL;
}

bool tml_fb_has_identifier(const tml_fb *fb, const char *id)
{
    return fb->size >= 8 && memcmp(fb->buf + 4, id, 4) == 0;
}

/* Opens the table at absolute position pos. */
static bool open_table(tml_fb *fb, uint64_t pos, tml_fb_table *t)
{
    int64_t vt;
    memset(t, 0, sizeof(*t));
    t->fb = fb;
    if (pos & 3u || !in_bounds(fb, pos, 4))
        return fail(fb, "table offset out of bounds");
    vt = (int64_t)pos - (int32_t)rd32(fb->buf + pos);
    if (vt < 0 || (vt & 1) || !in_bounds(fb, (uint64_t)vt, 4))
        return fail(fb, "vtable offset out of bounds");
    t->pos = (size_t)pos;
    t->vt = (size_t)vt;
    t->vt_size = rd16(fb->buf + vt);
    t->tbl_size = rd16(fb->buf + vt + 2);
    if (t->vt_size < 4 || (t->vt_size & 1) || !in_bounds(fb, (uint64_t)vt, t->vt_size))
        return fail(fb, "vtable size out of bounds");
    if (t->tbl_size < 4 || !in_bounds(fb, pos, t->tbl_size))
        return fail(fb, "table size out of bounds");
    t->valid = true;
    return true;
}

bool tml_fb_root(tml_fb *fb, tml_fb_table *t)
{
    if (fb->size < 8)
        return fail(fb, "file too small");
    return open_table(fb, rd32(fb->buf), t);
}

/* Absolute position of field `field` of size `sz`, or 0 if absent. */
static size_t field_pos(const tml_fb_table *t, int field, size_t sz)
{
    size_t slot = 4 + 2 * (size_t)field;
    uint16_t off;
    if (!t->valid || field < 0 || slot + 2 > t->vt_size)
        return 0;
    off = rd16(t->fb->buf + t->vt + slot);
    if (off == 0)
        return 0;
    if ((size_t)off + sz > t->tbl_size) {
        fail(t->fb, "field outside its table");
        return 0;
    }
    return t->pos + off;
}

bool tml_fb_present(const tml_fb_table *t, int field) { return field_pos(t, field, 1) != 0; }

uint8_t tml_fb_u8(const tml_fb_table *t, int field, uint8_t dflt)
{
    size_t p = field_pos(t, field, 1);
    return p ? t->fb->buf[p] : dflt;
}

int32_t tml_fb_i32(const tml_fb_table *t, int field, int32_t dflt)
{
    size_t p = field_pos(t, field, 4);
    return p ? (int32_t)rd32(t->fb->buf + p) : dflt;
}

uint32_t tml_fb_u32(const tml_fb_table *t, int field, uint32_t dflt)
{
    size_t p = field_pos(t, field, 4);
    return p ? rd32(t->fb->buf + p) : dflt;
}

uint64_t tml_fb_u64(const tml_fb_table *t, int field, uint64_t dflt)
{
    size_t p = field_pos(t, field, 8);
    return p ? rd64(t->fb->buf + p) : dflt;
}

float tml_fb_f32(const tml_fb_table *t, int field, float dflt)
{
    size_t p = field_pos(t, field, 4);
    float f;
    uint32_t u;
    if (!p)
        return dflt;
    u = rd32(t->fb->buf + p);
    memcpy(&f, &u, 4);
    return f;
}

/* Follows the uoffset stored at absolute position p. */
static bool follow(tml_fb *fb, size_t p, uint64_t *target)
{
    uint64_t tgt = (uint64_t)p + rd32(fb->buf + p);
    if (tgt >= fb->size)
        return fail(fb, "offset out of bounds");
    *target = tgt;
    return true;
}

bool tml_fb_table_field(const tml_fb_table *t, int field, tml_fb_table *out)
{
    size_t p = field_pos(t, field, 4);
    uint64_t tgt;
    if (!p || !follow(t->fb, p, &tgt))
        return false;
    return open_table(t->fb, tgt, out);
}

static bool open_vector(tml_fb *fb, uint64_t pos, size_t elem_size, tml_fb_vec *out)
{
    uint32_t n;
    if (!in_bounds(fb, pos, 4))
        return fail(fb, "vector offset out of bounds");
    n = rd32(fb->buf + pos);
    if (!in_bounds(fb, pos + 4, (uint64_t)n * elem_size))
        return fail(fb, "vector length out of bounds");
    out->fb = fb;
    out->pos = (size_t)pos + 4;
    out->n = n;
    return true;
}

bool tml_fb_vector(const tml_fb_table *t, int field, size_t elem_size, tml_fb_vec *out)
{
    size_t p = field_pos(t, field, 4);
    uint64_t tgt;
    memset(out, 0, sizeof(*out));
    if (!p || !follow(t->fb, p, &tgt))
        return false;
    return open_vector(t->fb, tgt, elem_size, out);
}

bool tml_fb_string(const tml_fb_table *t, int field, const char **s, uint32_t *len)
{
    tml_fb_vec v;
    if (!tml_fb_vector(t, field, 1, &v))
        return false;
    *s = (const char *)t->fb->buf + v.pos;
    *len = v.n;
    return true;
}

bool tml_fb_vec_table(const tml_fb_vec *v, uint32_t i, tml_fb_table *out)
{
    uint64_t tgt;
    if (i >= v->n)
        return fail(v->fb, "vector index out of range");
    if (!follow(v->fb, v->pos + 4 * (size_t)i, &tgt))
        return false;
    return open_table(v->fb, tgt, out);
}

int32_t tml_fb_vec_i32(const tml_fb_vec *v, uint32_t i) { return (int32_t)rd32(v->fb->buf + v->pos + 4 * (size_t)i); }

int64_t tml_fb_vec_i64(const tml_fb_vec *v, uint32_t i) { return (int64_t)rd64(v->fb->buf + v->pos + 8 * (size_t)i); }

float tml_fb_vec_f32(const tml_fb_vec *v, uint32_t i)
{
    uint32_t u = rd32(v->fb->buf + v->pos + 4 * (size_t)i);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

const uint8_t *tml_fb_vec_bytes(const tml_fb_vec *v) { return v->fb->buf + v->pos; }
