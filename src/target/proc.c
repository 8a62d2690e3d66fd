/*
 * proc.c - running the toolchain and the emulator: fork/exec with an argv vector (no shell, so
 * paths and flags are never re-parsed), output appended to a log file, an optional working
 * directory, and a wall-clock bound after which the child's process group is killed. A firmware
 * image that never reaches SYS_EXIT must not hang `tmlaas run` or CI.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "target/proc.h"

int tml_proc_run(char *const argv[], const char *cwd, const char *log_path, unsigned timeout_s,
                 bool *timed_out)
{
    pid_t pid;
    int status = 0;
    struct timespec start, now, nap = {0, 5 * 1000 * 1000};
    FILE *log = log_path ? fopen(log_path, "a") : NULL;

    if (timed_out)
        *timed_out = false;
    if (log) {
        int i;
        fputs("$", log);
        for (i = 0; argv[i]; i++)
            fprintf(log, " %s", argv[i]);
        fputs("\n", log);
        fflush(log);
    }
    pid = fork();
    if (pid < 0) {
        if (log)
            fclose(log);
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        if (cwd && chdir(cwd) != 0)
            _exit(126);
        if (log) {
            int fd = fileno(log);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        {
            int devnull = open("/dev/null", O_RDONLY);
            if (devnull >= 0)
                dup2(devnull, 0);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (log)
        fclose(log);
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        pid_t r = waitpid(pid, &status, timeout_s ? WNOHANG : 0);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return -1;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (timeout_s && now.tv_sec - start.tv_sec >= (time_t)timeout_s) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            if (timed_out)
                *timed_out = true;
            return -1;
        }
        nanosleep(&nap, NULL);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

bool tml_proc_found(const char *prog)
{
    char *argv[3];
    argv[0] = (char *)prog;
    argv[1] = (char *)"--version";
    argv[2] = NULL;
    return tml_proc_run(argv, NULL, "/dev/null", 30, NULL) == 0;
}
