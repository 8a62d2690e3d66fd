/*
 * params_fields.c - parses a params struct declaration from the embedded runtime headers
 * (see params_fields.h for the accepted grammar and why). Trusted input (our own headers), but
 * every step is still bounded and any surprise returns -1 rather than a guess.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/params_fields.h"
#include "codegen/runtime_sources.h"

static bool is_params_header(const char *path)
{
    const char *dir = "runtime/include/tml/";
    size_t n = strlen(path), d = strlen(dir);
    return n > d + 2 && strncmp(path, dir, d) == 0 && strcmp(path + n - 2, ".h") == 0 &&
           !strchr(path + d, '/');
}

/* Value of `#define name <decimal>` in any runtime header; -1 if none. */
static long define_value(const char *name, size_t len)
{
    const tml_embedded_file *f;
    for (f = tml_runtime_sources; f->path; f++) {
        const char *s = (const char *)f->data;
        if (!is_params_header(f->path))
            continue;
        while ((s = strstr(s, "#define ")) != NULL) {
            s += 8;
            while (*s == ' ')
                s++;
            if (strncmp(s, name, len) == 0 && (s[len] == ' ' || s[len] == '\t')) {
                char *end;
                long v = strtol(s + len, &end, 10);
                if (end != s + len && v > 0 && v < 4096)
                    return v;
                return -1;
            }
        }
    }
    return -1;
}

/* Copies [a, b) into out without comments, NUL-terminated; false if it does not fit. */
static bool strip_comments(const char *a, const char *b, char *out, size_t outsz)
{
    size_t n = 0;
    while (a < b) {
        if (a + 1 < b && a[0] == '/' && a[1] == '*') {
            const char *e = strstr(a + 2, "*/");
            if (!e || e >= b)
                return false;
            a = e + 2;
            out[n++] = ' ';
        } else if (a + 1 < b && a[0] == '/' && a[1] == '/') {
            while (a < b && *a != '\n')
                a++;
        } else {
            out[n++] = *a++;
        }
        if (n + 1 >= outsz)
            return false;
    }
    out[n] = '\0';
    return true;
}

static char *trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static bool is_ident(const char *s)
{
    if (!*s || isdigit((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

/* The value of an array bound: a number, TML_MAX_RANK or a #define'd number; -1 if not. */
static long bound_value(char *sz)
{
    sz = trim(sz);
    if (isdigit((unsigned char)*sz)) {
        char *end;
        long v = strtol(sz, &end, 10);
        return (*end || v <= 0 || v > 4096) ? -1 : v;
    }
    if (!is_ident(sz))
        return -1;
    return strcmp(sz, "TML_MAX_RANK") == 0 ? 8 : define_value(sz, strlen(sz));
}

/* Parses one declarator "name", "name[N]" or "name[N][M]" into f. */
static bool parse_declarator(char *d, tml_field_type type, tml_param_field *f)
{
    char *br;
    d = trim(d);
    br = strchr(d, '[');
    f->type = type;
    f->count = 1;
    f->ndim = 0;
    f->array = false;
    if (br) {
        char *p = br;
        while (*p == '[') {
            char *close = strchr(p, ']');
            long v;
            if (!close || f->ndim == 2)
                return false;
            *close = '\0';
            v = bound_value(p + 1);
            if (v <= 0)
                return false;
            f->dim[f->ndim++] = (int)v;
            f->count *= (int)v;
            p = close + 1;
            while (isspace((unsigned char)*p))
                p++;
        }
        if (*p)
            return false;
        *br = '\0';
        f->array = true;
    }
    d = trim(d);
    if (!is_ident(d) || strlen(d) >= sizeof(f->name))
        return false;
    strcpy(f->name, d);
    return true;
}

int tml_params_fields_parse(const char *type_name, tml_param_field *out, int max)
{
    const tml_embedded_file *f;
    size_t tl = strlen(type_name);
    for (f = tml_runtime_sources; f->path; f++) {
        const char *text = (const char *)f->data, *s = text;
        if (!is_params_header(f->path))
            continue;
        while ((s = strstr(s, type_name)) != NULL) {
            const char *close = s, *open;
            const char *after = s + tl;
            char body[8192], *decl, *save = NULL;
            int n = 0;
            while (*after == ' ')
                after++;
            /* "} type_name;" */
            while (close > text && isspace((unsigned char)close[-1]))
                close--;
            if (*after != ';' || close == text || close[-1] != '}') {
                s += tl;
                continue;
            }
            close--;
            for (open = close; open > text && *open != '{'; open--)
                if (open != close && *open == '}')
                    return -1;
            if (*open != '{' || !strip_comments(open + 1, close, body, sizeof(body)))
                return -1;
            for (decl = strtok_r(body, ";", &save); decl; decl = strtok_r(NULL, ";", &save)) {
                char *d = trim(decl), *rest, *one, *save2 = NULL;
                tml_field_type type;
                if (!*d)
                    continue;
                if (strncmp(d, "int32_t", 7) == 0 && isspace((unsigned char)d[7])) {
                    type = TML_FIELD_S32;
                    rest = d + 7;
                } else if (strncmp(d, "uint32_t", 8) == 0 && isspace((unsigned char)d[8])) {
                    type = TML_FIELD_U32;
                    rest = d + 8;
                } else if (strncmp(d, "float", 5) == 0 && isspace((unsigned char)d[5])) {
                    type = TML_FIELD_F32;
                    rest = d + 5;
                } else {
                    return -1;
                }
                for (one = strtok_r(rest, ",", &save2); one; one = strtok_r(NULL, ",", &save2)) {
                    if (n >= max || !parse_declarator(one, type, &out[n]))
                        return -1;
                    n++;
                }
            }
            return n;
        }
    }
    return -1;
}
