/*
 * strbuf.h - a growable string for the code generator (host side only).
 *
 * Generated files are assembled in memory with printf-style appends and written in one go, so
 * a failure halfway leaves no half-written file behind and the writer can report the file
 * name once. Out of memory is sticky: later appends do nothing and tml_sb_ok() says false.
 */
#ifndef TML_CODEGEN_STRBUF_H
#define TML_CODEGEN_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *s;      /* NUL-terminated contents (NULL until the first append) */
    size_t len;   /* bytes, without the NUL */
    size_t cap;
    bool failed;  /* an allocation failed */
} tml_sb;

void tml_sb_printf(tml_sb *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void tml_sb_append(tml_sb *b, const char *s, size_t n);
bool tml_sb_ok(const tml_sb *b);
void tml_sb_free(tml_sb *b);

#endif
