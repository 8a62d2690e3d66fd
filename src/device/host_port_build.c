/*
 * host_port_build.c - compiles the POSIX port (platform/host/host_port.c) into libtml.
 *
 * The build globs src/ for the host library but not platform/; rather than edit the shared
 * CMakeLists.txt from this module, the port's one source file is included here. When the
 * build learns to glob platform/host/, delete this file.
 */
#include "../../platform/host/host_port.c"
