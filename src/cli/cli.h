/*
 * cli.h - the subcommands of `tmlaas`, one file each in src/cli/. Each returns the process
 * exit status: 0 ok, 1 failure, 2 usage error.
 */
#ifndef TML_CLI_H
#define TML_CLI_H

#include <stdbool.h>
#include <stdio.h>

int cmd_compile(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_conformance(int argc, char **argv);
int cmd_device(int argc, char **argv);
int cmd_train(int argc, char **argv); /* cmd_train.c; also cmd_init */
int cmd_init(int argc, char **argv);

/* True if argv[i] is -h or --help. */
bool cli_is_help(const char *arg);
/* Prints "tmlaas CMD: message" to stderr and returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
