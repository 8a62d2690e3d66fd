/*
 * cmd_conformance.c - `tmlaas conformance DIR...`: runs ONNX backend test folders through both
 * carriers of a plan and compares with the expected outputs.
 *
 * A test folder holds model.onnx and test_data_set_N/{input_K.pb, output_K.pb}. For each data
 * set the model is compiled with the data set's input shapes, then run
 *   1. through the interpreter (the runtime's executor over the serialized model package), and
 *   2. through the generated C, compiled by the host compiler with -Wall -Wextra -Werror and run
 *      as a separate program on raw input files.
 * Floats must satisfy |a-b| <= 1e-4 + 1e-3*|b| (NaN matches NaN); integers and bools must be
 * equal. Each test runs in a child process with a time limit, so a crash or hang in one test is
 * reported as that test's FAIL and the run goes on. Unsupported ops, attributes or dtypes are
 * SKIPs with the reason.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "tml/codegen.h"
#include "tml/compiler.h"
#include "tml/import.h"
#include "tml/interp.h"
#include "tml/tensor_io.h"

#define MAX_IO 16
#define RESULT_MAX 1024

static const char help[] =
    "usage: tmlaas conformance DIR... [options]\n"
    "\n"
    "Each DIR is an ONNX backend test folder (model.onnx, test_data_set_N/input_K.pb and\n"
    "output_K.pb) or a folder containing such folders (searched recursively). Every test runs\n"
    "through the interpreter and through the generated C compiled with the host compiler.\n"
    "Prints PASS, FAIL (with the largest error) or SKIP (with the reason) per test, then\n"
    "'N passed, N failed, N skipped'. Exits non-zero if any test failed.\n"
    "\n"
    "options:\n"
    "  -j, --jobs N       tests run in parallel (default: number of CPUs)\n"
    "  --no-c             only the interpreter path\n"
    "  --keep DIR         keep generated sources under DIR/<test> (default: temporary)\n"
    "  --filter TEXT      only tests whose path contains TEXT\n"
    "  --timeout S        per-test time limit in seconds (default 300)\n"
    "  --cc CC            host C compiler for the generated code (default: $CC or cc)\n";

typedef struct {
    bool use_c;
    const char *keep;
    const char *cc;
    unsigned timeout;
} conf_options;

/* ---- collecting test folders ---- */

typedef struct {
    char **paths;
    int n, cap;
} path_list;

static int path_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void list_push(path_list *l, const char *p)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->paths = realloc(l->paths, sizeof(char *) * (size_t)l->cap);
    }
    l->paths[l->n++] = strdup(p);
}

static void collect(const char *dir, path_list *out, int depth)
{
    char p[4096];
    DIR *d;
    struct dirent *e;
    path_list subs = {0};
    int i;
    snprintf(p, sizeof p, "%s/model.onnx", dir);
    if (is_file(p)) {
        list_push(out, dir);
        return;
    }
    if (depth > 8 || !(d = opendir(dir)))
        return;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (is_dir(p))
            list_push(&subs, p);
    }
    closedir(d);
    qsort(subs.paths, (size_t)subs.n, sizeof(char *), path_cmp);
    for (i = 0; i < subs.n; i++) {
        collect(subs.paths[i], out, depth + 1);
        free(subs.paths[i]);
    }
    free(subs.paths);
}

/* ---- comparing ---- */

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    float f;
    if (exp == 0) {
        f = ldexpf((float)man, -24);
        return sign ? -f : f;
    }
    if (exp == 31)
        bits = sign | 0x7f800000u | (man << 13);
    else
        bits = sign | ((exp + 112) << 23) | (man << 13);
    memcpy(&f, &bits, 4);
    return f;
}

static bool is_float_type(tml_dtype dt)
{
    return dt == TML_DT_F32 || dt == TML_DT_F64 || dt == TML_DT_F16;
}

