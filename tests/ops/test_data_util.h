/*
 * test_data_util.h - graph-building helpers shared by the data-family unit tests
 * (test_data_*.c): one-liners for nodes, attributes and assertions, so each test reads as
 * the hand-computed case it checks. Include after cmocka.h and support/node_eval.h.
 */
#ifndef TML_TEST_DATA_UTIL_H
#define TML_TEST_DATA_UTIL_H

#include <stdio.h>
#include <string.h>

/* ---- small graph-building helpers (test-local) ---- */

static inline int mk_node(tml_graph *g, tml_op op, const char *name, int n_in, const int *in, int n_out)
{
    int out[4], i;
    char nm[64];
    for (i = 0; i < n_out; i++) {
        snprintf(nm, sizeof nm, "%s_out%d", name, i);
        out[i] = tml_graph_add_tensor(g, nm);
    }
    return tml_graph_add_node(g, op, name, n_in, in, n_out, out);
}

static inline void attr_i(tml_graph *g, int n, const char *name, int64_t v)
{
    tml_attr *a = tml_node_add_attr(g, n, name, TML_ATTR_INT);
    a->i = v;
}

static inline void attr_f(tml_graph *g, int n, const char *name, float v)
{
    tml_attr *a = tml_node_add_attr(g, n, name, TML_ATTR_FLOAT);
    a->f = v;
}

static inline void attr_s(tml_graph *g, int n, const char *name, const char *v)
{
    tml_attr *a = tml_node_add_attr(g, n, name, TML_ATTR_STRING);
    a->s = tml_graph_strdup(g, v);
}

static inline void attr_is(tml_graph *g, int n, const char *name, int cnt, const int64_t *v)
{
    tml_attr *a = tml_node_add_attr(g, n, name, TML_ATTR_INTS);
    a->n = cnt;
    a->ints = tml_graph_memdup(g, v, (size_t)cnt * sizeof(int64_t));
}

static inline void attr_fs(tml_graph *g, int n, const char *name, int cnt, const float *v)
{
    tml_attr *a = tml_node_add_attr(g, n, name, TML_ATTR_FLOATS);
    a->n = cnt;
    a->floats = tml_graph_memdup(g, v, (size_t)cnt * sizeof(float));
}

static inline tml_tensor *out0(tml_graph *g, int n) { return tml_node_output(g, &g->nodes[n], 0); }

/* Asserts output 0 has the given shape. */
static inline void assert_shape(tml_graph *g, int n, int rank, const int64_t *dims)
{
    tml_tensor *t = out0(g, n);
    int i;
    assert_int_equal(t->rank, rank);
    for (i = 0; i < rank; i++)
        assert_int_equal(t->dims[i], dims[i]);
}

static inline void assert_f32(const tml_tensor *t, int cnt, const float *want)
{
    int i;
    assert_int_equal(tml_tensor_numel(t), cnt);
    for (i = 0; i < cnt; i++)
        assert_float_equal(((const float *)t->data)[i], want[i], 0.0f);
}

/* Asserts the node fails with status st and a message naming the node. */
static inline void assert_fails(tml_graph *g, int n, tml_status st, const char *needle)
{
    assert_int_equal(tev_eval(g, n), st);
    assert_non_null(strstr(tml_graph_error(g), g->nodes[n].name));
    if (needle)
        assert_non_null(strstr(tml_graph_error(g), needle));
}

#endif
