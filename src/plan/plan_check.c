/*
 * plan_check.c - tml_plan_check: proves a plan's memory placement safe from the plan alone.
 *
 * It does not trust the planner's own bookkeeping (the tensors' first/last fields): lifetimes
 * are derived again from the steps - a buffer lives from the step that first writes it (graph
 * inputs: before step 0) to the step that last reads it (graph outputs: after the last step).
 * Then: every tensor and scratch area lies inside the arena or the weights; every step's
 * kernel accepts its parameters and buffer sizes (the kernel's _check); two buffers that live
 * at the same step never share a byte. Tensors in one storage group (plan->share: a view and
 * its input, an in-place output and what it overwrote) are one buffer, at one offset; inside a
 * group, a later write may only land on bytes nobody reads afterwards, and only the writing
 * step itself may read them at that step (in-place). A plan filled in by hand (share == NULL)
 * gets the strict check: no sharing at all.
 *
 * Quadratic in the number of buffers, which is fine for the graphs a microcontroller runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tml/plan.h"

#define FAIL(...)                                                                              \
    do {                                                                                       \
        if (err && errsz)                                                                      \
            snprintf(err, errsz, __VA_ARGS__);                                                 \
        st = TML_ERR_VERIFY;                                                                   \
        goto done;                                                                             \
    } while (0)

static const char *tname(const tml_plan *p, int i)
{
    return p->tensors[i].name ? p->tensors[i].name : "?";
}

static bool step_reads(const tml_plan_step *s, int t)
{
    int j;
    for (j = 0; j < s->n_in; j++)
        if (s->in[j] == t)
            return true;
    return false;
}

tml_status tml_plan_check(const tml_plan *p, char *err, size_t errsz)
{
    tml_status st = TML_OK;
    int n, S, i, j, s;
    int *writer = NULL, *lastread = NULL, *firstread = NULL, *root = NULL;
    int64_t *rfirst = NULL, *rlast = NULL; /* per root: derived lifetime */
    uint32_t *rbytes = NULL;
    char *isin = NULL;

    if (err && errsz)
        err[0] = 0;
    if (!p)
        return TML_ERR_ARG;
    n = p->n_tensors;
    S = p->n_steps;
    if (n < 0 || S < 0 || (n > 0 && !p->tensors) || (S > 0 && !p->steps))
        FAIL("plan has %d tensors and %d steps but no tables", n, S);
    writer = malloc(((size_t)n + 1) * sizeof(int));
    lastread = malloc(((size_t)n + 1) * sizeof(int));
    firstread = malloc(((size_t)n + 1) * sizeof(int));
    root = malloc(((size_t)n + 1) * sizeof(int));
    rfirst = malloc(((size_t)n + 1) * sizeof(int64_t));
    rlast = malloc(((size_t)n + 1) * sizeof(int64_t));
    rbytes = malloc(((size_t)n + 1) * sizeof(uint32_t));
    isin = malloc((size_t)n + 1);
    if (!writer || !lastread || !firstread || !root || !rfirst || !rlast || !rbytes || !isin) {
        st = TML_ERR_NOMEM;
        goto done;
    }

    /* tensors: shape, bytes, bounds */
    for (i = 0; i < n; i++) {
        const tml_plan_tensor *t = &p->tensors[i];
        uint64_t b = tml_dtype_size(t->dtype);
        if (t->rank < 0 || t->rank > TML_MAX_RANK)
            FAIL("tensor '%s': rank %d", tname(p, i), t->rank);
        for (j = 0; j < t->rank; j++) {
            if (t->dims[j] < 0)
                FAIL("tensor '%s': negative dimension", tname(p, i));
            b *= (uint64_t)t->dims[j];
            if (b > UINT32_MAX)
                break;
        }
        if (b != t->bytes)
            FAIL("tensor '%s': %lu bytes but its shape and dtype make %llu", tname(p, i),
                 (unsigned long)t->bytes, (unsigned long long)b);
        if (t->storage == TML_STORE_ARENA) {
            if ((uint64_t)t->offset + t->bytes > p->arena_size)
                FAIL("tensor '%s' ([%lu, %llu)) exceeds the arena of %lu bytes", tname(p, i),
                     (unsigned long)t->offset, (unsigned long long)t->offset + t->bytes,
                     (unsigned long)p->arena_size);
        } else if (t->storage == TML_STORE_CONST) {
            if ((uint64_t)t->offset + t->bytes > p->weights_size || (t->bytes && !p->weights))
                FAIL("constant '%s' ([%lu, %llu)) exceeds the weights of %lu bytes", tname(p, i),
                     (unsigned long)t->offset, (unsigned long long)t->offset + t->bytes,
                     (unsigned long)p->weights_size);
        } else {
            FAIL("tensor '%s': unknown storage %d", tname(p, i), (int)t->storage);
        }
        writer[i] = -1;
        lastread[i] = -1;
        firstread[i] = -1;
        root[i] = i;
    }
    if (p->n_inputs < 0 || p->n_inputs > TML_PLAN_MAX_IO || p->n_outputs < 0 ||
        p->n_outputs > TML_PLAN_MAX_IO)
        FAIL("plan has %d inputs and %d outputs", p->n_inputs, p->n_outputs);
    for (i = 0; i < p->n_inputs + p->n_outputs; i++) {
        int t = i < p->n_inputs ? p->inputs[i] : p->outputs[i - p->n_inputs];
        if (t < 0 || t >= n || p->tensors[t].storage != TML_STORE_ARENA)
            FAIL("graph %s %d is not an arena tensor", i < p->n_inputs ? "input" : "output",
                 i < p->n_inputs ? i : i - p->n_inputs);
    }

    /* steps: indices, kernels, scratch */
    for (s = 0; s < S; s++) {
        const tml_plan_step *ps = &p->steps[s];
        const tml_kernel_info *ki = tml_kernel_get_info(ps->kernel);
        uint32_t ib[TML_PLAN_MAX_IO], ob[TML_PLAN_MAX_IO];
        if (!ki || ps->kernel == TML_K_NONE)
            FAIL("step %d: invalid kernel %d", s, (int)ps->kernel);
        if (ps->n_in < 0 || ps->n_in > TML_PLAN_MAX_IO || ps->n_out < 0 ||
            ps->n_out > TML_PLAN_MAX_IO)
            FAIL("step %d (%s): %d inputs, %d outputs", s, ki->name, ps->n_in, ps->n_out);
        if ((uint64_t)ps->scratch_offset + ps->scratch_bytes > p->arena_size)
            FAIL("step %d (%s): scratch exceeds the arena", s, ki->name);
        if (ps->params_size && !ps->params)
            FAIL("step %d (%s): no parameters", s, ki->name);
        for (j = 0; j < ps->n_in; j++) {
            int t = ps->in[j];
            if (t < -1 || t >= n)
                FAIL("step %d (%s): input %d out of range", s, ki->name, j);
            ib[j] = t >= 0 ? p->tensors[t].bytes : 0;
            if (t >= 0) {
                lastread[t] = s;
                if (firstread[t] < 0)
                    firstread[t] = s;
            }
        }
        for (j = 0; j < ps->n_out; j++) {
            int t = ps->out[j];
            if (t >= n)
                FAIL("step %d (%s): output %d out of range", s, ki->name, j);
            if (t < 0)
                FAIL("step %d (%s): output %d is absent", s, ki->name, j);
            ob[j] = p->tensors[t].bytes;
            if (p->tensors[t].storage != TML_STORE_ARENA)
                FAIL("step %d (%s) writes constant '%s'", s, ki->name, tname(p, t));
            if (writer[t] >= 0)
                FAIL("tensor '%s' is written by steps %d and %d", tname(p, t), writer[t], s);
            writer[t] = s;
        }
        if (ki->check && ki->check(ps->params, ps->params_size, ib, ps->n_in, ob, ps->n_out,
                                   ps->scratch_bytes) != TML_OK)
            FAIL("step %d (%s): the kernel rejects its parameters for these buffer sizes", s,
                 ki->name);
    }
    for (i = 0; i < p->n_inputs; i++)
        if (writer[p->inputs[i]] >= 0)
            FAIL("graph input '%s' is written by step %d", tname(p, p->inputs[i]),
                 writer[p->inputs[i]]);
    for (i = 0; i < p->n_outputs; i++)
        lastread[p->outputs[i]] = S; /* read by the caller after the last step */

    /* storage groups */
    if (p->share) {
        for (i = 0; i < n; i++) {
            int r = p->share[i];
            if (r < 0 || r >= n || p->share[r] != r)
                FAIL("tensor '%s': invalid share %d", tname(p, i), r);
            if (p->tensors[r].storage != p->tensors[i].storage)
                FAIL("tensor '%s' shares storage with '%s' of another kind", tname(p, i),
                     tname(p, r));
            if (p->tensors[i].storage == TML_STORE_ARENA && p->tensors[r].offset != p->tensors[i].offset)
                FAIL("tensor '%s' shares the bytes of '%s' but not its offset", tname(p, i),
                     tname(p, r));
            root[i] = r;
        }
    }
    for (i = 0; i < n; i++) {
        rfirst[i] = INT64_MAX;
        rlast[i] = INT64_MIN;
        rbytes[i] = 0;
        isin[i] = 0;
    }
    for (i = 0; i < p->n_inputs; i++)
        isin[p->inputs[i]] = 1;
    for (i = 0; i < n; i++) {
        int r = root[i];
        int64_t f = isin[i] ? -1 : writer[i];
        if (p->tensors[i].storage != TML_STORE_ARENA)
            continue;
        if (f >= -1 && (isin[i] || writer[i] >= 0) && f < rfirst[r])
            rfirst[r] = f;
        if (lastread[i] > rlast[r])
            rlast[r] = lastread[i];
        if (p->tensors[i].bytes > rbytes[r])
            rbytes[r] = p->tensors[i].bytes;
    }
    /* every read comes after the bytes were first written */
    for (i = 0; i < n; i++) {
        int r = root[i];
        int64_t fr = firstread[i] >= 0 ? firstread[i] : (lastread[i] == S ? S : -1);
        if (p->tensors[i].storage != TML_STORE_ARENA || fr < 0 || p->tensors[i].bytes == 0)
            continue; /* an empty tensor has nothing to write */
        if (rfirst[r] == INT64_MAX)
            FAIL("tensor '%s' is read (step %lld) but never written", tname(p, i), (long long)fr);
        if (fr <= rfirst[r])
            FAIL("tensor '%s' is read at step %lld, before its bytes are written at step %lld",
                 tname(p, i), (long long)fr, (long long)rfirst[r]);
    }
    /* inside a group, a write lands only on bytes nobody reads afterwards */
    for (i = 0; i < n; i++) {
        int w = writer[i], m;
        if (w < 0 || !p->share)
            continue;
        for (m = 0; m < n; m++) {
            if (m == i || root[m] != root[i] || p->tensors[m].storage != TML_STORE_ARENA)
                continue;
            if (!(isin[m] || (writer[m] >= 0 && writer[m] < w)))
                continue;
            if (lastread[m] > w || (lastread[m] == w && !step_reads(&p->steps[w], m)))
                FAIL("step %d writes '%s' over '%s' (shared bytes) which is still read at step %d",
                     w, tname(p, i), tname(p, m), lastread[m]);
        }
    }
    /* different buffers live at the same step never share a byte */
    {
        int n_reg = 0, a, c;
        struct reg {
            uint64_t off, end;
            int64_t first, last;
            int tensor; /* or -1 - step for scratch */
        } *rg = malloc(((size_t)n + (size_t)S + 1) * sizeof(*rg));
        if (!rg) {
            st = TML_ERR_NOMEM;
            goto done;
        }
        for (i = 0; i < n; i++) {
            if (p->tensors[i].storage != TML_STORE_ARENA || root[i] != i || !rbytes[i] ||
                rfirst[i] == INT64_MAX)
                continue;
            rg[n_reg].off = p->tensors[i].offset;
            rg[n_reg].end = (uint64_t)p->tensors[i].offset + rbytes[i];
            rg[n_reg].first = rfirst[i];
            rg[n_reg].last = rlast[i] > rfirst[i] ? rlast[i] : rfirst[i];
            rg[n_reg].tensor = i;
            n_reg++;
        }
        for (s = 0; s < S; s++) {
            if (!p->steps[s].scratch_bytes)
                continue;
            rg[n_reg].off = p->steps[s].scratch_offset;
            rg[n_reg].end = (uint64_t)p->steps[s].scratch_offset + p->steps[s].scratch_bytes;
            rg[n_reg].first = rg[n_reg].last = s;
            rg[n_reg].tensor = -1 - s;
            n_reg++;
        }
        for (a = 0; a < n_reg && !st; a++)
            for (c = a + 1; c < n_reg && !st; c++) {
                char na[96], nc[96];
                if (rg[a].first > rg[c].last || rg[c].first > rg[a].last ||
                    rg[a].off >= rg[c].end || rg[c].off >= rg[a].end)
                    continue;
                if (rg[a].tensor >= 0)
                    snprintf(na, sizeof(na), "tensor '%s'", tname(p, rg[a].tensor));
                else
                    snprintf(na, sizeof(na), "scratch of step %d", -1 - rg[a].tensor);
                if (rg[c].tensor >= 0)
                    snprintf(nc, sizeof(nc), "tensor '%s'", tname(p, rg[c].tensor));
                else
                    snprintf(nc, sizeof(nc), "scratch of step %d", -1 - rg[c].tensor);
                if (err && errsz)
                    snprintf(err, errsz,
                             "%s ([%llu, %llu), steps %lld..%lld) and %s ([%llu, %llu), steps "
                             "%lld..%lld) overlap",
                             na, (unsigned long long)rg[a].off, (unsigned long long)rg[a].end,
                             (long long)rg[a].first, (long long)rg[a].last, nc,
                             (unsigned long long)rg[c].off, (unsigned long long)rg[c].end,
                             (long long)rg[c].first, (long long)rg[c].last);
                st = TML_ERR_VERIFY;
            }
        free(rg);
    }
done:
    free(writer);
    free(lastread);
    free(firstread);
    free(root);
    free(rfirst);
    free(rlast);
    free(rbytes);
    free(isin);
    return st;
}
