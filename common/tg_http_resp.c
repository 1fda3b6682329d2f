/*
 * tg_http_resp.c - building responses, header lookup, bearer tokens and
 * status texts for tg_http (see tg_http.h).  Sending and deferring live
 * with the connections in tg_http.c.
 *
 * Owner: common.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "tg_http_int.h"

const char *tg_http_req_header(const tg_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (!strcasecmp(req->headers[i].name, name))
            return req->headers[i].value;
    return NULL;
}

void tg_http_resp_status(tg_http_resp *resp, int status)
{
    resp->status = status;
}

int tg_http_resp_header(tg_http_resp *resp, const char *name,
                        const char *value)
{
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n") || !*name ||
        !strcasecmp(name, "Content-Length") || !strcasecmp(name, "Connection"))
        return -EINVAL;
    return tg_hbuf_printf(&resp->rhdrs, "%s: %s\r\n", name, value);
}

int tg_http_resp_body(tg_http_resp *resp, const void *data, size_t len)
{
    return tg_hbuf_put(&resp->rbody, data, len);
}

int tg_http_resp_printf(tg_http_resp *resp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = tg_hbuf_vprintf(&resp->rbody, fmt, ap);
    va_end(ap);
    return rc;
}

void tg_http_resp_text(tg_http_resp *resp, int status, const char *text)
{
    resp->status = status;
    tg_http_resp_header(resp, "Content-Type", "text/plain; charset=utf-8");
    tg_hbuf_puts(&resp->rbody, text);
}

void tg_http_resp_close_after(tg_http_resp *resp)
{
    resp->close_after = true;
}

bool tg_http_check_bearer(const tg_http_req *req, const char *token)
{
    if (!token || !*token)
        return true;
    const char *h = tg_http_req_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    size_t hl = strlen(h), tl = strlen(token);
    unsigned char diff = hl != tl;
    for (size_t i = 0; i < tl; i++)
        diff |= (unsigned char)(token[i] ^ (i < hl ? h[i] : 0));
    return diff == 0;
}

const char *tg_http_status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    }
    return "Unknown";
}
