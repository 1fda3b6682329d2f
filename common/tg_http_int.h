/*
 * tg_http_int.h - private declarations shared by tg_http.c (connections)
 * and tg_http_resp.c (building responses).  Owner: common.  Not part of
 * the public API.
 */
#ifndef TG_HTTP_INT_H
#define TG_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "tg_http.h"
#include "tg_http_buf.h"

typedef struct tg_http_conn tg_http_conn;

/* A request being read, then its response.  Owns the request storage. */
struct tg_http_resp {
    tg_http_conn *conn;         /* NULL once orphaned */
    tg_http_req req;
    /* request storage */
    tg_hbuf url;
    tg_hbuf hdrs;               /* name\0value\0 ... */
    size_t *offs;               /* 2 per header: name, value */
    size_t nhdr;
    tg_http_header *harr;
    tg_hbuf body;
    int hstate;                 /* 0 none, 1 in a name, 2 in a value */
    char method[24];
    char remote[64];            /* copied: outlives the connection */
    /* response */
    int status;
    tg_hbuf rhdrs;
    tg_hbuf rbody;
    bool close_after;
    bool deferred;
    bool in_handler;
};

#endif /* TG_HTTP_INT_H */