static double elem_as_double(const void *data, tml_dtype dt, int64_t i)
{
    switch (dt) {
    case TML_DT_F32: return ((const float *)data)[i];
    case TML_DT_F64: return ((const double *)data)[i];
    case TML_DT_F16: return half_to_float(((const uint16_t *)data)[i]);
    default: return 0;
    }
}

/* Compares got (bytes of the plan's output) with the expected value; on mismatch writes the
 * reason into msg and returns false. */
static bool compare(const char *path_name, const char *out_name, tml_dtype dt, const void *got,
                    size_t got_bytes, const tml_value *want, char *msg, size_t msgsz)
{
    int64_t n = tml_value_numel(want), i, worst = -1;
    double worst_err = 0;
    size_t es = tml_dtype_size(dt);
    if (dt != want->dtype) {
        snprintf(msg, msgsz, "%s: output '%s' is %s, expected %s", path_name, out_name,
                 tml_dtype_name(dt), tml_dtype_name(want->dtype));
        return false;
    }
    if (got_bytes != want->nbytes) {
        snprintf(msg, msgsz, "%s: output '%s' has %zu bytes, expected %zu", path_name, out_name,
                 got_bytes, want->nbytes);
        return false;
    }
    if (!is_float_type(dt)) {
        for (i = 0; i < n; i++)
            if (memcmp((const char *)got + i * (int64_t)es, (const char *)want->data + i * (int64_t)es,
                       es) != 0) {
                snprintf(msg, msgsz, "%s: output '%s' differs at element %lld (exact match required)",
                         path_name, out_name, (long long)i);
                return false;
            }
        return true;
    }
    for (i = 0; i < n; i++) {
        double a = elem_as_double(got, dt, i), b = elem_as_double(want->data, dt, i), e;
        if (isnan(a) && isnan(b))
            continue;
        if (a == b)
            continue;
        e = fabs(a - b);
        if (isnan(e) || e > 1e-4 + 1e-3 * fabs(b)) {
            if (worst < 0 || isnan(e) || e > worst_err) {
                worst = i;
                worst_err = isnan(e) ? INFINITY : e;
            }
        }
    }
    if (worst >= 0) {
        snprintf(msg, msgsz, "%s: output '%s' max error %.3g at element %lld (got %.7g, want %.7g)",
                 path_name, out_name, worst_err, (long long)worst,
                 elem_as_double(got, dt, worst), elem_as_double(want->data, dt, worst));
        return false;
    }
    return true;
}

/* ---- inputs that ops read as attributes ---- */

/* ONNX passes some attribute-like values (shapes, axes, pads, scales, clip bounds) as inputs.
 * A deployed model has them constant, and this compiler needs them so (static shapes); the
 * backend tests feed them as graph inputs. Such inputs are bound to the data set's values. */
static bool is_attribute_input(tml_op op, int index)
{
    switch (op) {
    case TML_OP_RESHAPE: case TML_OP_SQUEEZE: case TML_OP_UNSQUEEZE: case TML_OP_REDUCE_MEAN:
    case TML_OP_REDUCE_MAX: case TML_OP_SLICE: case TML_OP_PAD: case TML_OP_RESIZE:
    case TML_OP_UPSAMPLE: case TML_OP_CLIP:
        return index >= 1;
    default:
        return false;
    }
}

/* Marks in bind[k] the graph inputs of `model` that some node reads as an attribute. */
static void find_attribute_inputs(const char *model, bool bind[MAX_IO])
{
    tml_graph *g = tml_graph_new();
    int k, i, j;
    memset(bind, 0, sizeof(bool) * MAX_IO);
    if (!g || tml_import_file(g, model) != TML_OK) {
        tml_graph_free(g);
        return;
    }
    for (k = 0; k < g->n_inputs && k < MAX_IO; k++)
        for (i = 0; i < g->n_nodes; i++)
            for (j = 0; j < g->nodes[i].n_in; j++)
                if (g->nodes[i].in[j] == g->inputs[k] && is_attribute_input(g->nodes[i].op, j))
                    bind[k] = true;
    tml_graph_free(g);
}

/* ---- one test ---- */

typedef enum { R_PASS, R_FAIL, R_SKIP } result_kind;

