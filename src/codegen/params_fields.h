/*
 * params_fields.h - the field layout of a kernel's params struct, read from the runtime
 * headers embedded in the compiler, so generated C can initialise params by field name.
 *
 * The kernel table knows only a params struct's type name and size. To print
 *   static const tml_conv_params P0 = { .n = 1, .c_in = 3, .pad = {0, 1, 1}, ... };
 * instead of anonymous words, the code generator parses that struct's declaration out of
 * runtime/include/tml/params_*.h (the same text it copies into the output). The grammar is the
 * one the params headers promise: `typedef struct { <int32_t|uint32_t|float> a, b[N]; ... }
 * name;`, b[N][M]` too, with N, M a number or a #define'd number. Anything else makes the parse fail and the
 * generator falls back to a word array - correct either way, only less readable.
 */
#ifndef TML_CODEGEN_PARAMS_FIELDS_H
#define TML_CODEGEN_PARAMS_FIELDS_H

#include <stdbool.h>

typedef enum { TML_FIELD_S32 = 0, TML_FIELD_U32 = 1, TML_FIELD_F32 = 2 } tml_field_type;

typedef struct {
    char name[64];
    tml_field_type type;
    int count;  /* elements: 1 for a scalar, N for name[N], N*M for name[N][M] */
    int ndim;   /* 0 scalar, 1 or 2 array dimensions */
    int dim[2]; /* the array dimensions */
    bool array; /* ndim > 0 */
} tml_param_field;

/* Parses struct type_name; returns the number of fields (<= max), or -1 if it cannot. */
int tml_params_fields_parse(const char *type_name, tml_param_field *out, int max);

#endif
