/*
 * ev_rectest.c - YAML/JSON test records -> JSON text + msgpack; see
 * ev_rectest.h.  JSON-string records are parsed with jansson (which keeps
 * key order) and packed from its tree.
 */
#include "ev_rectest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool s_json_number(const char *s, bool *is_int)
{
    const char *p = s;
    *is_int = true;
    if (*p == '-')
        p++;
    if (!(*p >= '0' && *p <= '9'))
        return false;
    if (*p == '0' && p[1] >= '0' && p[1] <= '9')
        return false;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == '.') {
        *is_int = false;
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        *is_int = false;
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

static void s_pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void s_pack_number(msgpack_packer *pk, const char *s, bool is_int)
{
    if (is_int) {
        if (s[0] == '-')
            msgpack_pack_int64(pk, strtoll(s, NULL, 10));
        else
            msgpack_pack_uint64(pk, strtoull(s, NULL, 10));
    } else {
        msgpack_pack_double(pk, strtod(s, NULL));
    }
}

static int s_yaml(const ev_ynode *n, ev_strbuf *js, msgpack_packer *pk, int depth)
{
    if (depth > 100)
        return -1;
    bool is_int;
    switch (n->kind) {
    case EV_YNULL:
        ev_strbuf_puts(js, "null");
        msgpack_pack_nil(pk);
        return 0;
    case EV_YSCALAR:
        if (n->plain && !strcmp(n->str, "true")) {
            ev_strbuf_puts(js, "true");
            msgpack_pack_true(pk);
        } else if (n->plain && !strcmp(n->str, "false")) {
            ev_strbuf_puts(js, "false");
            msgpack_pack_false(pk);
        } else if (n->plain && s_json_number(n->str, &is_int)) {
            ev_strbuf_puts(js, n->str);
            s_pack_number(pk, n->str, is_int);
        } else {
            ev_json_put_str(js, n->str, n->len);
            s_pack_str(pk, n->str, n->len);
        }
        return 0;
    case EV_YSEQ:
        ev_strbuf_puts(js, "[");
        msgpack_pack_array(pk, n->n);
        for (size_t i = 0; i < n->n; i++) {
            if (i)
                ev_strbuf_puts(js, ",");
            if (s_yaml(n->items[i], js, pk, depth + 1) < 0)
                return -1;
        }
        ev_strbuf_puts(js, "]");
        return 0;
    case EV_YMAP:
        ev_strbuf_puts(js, "{");
        msgpack_pack_map(pk, n->n);
        for (size_t i = 0; i < n->n; i++) {
            if (i)
                ev_strbuf_puts(js, ",");
            ev_json_put_str(js, n->keys[i], strlen(n->keys[i]));
            ev_strbuf_puts(js, ":");
            s_pack_str(pk, n->keys[i], strlen(n->keys[i]));
            if (s_yaml(n->items[i], js, pk, depth + 1) < 0)
                return -1;
        }
        ev_strbuf_puts(js, "}");
        return 0;
    }
    return -1;
}

static void s_jansson(const json_t *j, msgpack_packer *pk)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        msgpack_pack_map(pk, json_object_size(j));
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) {
            s_pack_str(pk, k, strlen(k));
            s_jansson(v, pk);
        }
        break;
    }
    case JSON_ARRAY:
        msgpack_pack_array(pk, json_array_size(j));
        for (size_t i = 0; i < json_array_size(j); i++)
            s_jansson(json_array_get(j, i), pk);
        break;
    case JSON_STRING:
        s_pack_str(pk, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        msgpack_pack_int64(pk, json_integer_value(j));
        break;
    case JSON_REAL:
        msgpack_pack_double(pk, json_real_value(j));
        break;
    case JSON_TRUE:
        msgpack_pack_true(pk);
        break;
    case JSON_FALSE:
        msgpack_pack_false(pk);
        break;
    default:
        msgpack_pack_nil(pk);
        break;
    }
}

int ev_rectest_record(const ev_ynode *n, ev_strbuf *json, msgpack_sbuffer *mp,
                      char *err, size_t errlen)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, mp, msgpack_sbuffer_write);
    if (n->kind == EV_YSCALAR) {
        json_error_t je;
        json_t *j = json_loadb(n->str, n->len, JSON_DECODE_ANY, &je);
        if (!j || !json_is_object(j)) {
            snprintf(err, errlen, "record is not a JSON object: %s", j ? "not an object" : je.text);
            json_decref(j);
            return -1;
        }
        s_jansson(j, &pk);
        json_decref(j);
        ev_strbuf_put(json, n->str, n->len);
        return 0;
    }
    if (n->kind != EV_YMAP) {
        snprintf(err, errlen, "record must be a mapping or a JSON string");
        return -1;
    }
    if (s_yaml(n, json, &pk, 0) < 0) {
        snprintf(err, errlen, "record nested too deeply");
        return -1;
    }
    return 0;
}

int ev_rectest_json(const char *json, size_t len, msgpack_sbuffer *mp, char *err, size_t errlen)
{
    msgpack_packer pk;
    json_error_t je;
    json_t *j = json_loadb(json, len, JSON_DECODE_ANY, &je);
    if (!j) {
        snprintf(err, errlen, "invalid JSON: %s", je.text);
        return -1;
    }
    msgpack_packer_init(&pk, mp, msgpack_sbuffer_write);
    s_jansson(j, &pk);
    json_decref(j);
    return 0;
}