typedef struct {
    tml_value in[MAX_IO], out[MAX_IO];
    int n_in, n_out;
    int runtime_in[MAX_IO]; /* data set input of each plan input (bound ones are skipped) */
    int n_runtime_in;
} data_set;

static void data_set_release(data_set *ds)
{
    int i;
    for (i = 0; i < ds->n_in; i++)
        tml_value_release(&ds->in[i]);
    for (i = 0; i < ds->n_out; i++)
        tml_value_release(&ds->out[i]);
    memset(ds, 0, sizeof(*ds));
}

static tml_status data_set_read(const char *dir, data_set *ds, char *msg, size_t msgsz)
{
    char p[4096];
    int k;
    tml_status st;
    memset(ds, 0, sizeof(*ds));
    for (k = 0; k < MAX_IO; k++) {
        snprintf(p, sizeof p, "%s/input_%d.pb", dir, k);
        if (!is_file(p))
            break;
        if ((st = tml_pb_read(p, &ds->in[k], msg, msgsz)) != TML_OK)
            return st;
        ds->n_in++;
    }
    for (k = 0; k < MAX_IO; k++) {
        snprintf(p, sizeof p, "%s/output_%d.pb", dir, k);
        if (!is_file(p))
            break;
        if ((st = tml_pb_read(p, &ds->out[k], msg, msgsz)) != TML_OK)
            return st;
        ds->n_out++;
    }
    return TML_OK;
}

static int write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    if (n && fwrite(data, 1, n, f) != n) {
        fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int run_command(const char *cmd, const char *log, char *msg, size_t msgsz)
{
    int rc = system(cmd);
    if (rc != 0) {
        char tail[400] = "";
        FILE *f = fopen(log, "r");
        if (f) {
            size_t n;
            long sz;
            fseek(f, 0, SEEK_END);
            sz = ftell(f);
            fseek(f, sz > 380 ? sz - 380 : 0, SEEK_SET);
            n = fread(tail, 1, sizeof tail - 1, f);
            tail[n] = 0;
            fclose(f);
            for (n = 0; tail[n]; n++)
                if (tail[n] == '\n')
                    tail[n] = ' ';
        }
        snprintf(msg, msgsz, "%s", tail);
        return -1;
    }
    return 0;
}

/* Generated-C path for one data set: codegen, compile, run, compare. */
static result_kind run_c_path(const tml_model *m, const data_set *ds, const char *name,
                              const conf_options *o, char *msg, size_t msgsz)
{
    char dir[4096], cmd[16384], p[4096], log[4200], cgerr[1024];
    tml_codegen_options go;
    size_t k;
    int i;

    if (o->keep) {
        snprintf(dir, sizeof dir, "%s/%s", o->keep, name);
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
        if (system(cmd) != 0) {
            snprintf(msg, msgsz, "c: cannot create '%s'", dir);
            return R_FAIL;
        }
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/tmlconf-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            snprintf(msg, msgsz, "c: cannot create a temporary directory: %s", strerror(errno));
            return R_FAIL;
        }
    }
    tml_codegen_options_default(&go);
    go.harness = true;
    if (tml_codegen_c(m->plan, dir, &go, cgerr, sizeof cgerr) != TML_OK) {
        snprintf(msg, msgsz, "c: codegen: %s", cgerr);
        return R_FAIL;
    }
    snprintf(log, sizeof log, "%s/build.log", dir);
    snprintf(cmd, sizeof cmd,
             "%s -std=c99 -O1 -Wall -Wextra -Werror -I'%s' -o '%s/prog' '%s'/*.c '%s'/tml/*.c -lm"
             " >'%s' 2>&1",
             o->cc, dir, dir, dir, dir, log);
    if (run_command(cmd, log, cgerr, sizeof cgerr) != 0) {
        snprintf(msg, msgsz, "c: generated code does not compile: %s", cgerr);
        return R_FAIL;
    }
    k = (size_t)snprintf(cmd, sizeof cmd, "'%s/prog'", dir);
    for (i = 0; i < ds->n_runtime_in; i++) {
        const tml_value *v = &ds->in[ds->runtime_in[i]];
        snprintf(p, sizeof p, "%s/in%d.bin", dir, i);
        if (write_file(p, v->data, v->nbytes) != 0) {
            snprintf(msg, msgsz, "c: cannot write '%s'", p);
            return R_FAIL;
        }
        k += (size_t)snprintf(cmd + k, sizeof cmd - k, " '%s'", p);
    }
    for (i = 0; i < m->plan->n_outputs; i++) {
        snprintf(p, sizeof p, "%s/out%d.bin", dir, i);
        k += (size_t)snprintf(cmd + k, sizeof cmd - k, " '%s'", p);
    }
    snprintf(log, sizeof log, "%s/run.log", dir);
    snprintf(cmd + k, sizeof cmd - k, " >'%s' 2>&1", log);
    if (run_command(cmd, log, cgerr, sizeof cgerr) != 0) {
        snprintf(msg, msgsz, "c: generated program failed: %s", cgerr);
        return R_FAIL;
    }
    for (i = 0; i < m->plan->n_outputs && i < ds->n_out; i++) {
        const tml_plan_tensor *pt = &m->plan->tensors[m->plan->outputs[i]];
        uint8_t *got = NULL;
        size_t got_n = 0;
        bool ok;
        snprintf(p, sizeof p, "%s/out%d.bin", dir, i);
        if (tml_file_read(p, (size_t)1 << 31, &got, &got_n, cgerr, sizeof cgerr) != TML_OK) {
            snprintf(msg, msgsz, "c: %s", cgerr);
            return R_FAIL;
        }
        ok = compare("c", pt->name, pt->dtype, got, got_n, &ds->out[i], msg, msgsz);
        free(got);
        if (!ok)
            return R_FAIL;
    }
    if (!o->keep) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "warning: could not remove '%s'\n", dir);
    }
    return R_PASS;
}

