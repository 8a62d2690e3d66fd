/*
 * fuzz_coap_register.c - libFuzzer target for a CoAP datagram arriving at the registration
 * interface: libcoap parses the bytes into a PDU (as its io loop does), then the service's
 * own checks run on it exactly as in the POST /rd handler - Uri-Query through the LwM2M
 * query parser, Content-Format, and the payload through the link-format parser and the
 * object-link normalizer - without touching any store.
 *
 * Invariant checked: a request is either accepted with normalized, NUL-terminated links, or
 * refused with a 4.xx code and a non-empty reason.
 */
#include <coap3/coap.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/service_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int started;
    coap_pdu_t *pdu;
    if (!started) {
        coap_startup();
        coap_set_log_level(LOG_EMERG);
        started = 1;
    }
    pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, 0, size + 8);
    if (!pdu)
        return 0;
    if (coap_pdu_parse(COAP_PROTO_UDP, data, size, pdu)) {
        coap_string_t *query = coap_get_query(pdu);
        tml_lwm2m_reg_params p;
        char *links = NULL, msg[400];
        int code;
        msg[0] = 0;
        code = tml_coap_check_register(pdu, query, &p, &links, msg, sizeof msg);
        if (code == 0) {
            if (!links || !p.endpoint[0])
                abort();
            (void)strlen(links);
        } else {
            if (links || (code >> 5) != 4 || !msg[0])
                abort();
        }
        free(links);
        coap_delete_string(query);
    }
    coap_delete_pdu(pdu);
    return 0;
}
