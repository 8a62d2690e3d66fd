/*
 * rt.c - status and dtype helpers of the runtime. Tables, no state.
 */
#include "tml/rt.h"

const char *tml_status_str(tml_status s)
{
    switch (s) {
    case TML_OK: return "ok";
    case TML_ERR: return "error";
    case TML_ERR_NOMEM: return "out of memory";
    case TML_ERR_IO: return "i/o error";
    case TML_ERR_FORMAT: return "malformed input";
    case TML_ERR_UNSUPPORTED: return "unsupported";
    case TML_ERR_SHAPE: return "shape mismatch";
    case TML_ERR_ARG: return "bad argument";
    case TML_ERR_NOT_FOUND: return "not found";
    case TML_ERR_FIT: return "does not fit";
    case TML_ERR_VERIFY: return "verification failed";
    case TML_ERR_STATE: return "invalid state";
    }
    return "unknown status";
}

size_t tml_dtype_size(tml_dtype dt)
{
    switch (dt) {
    case TML_DT_U8: case TML_DT_S8: case TML_DT_BOOL: return 1;
    case TML_DT_U16: case TML_DT_S16: case TML_DT_F16: return 2;
    case TML_DT_F32: case TML_DT_S32: case TML_DT_U32: return 4;
    case TML_DT_S64: case TML_DT_F64: case TML_DT_U64: return 8;
    case TML_DT_UNDEF: case TML_DT_STRING: return 0;
    }
    return 0;
}

const char *tml_dtype_name(tml_dtype dt)
{
    switch (dt) {
    case TML_DT_F32: return "float32";
    case TML_DT_U8: return "uint8";
    case TML_DT_S8: return "int8";
    case TML_DT_U16: return "uint16";
    case TML_DT_S16: return "int16";
    case TML_DT_S32: return "int32";
    case TML_DT_S64: return "int64";
    case TML_DT_STRING: return "string";
    case TML_DT_BOOL: return "bool";
    case TML_DT_F16: return "float16";
    case TML_DT_F64: return "float64";
    case TML_DT_U32: return "uint32";
    case TML_DT_U64: return "uint64";
    case TML_DT_UNDEF: return "undefined";
    }
    return "?";
}
