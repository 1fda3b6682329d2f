/*
 * aws_xml.c - expat-driven path/text callbacks (see aws_xml.h).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 */
#include "aws_xml.h"

#include "aws_buf.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_DEPTH 32
#define S_MAX_TEXT (1u << 20)
#define S_MAX_DOC (64u << 20)

typedef struct s_ctx {
    XML_Parser parser;
    aws_buf path;
    size_t mark[S_MAX_DEPTH + 1];
    int depth;
    aws_buf text;
    aws_xml_cb cb;
    void *ud;
    int stopped;
    int failed;
} s_ctx;

static void s_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    s_ctx *c = ud;
    if (c->depth >= S_MAX_DEPTH) {
        c->failed = 1;
        XML_StopParser(c->parser, XML_FALSE);
        return;
    }
    const char *local = strrchr(name, ' ');  /* namespace separator */
    local = local ? local + 1 : name;
    c->mark[c->depth++] = c->path.len;
    if (c->path.len)
        aws_buf_putc(&c->path, '/');
    aws_buf_puts(&c->path, local);
    aws_buf_reset(&c->text);
}

static void s_end(void *ud, const XML_Char *name)
{
    (void)name;
    s_ctx *c = ud;
    if (c->depth <= 0)
        return;
    if (!c->stopped &&
        c->cb(aws_buf_str(&c->path), aws_buf_str(&c->text), c->text.len, c->ud)) {
        c->stopped = 1;
        XML_StopParser(c->parser, XML_FALSE);
    }
    c->depth--;
    c->path.len = c->mark[c->depth];
    if (c->path.data)
        c->path.data[c->path.len] = '\0';
    aws_buf_reset(&c->text);
}

static void s_chars(void *ud, const XML_Char *s, int len)
{
    s_ctx *c = ud;
    if (c->text.len + (size_t)len > S_MAX_TEXT) {
        c->failed = 1;
        XML_StopParser(c->parser, XML_FALSE);
        return;
    }
    aws_buf_append(&c->text, s, (size_t)len);
}

static void s_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                      const XML_Char *pubid, int has_internal)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal;
    s_ctx *c = ud;
    c->failed = 1;
    XML_StopParser(c->parser, XML_FALSE);
}

int aws_xml_parse(const char *doc, size_t len, aws_xml_cb cb, void *ud,
                  char *err, size_t errlen)
{
    if (len > S_MAX_DOC) {
        if (err)
            snprintf(err, errlen, "XML document too large");
        return -1;
    }
    s_ctx c;
    memset(&c, 0, sizeof c);
    c.parser = XML_ParserCreateNS(NULL, ' ');
    if (!c.parser)
        return -1;
    aws_buf_init(&c.path);
    aws_buf_init(&c.text);
    c.cb = cb;
    c.ud = ud;
    XML_SetUserData(c.parser, &c);
    XML_SetElementHandler(c.parser, s_start, s_end);
    XML_SetCharacterDataHandler(c.parser, s_chars);
    XML_SetStartDoctypeDeclHandler(c.parser, s_doctype);
    enum XML_Status stv = XML_Parse(c.parser, doc, (int)len, XML_TRUE);
    int rc = 0;
    if (c.failed) {
        if (err)
            snprintf(err, errlen, "XML too deep, too large or has a DTD");
        rc = -1;
    } else if (stv == XML_STATUS_ERROR && !c.stopped) {
        if (err)
            snprintf(err, errlen, "XML: %s at line %lu",
                     XML_ErrorString(XML_GetErrorCode(c.parser)),
                     (unsigned long)XML_GetCurrentLineNumber(c.parser));
        rc = -1;
    }
    XML_ParserFree(c.parser);
    aws_buf_fini(&c.path);
    aws_buf_fini(&c.text);
    return rc;
}

typedef struct s_find {
    const char *suffix;
    char *found;
} s_find;

static int s_find_cb(const char *path, const char *text, size_t n, void *ud)
{
    s_find *f = ud;
    size_t pl = strlen(path), sl = strlen(f->suffix);
    if (pl >= sl && !strcmp(path + pl - sl, f->suffix) &&
        (pl == sl || f->suffix[0] == '/' || path[pl - sl - 1] == '/')) {
        f->found = aws_strndup(text, n);
        return 1;
    }
    return 0;
}

char *aws_xml_find(const char *doc, size_t len, const char *suffix)
{
    s_find f = {suffix, NULL};
    if (aws_xml_parse(doc, len, s_find_cb, &f, NULL, 0) < 0) {
        free(f.found);
        return NULL;
    }
    return f.found;
}
