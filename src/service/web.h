/*
 * web.h - the web page and the page's own routes inside `tmlaas serve` (src/service/web.c).
 *
 * The files of web/ are compiled into the binary (scripts/embed_web.cmake writes the table
 * tml_web_files), so the service serves its page with no files on disk and nothing fetched at
 * run time. /api/infer forwards an input tensor to a device over CoAP POST /infer on the
 * session the device registered on; the HTTP thread hands the request to the CoAP loop through
 * a one-slot mailbox (libcoap contexts are not shared between threads) and waits for the answer.
 */
#ifndef TML_SERVICE_WEB_H
#define TML_SERVICE_WEB_H

#include <stdbool.h>
#include <stddef.h>

#include <coap3/coap.h>
#include <microhttpd.h>

struct tml_service;

/* One embedded file: its URL path ("/index.html"), content type and bytes. */
typedef struct {
    const char *path;
    const char *content_type;
    const unsigned char *data;
    size_t size;
} tml_web_file;

/* Ends with an entry whose path is NULL. */
extern const tml_web_file tml_web_files[];

/* The embedded file for a URL path ("/" is "/index.html"), or NULL. */
const tml_web_file *tml_web_find(const char *url);

/* GET/HEAD of a non-API URL: the embedded file, or 404. */
enum MHD_Result tml_web_static(struct MHD_Connection *c, const char *url);

/* POST /api/infer?device=EP, body = the input tensor's bytes (1..64 KiB): forwards them to the
 * device (CoAP POST /infer) and answers the device's JSON plus "device" and "round_trip_ms";
 * 502 with the device's diagnostic when it refuses, 504 when it does not answer, 404 when the
 * device is unknown or the service holds no session of it, 409 when it is offline, 503 when
 * another inference is in flight. */
enum MHD_Result tml_web_infer(struct MHD_Connection *c, struct tml_service *svc,
                              const unsigned char *body, size_t len);

/* CoAP loop side (called from src/service/coap.c): sends a queued inference request. */
void tml_web_infer_tick(struct tml_service *svc);
/* A response no queued service request claimed: true if it was the inference's answer. */
bool tml_web_infer_response(struct tml_service *svc, coap_session_t *session,
                            const coap_pdu_t *recv);
/* A request that got no answer: true if it was the inference request. */
bool tml_web_infer_nack(struct tml_service *svc, coap_session_t *session, const coap_pdu_t *sent);

#endif /* TML_SERVICE_WEB_H */
