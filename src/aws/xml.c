/* expat behind three callbacks, with DOCTYPE refused, failures reported
 * with their position and the caller's choice of allocator (see xml.h).
 * The only file that includes expat.h. */
#include "xml.h"

#include <expat.h>
#include <stdarg.h>
#include <string.h>

/* Separates a namespace URI from the local name in the names expat hands
 * over. A local name cannot contain it, so the text after the last one is
 * always the local name. */
#define NS_SEPARATOR '|'

/* Names and text are handed on as UTF-8 char strings: an expat built with
 * XML_UNICODE (UTF-16 XML_Char) would not do. */
_Static_assert(sizeof(XML_Char) == 1, "expat must use UTF-8 XML_Char");

/* The most handed to one XML_Parse call, whose length is an int. */
#define CHUNK_MAX ((size_t)1 << 30)

struct pl_aws_xml {
  XML_Parser parser;
  const pl_aws_xml_handlers_t *handlers;
  void *data;
  pl_buf_t *reason;
  int rc; /* the first callback error; nothing is called after one */
};

static const char *local_name(const XML_Char *name) {
  const char *sep = strrchr(name, NS_SEPARATOR);
  return sep ? sep + 1 : name;
}

/* expat may still deliver an event or two after XML_StopParser (the end of
 * an empty element, the rest of a text run): they are dropped here, so a
 * callback that failed is the last one called. */
static void stop_on_error(pl_aws_xml_t *xml, int rc) {
  if (rc < 0) {
    xml->rc = rc;
    XML_StopParser(xml->parser, XML_FALSE);
  }
}

static void XMLCALL on_start(void *data, const XML_Char *name,
                             const XML_Char **attrs) {
  pl_aws_xml_t *xml = data;
  if (xml->rc == 0 && xml->handlers->start)
    stop_on_error(xml, xml->handlers->start(xml, xml->data, local_name(name)));
}

static void XMLCALL on_end(void *data, const XML_Char *name) {
  pl_aws_xml_t *xml = data;
  if (xml->rc == 0 && xml->handlers->end)
    stop_on_error(xml, xml->handlers->end(xml, xml->data, local_name(name)));
}

static void XMLCALL on_text(void *data, const XML_Char *text, int len) {
  pl_aws_xml_t *xml = data;
  if (xml->rc == 0 && xml->handlers->text && len > 0)
    stop_on_error(xml, xml->handlers->text(xml, xml->data, text, (size_t)len));
}

/* AWS responses never declare a DTD; stopping at the declaration's start
 * means its internal subset, and any entity in it, is never read. */
static void XMLCALL on_doctype(void *data, const XML_Char *name,
                               const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal_subset) {
  pl_aws_xml_t *xml = data;
  if (xml->rc == 0)
    stop_on_error(xml, pl__aws_xml_fail(xml, "DOCTYPE is not allowed"));
}

/* Appends "line L, column C: " for the parser's current position. */
static int append_position(pl_aws_xml_t *xml) {
  return pl_buf_printf(xml->reason, "line %lu, column %lu: ",
                       (unsigned long)XML_GetCurrentLineNumber(xml->parser),
                       (unsigned long)XML_GetCurrentColumnNumber(xml->parser) +
                           1);
}

int pl__aws_xml_fail(pl_aws_xml_t *xml, const char *fmt, ...) {
  if (!xml->reason)
    return PL_EPARSE;
  size_t start = xml->reason->len;
  int rc = append_position(xml);
  if (rc == 0) {
    va_list ap;
    va_start(ap, fmt);
    rc = pl_buf_vprintf(xml->reason, fmt, ap);
    va_end(ap);
  }
  if (rc < 0) {
    /* Leave the caller's buffer as it was rather than half a line. */
    pl_buf_truncate(xml->reason, start);
    return PL_ENOMEM;
  }
  return PL_EPARSE;
}

int pl__aws_xml_parse(const char *body, size_t len,
                      const pl_aws_xml_handlers_t *handlers, void *data,
                      const pl_aws_xml_alloc_t *alloc, pl_buf_t *reason) {
  if (!handlers || (!body && len > 0) ||
      (alloc && (!alloc->malloc_fn || !alloc->realloc_fn || !alloc->free_fn)))
    return PL_EINVAL;
  const XML_Memory_Handling_Suite suite = {
      .malloc_fcn = alloc ? alloc->malloc_fn : NULL,
      .realloc_fcn = alloc ? alloc->realloc_fn : NULL,
      .free_fcn = alloc ? alloc->free_fn : NULL,
  };
  static const XML_Char separator[] = {NS_SEPARATOR, '\0'};
  pl_aws_xml_t xml = {
      /* Without a suite expat uses malloc, realloc and free. */
      .parser = XML_ParserCreate_MM(NULL, alloc ? &suite : NULL, separator),
      .handlers = handlers,
      .data = data,
      .reason = reason,
  };
  if (!xml.parser)
    return PL_ENOMEM;
  XML_SetUserData(xml.parser, &xml);
  XML_SetElementHandler(xml.parser, on_start, on_end);
  XML_SetCharacterDataHandler(xml.parser, on_text);
  XML_SetStartDoctypeDeclHandler(xml.parser, on_doctype);
  const char *next = body ? body : "";
  size_t left = len;
  enum XML_Status status;
  do {
    size_t n = left < CHUNK_MAX ? left : CHUNK_MAX;
    left -= n;
    status = XML_Parse(xml.parser, next, (int)n, left == 0);
    next += n;
  } while (status == XML_STATUS_OK && left > 0);
  int rc = 0;
  if (xml.rc < 0) {
    rc = xml.rc;
  } else if (status != XML_STATUS_OK) {
    enum XML_Error code = XML_GetErrorCode(xml.parser);
    if (code == XML_ERROR_NO_MEMORY) {
      rc = PL_ENOMEM;
    } else {
      const char *text = XML_ErrorString(code);
      rc = pl__aws_xml_fail(&xml, "%s", text ? text : "malformed XML");
    }
  }
  XML_ParserFree(xml.parser);
  return rc;
}