static result_kind run_test(const char *test_dir, const conf_options *o, char *msg, size_t msgsz)
{
    char model[4096], p[4096], err[1024];
    const char *name = strrchr(test_dir, '/') ? strrchr(test_dir, '/') + 1 : test_dir;
    int set, i, sets_run = 0;

    bool bind[MAX_IO];

    snprintf(model, sizeof model, "%s/model.onnx", test_dir);
    find_attribute_inputs(model, bind);
    for (set = 0; set < 64; set++) {
        data_set ds;
        tml_compile_options co;
        tml_model *m = NULL;
        tml_interp *it = NULL;
        tml_status st;
        result_kind r = R_PASS;

        snprintf(p, sizeof p, "%s/test_data_set_%d", test_dir, set);
        if (!is_dir(p))
            break;
        st = data_set_read(p, &ds, err, sizeof err);
        if (st != TML_OK) {
            data_set_release(&ds);
            snprintf(msg, msgsz, "%s", err);
            return st == TML_ERR_UNSUPPORTED ? R_SKIP : R_FAIL;
        }
        tml_compile_options_default(&co);
        co.n_input_shapes = ds.n_in;
        for (i = 0; i < ds.n_in; i++) {
            int d;
            co.input_rank[i] = ds.in[i].rank;
            for (d = 0; d < ds.in[i].rank; d++)
                co.input_dims[i][d] = ds.in[i].dims[d];
            if (bind[i]) {
                co.bind_data[i] = ds.in[i].data;
                co.bind_bytes[i] = ds.in[i].nbytes;
            } else {
                ds.runtime_in[ds.n_runtime_in++] = i;
            }
        }
        st = tml_model_compile(model, &co, &m, err, sizeof err);
        if (st != TML_OK) {
            const char *short_err = strstr(err, "model.onnx: ");
            snprintf(msg, msgsz, "%s", short_err ? short_err + 12 : err);
            data_set_release(&ds);
            return st == TML_ERR_UNSUPPORTED ? R_SKIP : R_FAIL;
        }
        if (ds.n_runtime_in != m->plan->n_inputs || ds.n_out != m->plan->n_outputs) {
            snprintf(msg, msgsz, "data set %d has %d inputs / %d outputs, model has %d / %d", set,
                     ds.n_runtime_in, ds.n_out, m->plan->n_inputs, m->plan->n_outputs);
            r = R_FAIL;
        }
        if (r == R_PASS && tml_interp_new(m->plan, &it, err, sizeof err) != TML_OK) {
            snprintf(msg, msgsz, "interp: %s", err);
            r = R_FAIL;
        }
        for (i = 0; r == R_PASS && i < ds.n_runtime_in; i++) {
            const tml_plan_tensor *pt = &m->plan->tensors[m->plan->inputs[i]];
            const tml_value *v = &ds.in[ds.runtime_in[i]];
            size_t bytes;
            void *dst = tml_interp_input(it, i, &bytes);
            if (v->dtype != pt->dtype || bytes != v->nbytes) {
                snprintf(msg, msgsz, "input %d is %s (%zu bytes), model input '%s' is %s (%zu bytes)",
                         ds.runtime_in[i], tml_dtype_name(v->dtype), v->nbytes, pt->name,
                         tml_dtype_name(pt->dtype), bytes);
                r = R_FAIL;
            } else {
                memcpy(dst, v->data, bytes);
            }
        }
        if (r == R_PASS && tml_interp_run(it) != TML_OK) {
            snprintf(msg, msgsz, "interp: execution failed");
            r = R_FAIL;
        }
        for (i = 0; r == R_PASS && i < m->plan->n_outputs; i++) {
            const tml_plan_tensor *pt = &m->plan->tensors[m->plan->outputs[i]];
            size_t bytes;
            const void *got = tml_interp_output(it, i, &bytes);
            if (!compare("interp", pt->name, pt->dtype, got, bytes, &ds.out[i], msg, msgsz))
                r = R_FAIL;
        }
        if (r == R_PASS && o->use_c) {
            char sub[600];
            snprintf(sub, sizeof sub, "%s_%d", name, set);
            r = run_c_path(m, &ds, sub, o, msg, msgsz);
        }
        tml_interp_free(it);
        tml_model_free(m);
        data_set_release(&ds);
        if (r != R_PASS)
            return r;
        sets_run++;
    }
    if (sets_run == 0) {
        snprintf(msg, msgsz, "no test_data_set_N folder");
        return R_SKIP;
    }
    return R_PASS;
}

