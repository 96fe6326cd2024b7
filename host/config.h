/* Typed INI configuration over inih.
 *
 * A schema of keys (section, key, type, default, doc, allowed values or range). A program adds
 * the keys it knows (common keys plus the chosen model's), parses a file and --set overrides,
 * then reads values by name. Every value, whatever its source, is checked against its key and
 * stored as text, so cfg_write can write it back exactly.
 *
 * File syntax (inih): "[section]" lines, "key = value" lines (':' works too), comments starting
 * a line with ';' or '#', inline comments after " ;". Values are trimmed of surrounding
 * whitespace; a value may be written in double quotes to keep surrounding spaces or a ';'
 * (the quotes are stripped; there are no escapes). A line holds at most 199 characters, so a
 * value must fit on one such line. Section and key names are case-sensitive.
 *
 * Errors are returned (0 ok, -1 error) with a message in err; mistakes in the program itself
 * (a bad schema, asking for a key that does not exist) print "cfg: ..." and abort(). */
#ifndef CLGAN_CONFIG_H
#define CLGAN_CONFIG_H
#include <stddef.h>
#include <stdio.h>

typedef enum { CFG_INT, CFG_FLOAT, CFG_BOOL, CFG_STR, CFG_CHOICE } cfg_type;

#define CFG_MAX_EXCLUDED "max-excluded"

typedef struct {
    const char *section, *key;
    cfg_type type;
    const char *def;        /* default, as it would be written in the file */
    const char *doc;        /* one line, written as a comment into the effective config */
    const char *choices;    /* CFG_CHOICE: "lsgan|vanilla|wgangp"; CFG_INT / CFG_FLOAT: NULL, or
                               CFG_MAX_EXCLUDED for the range [min, max) (Adam's beta1 = 1 divides
                               by zero); else NULL */
    double min, max;        /* CFG_INT / CFG_FLOAT: inclusive range, checked when min < max;
                               CFG_STR: the same on its length ({1, 4096}: not empty);
                               {0,0} = no range */
} cfg_key;

typedef struct cfg cfg;

cfg *cfg_new(void);
void cfg_free(cfg *c);

/* Adds keys (the strings are copied; defaults applied at once). A default that does not parse,
 * a key added twice, or an inconsistent entry (a choice without choices, a range on a string,
 * min > max, a name that is not [A-Za-z0-9_-]+) is a programming error: print and abort(). */
void cfg_add_keys(cfg *c, const cfg_key *keys, int n);

/* Parses an INI file against the schema. The first problem stops it with err = "FILE:LINE:
 * message" (unknown section or key, with the known ones listed and a "did you mean" when one is
 * within edit distance 2; malformed or out-of-range value; a choice not among the choices; a key
 * outside any section; a syntax error; a line longer than 199 characters) or "FILE: cannot open:
 * <strerror>", and returns -1 leaving c unchanged. A key given twice (in one section or in two
 * [section] blocks of the same name) is an error naming both lines ("FILE:9: train.lr is given
 * twice: here and on line 4"). A float that underflows (1e-400, or anything non-zero below
 * FLT_MIN) or exceeds FLT_MAX is refused. */
int cfg_parse_file(cfg *c, const char *path, char *err, size_t errlen);

/* One override "section.key=value" (as from the command line --set); the value is trimmed and
 * may be double-quoted. Errors read "--set section.key=value: message". */
int cfg_set(cfg *c, const char *assignment, char *err, size_t errlen);

/* Getters. Asking for a key not in the schema, or with the wrong type, is a programming error:
 * print "cfg: no key section.key" and abort(). CFG_CHOICE values are read with cfg_str. The
 * string stays valid until that key is set again or c is freed. */
long cfg_int(const cfg *c, const char *section, const char *key);
double cfg_float(const cfg *c, const char *section, const char *key);
int cfg_bool(const cfg *c, const char *section, const char *key);
const char *cfg_str(const cfg *c, const char *section, const char *key);

/* Sets one value from a program (e.g. --resume forcing a value); the text is validated like a
 * value read from a file (but not trimmed). Unknown key or bad value: -1 with err. */
int cfg_set_value(cfg *c, const char *section, const char *key, const char *value, char *err,
                  size_t errlen);

/* Writes the effective configuration: every key of the schema grouped by section in the order
 * they were added, each preceded by "; doc (default: X)" - a valid INI file that cfg_parse_file
 * reads back to the same values (values are written as the text they were given in, so floats
 * come back bit for bit). Atomic (atomic_open/atomic_commit). */
int cfg_write(const cfg *c, const char *path, char *err, size_t errlen);

/* Reads one raw value from an INI file without a schema (to learn e.g. [model] type before the
 * schema is known); quotes are stripped, a key given twice gives the later. Returns 0 and fills
 * out if found, 1 if the file has no such key, -1 with err (missing file: "FILE: cannot open:
 * ...", syntax error "FILE:LINE: syntax error", a value longer than outlen - 1). */
int cfg_peek(const char *path, const char *section, const char *key, char *out, size_t outlen,
             char *err, size_t errlen);

/* Prints the schema as a Markdown table (section, key, type, default, doc) - used to document
 * the INI keys in the README. */
void cfg_print_markdown(const cfg *c, FILE *f);

#endif
