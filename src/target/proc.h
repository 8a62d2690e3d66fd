/*
 * proc.h - child processes for the target module (toolchain, QEMU): internal to src/target/.
 */
#ifndef TML_TARGET_PROC_H
#define TML_TARGET_PROC_H

#include <stdbool.h>

/* Runs argv (NULL-terminated; argv[0] searched in PATH) in cwd (NULL = here), stdout and stderr
 * appended to log_path (NULL = inherited), killed after timeout_s seconds (0 = no bound).
 * Returns the exit status (128 + N if signal N ended it), or -1 if it could not be waited for
 * or timed out (*timed_out). */
int tml_proc_run(char *const argv[], const char *cwd, const char *log_path, unsigned timeout_s,
                 bool *timed_out);

/* True if `prog --version` runs. */
bool tml_proc_found(const char *prog);

#endif
