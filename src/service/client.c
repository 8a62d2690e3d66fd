/* placeholder */
#include "tml/service.h"
int tml_client_main(int argc, char **argv) { (void)argc; (void)argv; return 2; }
