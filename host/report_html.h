/* Pieces shared by the report pages (host/report_run.c, host/report_translate.c). */
#ifndef CLGAN_REPORT_HTML_H
#define CLGAN_REPORT_HTML_H
#include <stdio.h>

/* s with < > & " escaped (text and attribute values alike). */
void html_esc(FILE *f, const char *s);
/* A path usable as an href/src: each byte outside [A-Za-z0-9/._~-] percent-encoded. */
void html_url(FILE *f, const char *s);
/* <!DOCTYPE html>, <html>, <head> with the title, style sheet and the checking script, then <body>.
 * refresh_s > 0 adds a meta refresh. */
void html_begin(FILE *f, const char *title, int refresh_s);
void html_end(FILE *f);

#endif
