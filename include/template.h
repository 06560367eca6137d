/*
 * template.h - Mustache templates (spec v1.4: interpolation, sections,
 * inverted sections, comments, partials, set delimiters).
 *
 * HTML escaping of {{x}} applies when the template's file name contains
 * ".html"; text templates do not escape. {{> name}} loads "name" plus the
 * including template's extension(s) ("header.html" from "digest.html"),
 * else "name" as is, from the including template's folder. Partials named
 * in partials use the top template's extension too. Names containing "/"
 * or ".." are never loaded (they render empty, and check reports them).
 *
 * Syntax errors (unclosed tag or section, mismatched close, bad
 * set-delimiter tag, empty tag) are MP_EX_DATAERR with a message
 * "NAME:LINE: ...", as is a partial recursion deeper than 64 and a
 * render that visits more than 2^21 nodes or produces more than 16 MiB
 * (partials that include themselves twice grow exponentially).
 */
#ifndef MP_TEMPLATE_H
#define MP_TEMPLATE_H

#include <stddef.h>

struct mp_buf;
struct mp_err;
struct mp_val;
struct mp_diag;

/* Supplies a partial's text (NUL terminated, caller of the loader frees)
 * or NULL when there is none (rendered as empty, per the spec). */
typedef char *(*mp_partial_fn)(const char *name, void *ctx);

/* Render template text. name is used in error messages ("FILE:LINE:").
 * Appends to out. Returns 0, or -1 with e set on a syntax error. */
int mp_template_render(const char *name, const char *text,
    const struct mp_val *data, int html, mp_partial_fn partial, void *ctx,
    struct mp_buf *out, struct mp_err *e);

/* Render the file at path (at most 1 MiB) with partials from its folder;
 * HTML-escapes when its base name contains ".html". An unreadable file is
 * MP_EX_NOINPUT. */
int mp_template_render_file(const char *path, const struct mp_val *data,
    struct mp_buf *out, struct mp_err *e);

/* A template parsed once for many renders (the digests of every member):
 * partials are read and parsed when first used and then kept with it.
 * Errors as for mp_template_render / mp_template_render_file. The
 * template is owned by the caller (mp_template_free); ctx and the
 * partial function must outlive it. */
struct mp_template;

int mp_template_compile(const char *name, const char *text, int html,
    mp_partial_fn partial, void *ctx, struct mp_template **out,
    struct mp_err *e);
int mp_template_load(const char *path, struct mp_template **out,
    struct mp_err *e);
/* Appends to out; on an error out is left as it was. */
int mp_template_apply(struct mp_template *t, const struct mp_val *data,
    struct mp_buf *out, struct mp_err *e);
void mp_template_free(struct mp_template *t);

/* Check a template file (and the partials it names) for syntax errors
 * and unknown partials; each problem goes to d as FILE:LINE: message.
 * Returns the number of problems found. */
int mp_template_check(const char *path, struct mp_diag *d);

#endif
