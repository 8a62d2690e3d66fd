/*
 * tensor_io.c - tensor values and the files that carry them (see include/tml/tensor_io.h):
 * NumPy .npy (read and write), ONNX TensorProto .pb (read), whole-file reading.
 *
 * .npy layout: "\x93NUMPY", major, minor, header length (2 bytes LE in v1, 4 bytes in v2/v3),
 * then a Python dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and a newline, then the raw elements. NumPy offers no C reader, and the
 * dict is a tiny fixed grammar, so it is parsed here by hand: a bounded cursor over the header
 * bytes, exactly three known keys, quoted strings without escapes, True/False, and a tuple of
 * non-negative integers. Anything else is refused rather than guessed at.
 *
 * .pb files are one serialized TensorProto (the ONNX backend tests' input_N.pb/output_N.pb); they
 * are unpacked with the same protobuf-c schema the model importer uses, and decoded by the same
 * checked code (onnx_tensor.c), so the two readers cannot disagree about a tensor.
 *
 * The host is assumed little-endian; big-endian .npy data is refused, not byte-swapped.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_tensor.h"
#include "tml/tensor_io.h"

#define MAX_TENSOR_FILE ((size_t)1 << 30) /* 1 GiB */

static void seterr(char *err, size_t errsz, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void seterr(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    if (!err || !errsz)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

/* ---- values ---- */

void tml_value_release(tml_value *v)
{
    if (!v)
        return;
    free(v->data);
    memset(v, 0, sizeof(*v));
}

int64_t tml_value_numel(const tml_value *v)
{
    int64_t n = 1;
    int i;
    if (!v || v->rank < 0 || v->rank > TML_MAX_RANK)
        return -1;
    for (i = 0; i < v->rank; i++) {
        if (v->dims[i] < 0)
            return -1;
        if (v->dims[i] && n > TML_ONNX_MAX_NUMEL / v->dims[i])
            return -1;
        n *= v->dims[i];
    }
    return n;
}

tml_status tml_value_alloc(tml_value *v, tml_dtype dt, int rank, const int64_t *dims)
{
    size_t esz = tml_dtype_size(dt);
    int64_t n;
    int i;
    if (!v)
        return TML_ERR_ARG;
    memset(v, 0, sizeof(*v));
    if (esz == 0 || rank < 0 || rank > TML_MAX_RANK || (rank > 0 && !dims))
        return TML_ERR_ARG;
    v->dtype = dt;
    v->rank = rank;
    for (i = 0; i < rank; i++)
        v->dims[i] = dims[i];
    n = tml_value_numel(v);
    if (n < 0) {
        memset(v, 0, sizeof(*v));
        return TML_ERR_ARG;
    }
    v->nbytes = (size_t)n * esz;
    v->data = calloc(v->nbytes ? v->nbytes : 1, 1);
    if (!v->data) {
        memset(v, 0, sizeof(*v));
        return TML_ERR_NOMEM;
    }
    return TML_OK;
}

/* ---- files ---- */

tml_status tml_file_read(const char *path, size_t max, uint8_t **data, size_t *size, char *err,
                         size_t errsz)
{
    FILE *f;
    uint8_t *buf = NULL, *nb;
    size_t len = 0, cap = 0, n;
    int e;

    *data = NULL;
    *size = 0;
    f = fopen(path, "rb");
    if (!f) {
        seterr(err, errsz, "%s: cannot open: %s", path, strerror(errno));
        return TML_ERR_IO;
    }
    for (;;) {
        if (len == cap) {
            /* grow by doubling, reading at most max + 1 bytes to detect "too big" */
            size_t ncap = cap ? cap * 2 : 64 * 1024;
            size_t lim = max < (size_t)-2 ? max + 1 : max;
            if (cap >= lim)
                break;
            if (ncap > lim || ncap < cap)
                ncap = lim;
            nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                seterr(err, errsz, "%s: out of memory", path);
                return TML_ERR_NOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    e = ferror(f) ? errno : 0;
    fclose(f);
    if (e || (len == 0 && !buf)) {
        free(buf);
        seterr(err, errsz, "%s: read failed: %s", path, e ? strerror(e) : "unknown error");
        return TML_ERR_IO;
    }
    if (len > max) {
        free(buf);
        seterr(err, errsz, "%s: file is larger than the limit of %zu bytes", path, max);
        return TML_ERR_FIT;
    }
    buf[len] = 0;
    *data = buf;
    *size = len;
    return TML_OK;
}

/* ---- .npy ---- */

typedef struct {
    const char *descr; /* without the byte-order character */
    tml_dtype dt;
} npy_type;

static const npy_type npy_types[] = {
    {"f4", TML_DT_F32}, {"i1", TML_DT_S8},  {"u1", TML_DT_U8},  {"i2", TML_DT_S16},
    {"u2", TML_DT_U16}, {"i4", TML_DT_S32}, {"u4", TML_DT_U32}, {"i8", TML_DT_S64},
    {"u8", TML_DT_U64}, {"f8", TML_DT_F64}, {"b1", TML_DT_BOOL}, {"f2", TML_DT_F16},
};

/* A bounded cursor over the header dict. */
typedef struct {
    const char *p, *end;
} cur;

static void skip_ws(cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool eat(cur *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A quoted string ('...' or "...", no escapes) of at most size-1 bytes. */
static bool parse_str(cur *c, char *out, size_t size)
{
    char q;
    size_t n = 0;
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return false;
    q = *c->p++;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= size)
            return false;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return false;
    c->p++;
    out[n] = 0;
    return true;
}

static bool parse_word(cur *c, const char *w)
{
    size_t n = strlen(w);
    skip_ws(c);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* (), (3,), (2, 3) - also (3) and Python 2's 3L. Returns rank or -1 (-2: rank too high). */
static int parse_shape(cur *c, int64_t *dims)
{
    int rank = 0;
    if (!eat(c, '('))
        return -1;
    for (;;) {
        int64_t v = 0;
        int digits = 0;
        if (eat(c, ')'))
            return rank;
        skip_ws(c);
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            v = v * 10 + (*c->p++ - '0');
            if (++digits > 13) /* > 2^40 */
                return -1;
        }
        if (!digits)
            return -1;
        if (c->p < c->end && *c->p == 'L')
            c->p++;
        if (rank == TML_MAX_RANK)
            return -2;
        dims[rank++] = v;
        if (eat(c, ','))
            continue;
        if (eat(c, ')'))
            return rank;
        return -1;
    }
}

tml_status tml_npy_parse(const uint8_t *buf, size_t size, tml_value *out, char *err, size_t errsz)
{
    size_t hstart, hlen, payload, i;
    cur c;
    char key[32], descr[32];
    bool have_descr = false, have_fortran = false, have_shape = false, fortran = false;
    int64_t dims[TML_MAX_RANK];
    int rank = 0;
    const npy_type *ty = NULL;
    tml_status st;
    int64_t numel;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!buf || !out) {
        seterr(err, errsz, "npy: no input");
        return TML_ERR_ARG;
    }
    if (size < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) {
        seterr(err, errsz, "npy: not a .npy file (bad magic)");
        return TML_ERR_FORMAT;
    }
    if (buf[6] == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        hstart = 10;
    } else if (buf[6] == 2 || buf[6] == 3) {
        if (size < 12) {
            seterr(err, errsz, "npy: truncated header");
            return TML_ERR_FORMAT;
        }
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        hstart = 12;
    } else {
        seterr(err, errsz, "npy: version %d.%d is not supported", buf[6], buf[7]);
        return TML_ERR_UNSUPPORTED;
    }
    if (hlen > size - hstart) {
        seterr(err, errsz, "npy: header of %zu bytes runs past the end of the file", hlen);
        return TML_ERR_FORMAT;
    }
    c.p = (const char *)buf + hstart;
    c.end = c.p + hlen;
    if (!eat(&c, '{'))
        goto bad_header;
    while (!eat(&c, '}')) {
        if (!parse_str(&c, key, sizeof key) || !eat(&c, ':'))
            goto bad_header;
        if (strcmp(key, "descr") == 0 && !have_descr) {
            if (!parse_str(&c, descr, sizeof descr))
                goto bad_header;
            have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0 && !have_fortran) {
            if (parse_word(&c, "True"))
                fortran = true;
            else if (!parse_word(&c, "False"))
                goto bad_header;
            have_fortran = true;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            rank = parse_shape(&c, dims);
            if (rank == -2) {
                seterr(err, errsz, "npy: rank is above the maximum of %d", TML_MAX_RANK);
                return TML_ERR_UNSUPPORTED;
            }
            if (rank < 0)
                goto bad_header;
            have_shape = true;
        } else {
            seterr(err, errsz, "npy: unexpected or repeated header key '%s'", key);
            return TML_ERR_FORMAT;
        }
        if (!eat(&c, ',')) {
            if (!eat(&c, '}'))
                goto bad_header;
            break;
        }
    }
    skip_ws(&c);
    if (c.p != c.end || !have_descr || !have_fortran || !have_shape)
        goto bad_header;
    if (fortran) {
        seterr(err, errsz, "npy: fortran_order True is not supported (save with C order)");
        return TML_ERR_UNSUPPORTED;
    }
    if (strlen(descr) == 3)
        for (i = 0; i < sizeof npy_types / sizeof *npy_types; i++)
            if (strcmp(descr + 1, npy_types[i].descr) == 0)
                ty = &npy_types[i];
    if (!ty || !strchr("<>|=", descr[0])) {
        seterr(err, errsz, "npy: dtype '%s' is not supported", descr);
        return TML_ERR_UNSUPPORTED;
    }
    if (tml_dtype_size(ty->dt) > 1 && descr[0] != '<' && descr[0] != '=') {
        seterr(err, errsz, "npy: dtype '%s' is not little-endian", descr);
        return TML_ERR_UNSUPPORTED;
    }
    /* check the payload against the shape before allocating anything */
    numel = 1;
    for (i = 0; i < (size_t)rank; i++) {
        if (dims[i] > ((int64_t)1 << 31) || (dims[i] && numel > ((int64_t)1 << 40) / dims[i])) {
            seterr(err, errsz, "npy: shape is too large");
            return TML_ERR_FORMAT;
        }
        numel *= dims[i];
    }
    payload = size - hstart - hlen;
    if (payload != (size_t)numel * tml_dtype_size(ty->dt)) {
        seterr(err, errsz, "npy: data is %zu bytes, expected %zu (%lld x %s)", payload,
               (size_t)numel * tml_dtype_size(ty->dt), (long long)numel, tml_dtype_name(ty->dt));
        return TML_ERR_FORMAT;
    }
    st = tml_value_alloc(out, ty->dt, rank, dims);
    if (st) {
        seterr(err, errsz, "npy: %s", st == TML_ERR_NOMEM ? "out of memory" : "invalid shape");
        return st == TML_ERR_NOMEM ? st : TML_ERR_FORMAT;
    }
    if (payload)
        memcpy(out->data, buf + hstart + hlen, payload);
    if (out->dtype == TML_DT_BOOL)
        for (i = 0; i < payload; i++)
            ((uint8_t *)out->data)[i] = ((uint8_t *)out->data)[i] != 0;
    return TML_OK;
bad_header:
    seterr(err, errsz, "npy: malformed header dict");
    return TML_ERR_FORMAT;
}

tml_status tml_npy_read(const char *path, tml_value *out, char *err, size_t errsz)
{
    uint8_t *buf;
    size_t size;
    char e[300];
    tml_status st = tml_file_read(path, MAX_TENSOR_FILE, &buf, &size, err, errsz);
    if (st) {
        if (out)
            memset(out, 0, sizeof(*out));
        return st;
    }
    st = tml_npy_parse(buf, size, out, e, sizeof e);
    if (st)
        seterr(err, errsz, "%s: %s", path, e);
    free(buf);
    return st;
}

tml_status tml_npy_write(const char *path, const tml_value *v, char *err, size_t errsz)
{
    char hdr[256];
    size_t n = 0, i, total;
    int64_t numel;
    const char *code = NULL;
    FILE *f;
    bool ok;

    if (!v || !path) {
        seterr(err, errsz, "npy: no value or path");
        return TML_ERR_ARG;
    }
    for (i = 0; i < sizeof npy_types / sizeof *npy_types; i++)
        if (npy_types[i].dt == v->dtype)
            code = npy_types[i].descr;
    numel = tml_value_numel(v);
    if (!code) {
        seterr(err, errsz, "%s: dtype %s cannot be written to .npy", path,
               tml_dtype_name(v->dtype));
        return TML_ERR_UNSUPPORTED;
    }
    if (numel < 0 || v->nbytes != (size_t)numel * tml_dtype_size(v->dtype) ||
        (v->nbytes && !v->data)) {
        seterr(err, errsz, "%s: value shape and data size disagree", path);
        return TML_ERR_ARG;
    }
    n = (size_t)snprintf(hdr, sizeof hdr, "{'descr': '%c%s', 'fortran_order': False, 'shape': (",
                         tml_dtype_size(v->dtype) == 1 ? '|' : '<', code);
    for (i = 0; i < (size_t)v->rank; i++)
        n += (size_t)snprintf(hdr + n, sizeof hdr - n, i ? ", %lld" : "%lld",
                              (long long)v->dims[i]);
    n += (size_t)snprintf(hdr + n, sizeof hdr - n, "%s), }", v->rank == 1 ? "," : "");
    /* pad with spaces so the data starts on a 64-byte boundary; the header ends in '\n' */
    total = (10 + n + 1 + 63) / 64 * 64;
    while (10 + n + 1 < total)
        hdr[n++] = ' ';
    hdr[n++] = '\n';
    f = fopen(path, "wb");
    if (!f) {
        seterr(err, errsz, "%s: cannot create: %s", path, strerror(errno));
        return TML_ERR_IO;
    }
    ok = fwrite("\x93NUMPY\x01\x00", 1, 8, f) == 8 && fputc((int)(n & 0xff), f) != EOF &&
         fputc((int)(n >> 8), f) != EOF && fwrite(hdr, 1, n, f) == n &&
         (v->nbytes == 0 || fwrite(v->data, 1, v->nbytes, f) == v->nbytes);
    if (fclose(f) != 0)
        ok = false;
    if (!ok) {
        seterr(err, errsz, "%s: write failed: %s", path, strerror(errno));
        return TML_ERR_IO;
    }
    return TML_OK;
}

/* ---- .pb (one TensorProto) ---- */

tml_status tml_pb_parse(const uint8_t *buf, size_t size, tml_value *out, char *err, size_t errsz)
{
    Onnx__TensorProto *tp;
    tml_pb_budget budget;
    tml_onnx_tensor_info info;
    tml_status st;
    char e[300];
    size_t i;

    if (out)
        memset(out, 0, sizeof(*out));
    if ((!buf && size) || !out) {
        seterr(err, errsz, "pb: no input");
        return TML_ERR_ARG;
    }
    if (size > MAX_TENSOR_FILE) {
        seterr(err, errsz, "pb: tensor is larger than 1 GiB");
        return TML_ERR_FIT;
    }
    tml_pb_budget_init(&budget, size);
    tp = onnx__tensor_proto__unpack(&budget.base, size, buf);
    if (!tp) {
        seterr(err, errsz, "pb: not a TensorProto (protobuf parse failed: truncated or corrupt)");
        return TML_ERR_FORMAT;
    }
    st = tml_onnx_tensor_check(tp, &info, e, sizeof e);
    if (st) {
        seterr(err, errsz, "pb: %s", e);
        goto done;
    }
    st = tml_value_alloc(out, info.dtype, info.rank, info.dims);
    if (st) {
        seterr(err, errsz, "pb: out of memory");
        goto done;
    }
    tml_onnx_tensor_copy(tp, &info, out->data);
    if (out->dtype == TML_DT_BOOL)
        for (i = 0; i < out->nbytes; i++)
            ((uint8_t *)out->data)[i] = ((uint8_t *)out->data)[i] != 0;
    if (tp->name)
        snprintf(out->name, sizeof out->name, "%s", tp->name);
done:
    onnx__tensor_proto__free_unpacked(tp, &budget.base);
    return st;
}

tml_status tml_pb_read(const char *path, tml_value *out, char *err, size_t errsz)
{
    uint8_t *buf;
    size_t size;
    char e[400];
    tml_status st = tml_file_read(path, MAX_TENSOR_FILE, &buf, &size, err, errsz);
    if (st) {
        if (out)
            memset(out, 0, sizeof(*out));
        return st;
    }
    st = tml_pb_parse(buf, size, out, e, sizeof e);
    if (st)
        seterr(err, errsz, "%s: %s", path, e);
    free(buf);
    return st;
}
