/*
 * aws_xml.h - minimal streaming view of the XML documents AWS returns
 * (S3 ListObjectsV2 and errors, STS responses), over expat.
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * DESIGN
 * The callback sees every element as it closes, with its slash-joined
 * path from the root ("ListBucketResult/Contents/Key") and its text
 * content (leaf elements; "" for containers).  Namespaces are ignored.
 * Callers match the paths they care about and ignore the rest.  Depth,
 * text size and document size are capped; DTDs/entities are refused (no
 * billion-laughs).
 */
#ifndef AWS_XML_H
#define AWS_XML_H

#include <stddef.h>

/* path and text borrowed for the call.  Return non-zero to stop. */
typedef int (*aws_xml_cb)(const char *path, const char *text, size_t text_len,
                          void *ud);

/* 0 on success, -1 on malformed/oversized input (detail in err). */
int aws_xml_parse(const char *doc, size_t len, aws_xml_cb cb, void *ud,
                  char *err, size_t errlen);

/* Convenience: text of the first element whose path ends with suffix
 * (e.g. "/Code").  Caller owns result (free()); NULL if absent. */
char *aws_xml_find(const char *doc, size_t len, const char *suffix);

#endif