/* ---- running tests in child processes ---- */

typedef struct {
    pid_t pid;
    int fd;
    int index;
} child;

static void child_main(const char *test_dir, const conf_options *o, int fd)
{
    char msg[RESULT_MAX - 8], line[RESULT_MAX];
    result_kind r;
    ssize_t w;
    msg[0] = 0;
    alarm(o->timeout);
    r = run_test(test_dir, o, msg, sizeof msg);
    snprintf(line, sizeof line, "%c%s", r == R_PASS ? 'P' : r == R_FAIL ? 'F' : 'S', msg);
    w = write(fd, line, strlen(line));
    (void)w;
    close(fd);
    _exit(0);
}

static void describe_exit(int status, unsigned timeout, char *line, size_t n)
{
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        snprintf(line, n, "Ftimed out after %u s", timeout);
    else if (WIFSIGNALED(status))
        snprintf(line, n, "Fcrashed with signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(line, n, "Fexited with status %d without a result", WEXITSTATUS(status));
}

int cmd_conformance(int argc, char **argv)
{
    conf_options o;
    path_list tests = {0}, roots = {0};
    const char *filter = NULL;
    char **results;
    int jobs = (int)sysconf(_SC_NPROCESSORS_ONLN), i, next = 0, printed = 0, running = 0;
    int passed = 0, failed = 0, skipped = 0;
    child *kids;

    memset(&o, 0, sizeof o);
    o.use_c = true;
    o.timeout = 300;
    o.cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(help, stdout);
            return 0;
        } else if ((!strcmp(a, "-j") || !strcmp(a, "--jobs")) && i + 1 < argc) {
            jobs = atoi(argv[++i]);
        } else if (!strncmp(a, "-j", 2) && a[2] >= '0' && a[2] <= '9') {
            jobs = atoi(a + 2);
        } else if (!strcmp(a, "--no-c")) {
            o.use_c = false;
        } else if (!strcmp(a, "--keep") && i + 1 < argc) {
            o.keep = argv[++i];
        } else if (!strcmp(a, "--filter") && i + 1 < argc) {
            filter = argv[++i];
        } else if (!strcmp(a, "--timeout") && i + 1 < argc) {
            o.timeout = (unsigned)atoi(argv[++i]);
        } else if (!strcmp(a, "--cc") && i + 1 < argc) {
            o.cc = argv[++i];
        } else if (a[0] == '-') {
            return cli_usage_error("conformance", "unknown option '%s'", a);
        } else {
            list_push(&roots, a);
        }
    }
    if (roots.n == 0)
        return cli_usage_error("conformance", "missing DIR");
    if (jobs < 1)
        jobs = 1;
    for (i = 0; i < roots.n; i++) {
        if (!is_dir(roots.paths[i])) {
            fprintf(stderr, "tmlaas conformance: '%s' is not a directory\n", roots.paths[i]);
            return 2;
        }
        collect(roots.paths[i], &tests, 0);
    }
    if (filter) {
        int w = 0;
        for (i = 0; i < tests.n; i++) {
            if (strstr(tests.paths[i], filter))
                tests.paths[w++] = tests.paths[i];
            else
                free(tests.paths[i]);
        }
        tests.n = w;
    }
    results = calloc((size_t)tests.n + 1, sizeof(char *));
    kids = calloc((size_t)jobs, sizeof(child));
    fflush(stdout);
    while (printed < tests.n) {
        /* start children while there are free slots */
        while (running < jobs && next < tests.n) {
            int fds[2], slot;
            pid_t pid;
            for (slot = 0; slot < jobs && kids[slot].pid; slot++)
                ;
            if (pipe(fds) != 0) {
                perror("tmlaas conformance: pipe");
                return 1;
            }
            pid = fork();
            if (pid < 0) {
                perror("tmlaas conformance: fork");
                return 1;
            }
            if (pid == 0) {
                close(fds[0]);
                child_main(tests.paths[next], &o, fds[1]);
            }
            close(fds[1]);
            kids[slot].pid = pid;
            kids[slot].fd = fds[0];
            kids[slot].index = next++;
            running++;
        }
        /* reap one child */
        {
            int status, slot;
            pid_t pid = wait(&status);
            if (pid < 0)
                break;
            for (slot = 0; slot < jobs && kids[slot].pid != pid; slot++)
                ;
            if (slot < jobs) {
                char line[RESULT_MAX];
                ssize_t n = read(kids[slot].fd, line, sizeof line - 1);
                if (n <= 0)
                    describe_exit(status, o.timeout, line, sizeof line);
                else
                    line[n] = 0;
                close(kids[slot].fd);
                results[kids[slot].index] = strdup(line);
                kids[slot].pid = 0;
                running--;
            }
        }
        /* print finished results in order */
        while (printed < tests.n && results[printed]) {
            const char *r = results[printed];
            const char *name = tests.paths[printed];
            if (r[0] == 'P') {
                passed++;
                printf("PASS %s\n", name);
            } else if (r[0] == 'S') {
                skipped++;
                printf("SKIP %s: %s\n", name, r + 1);
            } else {
                failed++;
                printf("FAIL %s: %s\n", name, r + 1);
            }
            fflush(stdout);
            printed++;
        }
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    for (i = 0; i < tests.n; i++) {
        free(tests.paths[i]);
        free(results[i]);
    }
    for (i = 0; i < roots.n; i++)
        free(roots.paths[i]);
    free(roots.paths);
    free(tests.paths);
    free(results);
    free(kids);
    return failed ? 1 : 0;
}
