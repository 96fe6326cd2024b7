#include "report_html.h"

#include <string.h>

void html_esc(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

void html_url(FILE *f, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("/._~-", *p))
            fputc(*p, f);
        else fprintf(f, "%%%02X", *p);
    }
}

static const char style[] =
    "body{font-family:sans-serif;margin:1em 2em;color:#222;background:#fafafa}\n"
    "h1{font-size:1.4em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.4em;border-bottom:1px solid #ccc}\n"
    "table.info th{text-align:left;padding-right:1em;vertical-align:top}\n"
    "table.grid{border-collapse:collapse}table.grid td,table.grid th{border:1px solid #ccc;padding:4px;vertical-align:top}\n"
    ".state{font-weight:bold;padding:.3em .6em;display:inline-block;border-radius:4px}\n"
    ".running{background:#dbeafe}.finished{background:#dcfce7}.stopped,.failed,.killed{background:#fee2e2}\n"
    ".plots svg{margin:0 1em 1em 0;background:#fff}\n"
    "figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}figcaption{font-size:.9em;color:#555}\n"
    "img{image-rendering:pixelated;max-width:100%;background:#fff}\n"
    "#translations img{height:128px;width:auto}\n"
    "pre{background:#fff;border:1px solid #ddd;padding:.6em;overflow:auto}\n";

/* Marks a page dead when its last update is older than its cadence allows, and (URL ending in
 * #check, used by tests/test_report.sh) loads every lazy image, then writes into <body> how many
 * images there are, how many are broken, and how many script or resource errors happened. */
static const char script[] =
    "/*<![CDATA[*/\n"
    "(function(){\n"
    "var errors=0;\n"
    "window.addEventListener('error',function(){errors++;},true);\n"
    "function dur(s){s=Math.round(s);var h=Math.floor(s/3600),m=Math.floor(s/60)%60,x=s%60;"
    "return (h?h+':'+(m<10?'0':''):'')+m+':'+(x<10?'0':'')+x;}\n"
    "function stale(){var s=document.getElementById('state');if(!s||s.getAttribute('data-state')!=='running')return;\n"
    " var age=(Date.now()-Number(s.getAttribute('data-updated')))/1000,cad=Number(s.getAttribute('data-cadence'));\n"
    " if(age>3*cad+60){s.setAttribute('data-state','killed');s.className='state killed';\n"
    "  s.textContent='killed or stalled: no update for '+dur(age)+' (the run writes this page about every '+dur(cad)+"
    "'); last seen at '+s.getAttribute('data-where');}}\n"
    "function report(){var im=document.images,broken=0,pending=0;\n"
    " for(var i=0;i<im.length;i++){if(!im[i].complete)pending++;else if(!(im[i].naturalWidth>0))broken++;}\n"
    " var b=document.body;b.setAttribute('data-images',im.length);b.setAttribute('data-broken',broken);\n"
    " b.setAttribute('data-pending',pending);b.setAttribute('data-errors',errors);\n"
    " b.setAttribute('data-plots',document.querySelectorAll('svg.plot').length);b.setAttribute('data-checked','1');}\n"
    "window.addEventListener('load',function(){stale();\n"
    " if(location.hash!=='#check')return;\n"
    " var im=document.images;for(var i=0;i<im.length;i++)im[i].loading='eager';\n"
    " var tries=0;(function wait(){var p=0;for(var i=0;i<im.length;i++)if(!im[i].complete)p++;\n"
    "  if(p&&tries++<100)setTimeout(wait,50);else report();})();});\n"
    "})();\n"
    "/*]]>*/\n";

void html_begin(FILE *f, const char *title, int refresh_s) {
    fputs("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n", f);
    if (refresh_s > 0) fprintf(f, "<meta http-equiv=\"refresh\" content=\"%d\"/>\n", refresh_s);
    fputs("<title>", f);
    html_esc(f, title);
    fprintf(f, "</title>\n<style>\n%s</style>\n<script>\n%s</script>\n</head>\n<body>\n", style, script);
}

void html_end(FILE *f) { fputs("</body>\n</html>\n", f); }
