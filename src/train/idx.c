/*
 * idx.c - IDX dataset files (MNIST, Fashion-MNIST), gzip'd or plain, and a seeded batch
 * iterator over them.
 *
 * IDX: a 4-byte magic (two zero bytes, a type code, the rank), rank big-endian u32 dims, then
 * the payload. Only u8 payloads (0x08) of rank 1 (labels) or 3 (images) are accepted. Files
 * are user input: the decompressed size is bounded (TML_IDX_MAX_BYTES), every dimension is
 * checked against the bytes actually present before anything is allocated or read, and the
 * parser has a fuzz target (fuzz/fuzz_idx.c). zlib's gzread reads gzip and plain files alike.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "tml/train.h"

static tml_status fail(char *err, size_t errsz, tml_status st, const char *msg, const char *s)
{
    if (err && errsz)
        snprintf(err, errsz, msg, s ? s : "");
    return st;
}

tml_status tml_idx_parse(const uint8_t *data, size_t size, int *rank, int64_t dims[3],
                         uint8_t **out, char *err, size_t errsz)
{
    int r, i;
    uint64_t n = 1;
    *out = NULL;
    if (size < 4)
        return fail(err, errsz, TML_ERR_FORMAT, "idx: file shorter than its header%s", NULL);
    if (data[0] != 0 || data[1] != 0)
        return fail(err, errsz, TML_ERR_FORMAT, "idx: bad magic (not an IDX file)%s", NULL);
    if (data[2] != 0x08)
        return fail(err, errsz, TML_ERR_UNSUPPORTED,
                    "idx: unsupported element type (only unsigned bytes)%s", NULL);
    r = data[3];
    if (r != 1 && r != 3)
        return fail(err, errsz, TML_ERR_UNSUPPORTED, "idx: unsupported rank (1 or 3)%s", NULL);
    if (size < 4 + 4 * (size_t)r)
        return fail(err, errsz, TML_ERR_FORMAT, "idx: truncated header%s", NULL);
    for (i = 0; i < r; i++) {
        const uint8_t *p = data + 4 + 4 * i;
        uint32_t d = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (d == 0 || d > TML_IDX_MAX_BYTES)
            return fail(err, errsz, TML_ERR_FORMAT, "idx: dimension out of range%s", NULL);
        dims[i] = d;
        n *= d;
        if (n > TML_IDX_MAX_BYTES)
            return fail(err, errsz, TML_ERR_FORMAT, "idx: payload too large%s", NULL);
    }
    if (size - (4 + 4 * (size_t)r) < n)
        return fail(err, errsz, TML_ERR_FORMAT, "idx: payload truncated%s", NULL);
    *out = malloc(n ? n : 1);
    if (!*out)
        return fail(err, errsz, TML_ERR_NOMEM, "idx: out of memory%s", NULL);
    memcpy(*out, data + 4 + 4 * r, n);
    *rank = r;
    return TML_OK;
}

tml_status tml_file_read_maybe_gz(const char *path, uint8_t **out, size_t *size, char *err,
                                  size_t errsz)
{
    gzFile f = gzopen(path, "rb");
    size_t cap = 1 << 20, len = 0;
    uint8_t *buf;
    *out = NULL;
    *size = 0;
    if (!f)
        return fail(err, errsz, TML_ERR_IO, "cannot open '%s'", path);
    buf = malloc(cap);
    if (!buf) {
        gzclose(f);
        return fail(err, errsz, TML_ERR_NOMEM, "'%s': out of memory", path);
    }
    for (;;) {
        int k;
        if (len == cap) {
            uint8_t *nb;
            if (cap >= TML_IDX_MAX_BYTES + 1) {
                free(buf);
                gzclose(f);
                return fail(err, errsz, TML_ERR_FORMAT, "'%s': file too large", path);
            }
            cap *= 2;
            nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                gzclose(f);
                return fail(err, errsz, TML_ERR_NOMEM, "'%s': out of memory", path);
            }
            buf = nb;
        }
        k = gzread(f, buf + len, (unsigned)(cap - len));
        if (k < 0) {
            free(buf);
            gzclose(f);
            return fail(err, errsz, TML_ERR_FORMAT, "'%s': read or decompression error", path);
        }
        if (k == 0)
            break;
        len += (size_t)k;
        if (len > TML_IDX_MAX_BYTES) {
            free(buf);
            gzclose(f);
            return fail(err, errsz, TML_ERR_FORMAT, "'%s': file too large", path);
        }
    }
    gzclose(f);
    *out = buf;
    *size = len;
    return TML_OK;
}

static tml_status load_one(const char *path, int *rank, int64_t dims[3], uint8_t **payload,
                           char *err, size_t errsz)
{
    uint8_t *raw;
    size_t size;
    char sub[256];
    tml_status st = tml_file_read_maybe_gz(path, &raw, &size, err, errsz);
    if (st)
        return st;
    st = tml_idx_parse(raw, size, rank, dims, payload, sub, sizeof sub);
    free(raw);
    if (st && err && errsz)
        snprintf(err, errsz, "'%s': %s", path, sub);
    return st;
}

tml_status tml_dataset_load_idx(tml_dataset *ds, const char *images, const char *labels,
                                char *err, size_t errsz)
{
    int ri, rl, i;
    int64_t di[3] = {0}, dl[3] = {0};
    uint8_t *pi = NULL, *pl = NULL;
    int64_t n, hw;
    tml_status st;
    memset(ds, 0, sizeof *ds);
    st = load_one(images, &ri, di, &pi, err, errsz);
    if (st)
        return st;
    st = load_one(labels, &rl, dl, &pl, err, errsz);
    if (st) {
        free(pi);
        return st;
    }
    if (ri != 3 || rl != 1 || di[0] != dl[0]) {
        free(pi);
        free(pl);
        return fail(err, errsz, TML_ERR_FORMAT,
                    "'%s': expected images (N,H,W) and labels (N) with the same N", images);
    }
    n = di[0];
    hw = di[1] * di[2];
    ds->x = malloc((size_t)(n * hw) * sizeof(float));
    if (!ds->x) {
        free(pi);
        free(pl);
        return fail(err, errsz, TML_ERR_NOMEM, "'%s': out of memory", images);
    }
    for (i = 0; i < n * hw; i++)
        ds->x[i] = pi[i] * (1.0f / 255.0f);
    free(pi);
    ds->y = pl;
    ds->n = (int)n;
    ds->h = (int)di[1];
    ds->w = (int)di[2];
    ds->n_classes = 0;
    for (i = 0; i < n; i++)
        if (pl[i] + 1 > ds->n_classes)
            ds->n_classes = pl[i] + 1;
    return TML_OK;
}

tml_status tml_dataset_load_fashion_mnist(tml_dataset *ds, const char *dir, bool train,
                                          char *err, size_t errsz)
{
    char im[1024], lb[1024];
    const char *d = dir ? dir : "/usr/share/datasets/fashion-mnist";
    const char *pre = train ? "train" : "t10k";
    snprintf(im, sizeof im, "%s/%s-images-idx3-ubyte.gz", d, pre);
    snprintf(lb, sizeof lb, "%s/%s-labels-idx1-ubyte.gz", d, pre);
    return tml_dataset_load_idx(ds, im, lb, err, errsz);
}

void tml_dataset_release(tml_dataset *ds)
{
    free(ds->x);
    free(ds->y);
    memset(ds, 0, sizeof *ds);
}

void tml_rng_init(tml_rng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t tml_rng_next(tml_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float tml_rng_uniform(tml_rng *r)
{
    return (float)(tml_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

float tml_rng_normal(tml_rng *r)
{
    double u1 = ((double)(tml_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(tml_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

tml_status tml_batch_iter_init(tml_batch_iter *it, const tml_dataset *ds, int batch,
                               bool shuffle, uint64_t seed)
{
    int i;
    memset(it, 0, sizeof *it);
    if (batch <= 0 || ds->n <= 0)
        return TML_ERR_ARG;
    it->order = malloc((size_t)ds->n * sizeof(int));
    if (!it->order)
        return TML_ERR_NOMEM;
    for (i = 0; i < ds->n; i++)
        it->order[i] = i;
    it->ds = ds;
    it->batch = batch;
    it->shuffle = shuffle;
    tml_rng_init(&it->rng, seed);
    tml_batch_iter_reset(it);
    return TML_OK;
}

void tml_batch_iter_reset(tml_batch_iter *it)
{
    int i;
    it->pos = 0;
    if (!it->shuffle)
        return;
    for (i = it->ds->n - 1; i > 0; i--) {
        int j = (int)(tml_rng_next(&it->rng) % (uint64_t)(i + 1));
        int tmp = it->order[i];
        it->order[i] = it->order[j];
        it->order[j] = tmp;
    }
}

int tml_batch_iter_next(tml_batch_iter *it, float *x, uint8_t *y)
{
    const tml_dataset *ds = it->ds;
    size_t hw = (size_t)ds->h * ds->w;
    int k = 0;
    while (k < it->batch && it->pos < ds->n) {
        int s = it->order[it->pos++];
        memcpy(x + (size_t)k * hw, ds->x + (size_t)s * hw, hw * sizeof(float));
        y[k] = ds->y[s];
        k++;
    }
    return k;
}

void tml_batch_iter_release(tml_batch_iter *it)
{
    free(it->order);
    it->order = NULL;
}
