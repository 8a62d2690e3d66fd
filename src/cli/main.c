/*
 * main.c - `tmlaas`, the one command line of tinymlaas: dispatch to a subcommand.
 *
 * Every subcommand has --help. Only this layer decides exit codes; the libraries below it
 * report through tml_status and messages.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tml/service.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"compile", cmd_compile, "compile a model to C sources, a model package and a report"},
    {"run", cmd_run, "run a model on .npy inputs with the host interpreter"},
    {"inspect", cmd_inspect, "print a readable summary of a model's graph"},
    {"conformance", cmd_conformance, "run ONNX backend test folders through both paths"},
    {"init", cmd_init, "write a fresh model of a built-in architecture (mlp, lenet, dscnn)"},
    {"train", cmd_train, "train a model on an IDX dataset (Fashion-MNIST) and write it to ONNX"},
    {"serve", tml_serve_main, "run the service: CoAP/LwM2M for devices, HTTP + JSON for people"},
    {"devices", tml_client_main, "list the devices registered with a service"},
    {"models", tml_client_main, "list, push or delete models on a service"},
    {"deploy", tml_client_main, "deploy a model to a device or to all devices"},
    {"device", cmd_device, "run a device: LwM2M client, model updates, POST /infer"},
};

bool cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "tmlaas %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'tmlaas %s --help')\n", cmd);
    return 2;
}

static void usage(FILE *f)
{
    size_t i;
    fprintf(f, "tmlaas %s - TinyML as-a-Service: squeeze models onto microcontrollers\n\n"
               "usage: tmlaas COMMAND [ARGS...]\n\ncommands:\n",
            TML_VERSION);
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'tmlaas COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
    size_t i;
    if (argc < 2 || cli_is_help(argv[1])) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("tmlaas %s\n", TML_VERSION);
        return 0;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "tmlaas: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
