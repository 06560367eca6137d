/*
 * template.c - Mustache (spec v1.4, required modules; no lambdas).
 *
 * A template is parsed whole into a node tree before anything is rendered,
 * so a syntax error never leaves half an email behind. Partials are parsed
 * when first used, once per (name, indentation) for each render.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "template.h"
#include "val.h"

#define MAX_TEMPLATE (1024 * 1024)
#define MAX_PARTIAL_DEPTH 64
/* Rendering recurses once per nested section: bound the nesting. */
#define MAX_SECTION_DEPTH 100
/* A partial that includes itself twice doubles the work at every level:
 * bound the nodes visited and the text produced, so a template can fail
 * but never hang or exhaust memory. */
#define MAX_STEPS (1L << 21)
#define MAX_OUTPUT (16L << 20)

enum node_type { N_TEXT, N_VAR, N_SECTION, N_INVERTED, N_PARTIAL };

struct nodes {
	struct node **v; /* owned */
	size_t n, cap;
};

struct node {
	enum node_type type;
	char *text;        /* owned: TEXT content or the tag name */
	size_t len;        /* of text */
	int escape;        /* VAR: {{x}} as opposed to {{{x}}} */
	int line;          /* of the tag */
	char *indent;      /* owned: standalone PARTIAL's indent */
	struct nodes kids; /* SECTION and INVERTED */
};

struct perr {
	int line;
	char msg[400];
};

static void nodes_free(struct nodes *l);

static void
node_free(struct node *n)
{
	if (n == NULL)
		return;
	free(n->text);
	free(n->indent);
	nodes_free(&n->kids);
	free(n);
}

static void
nodes_free(struct nodes *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		node_free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static struct node *
nodes_add(struct nodes *l, enum node_type t, const char *s, size_t len,
          int line)
{
	struct node *n = mp_xcalloc(1, sizeof(*n));

	n->type = t;
	n->text = mp_xstrndup(s, len);
	n->len = len;
	n->line = line;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = mp_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = n;
	return n;
}

/* ---- parsing ---- */

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int
is_space(char c)
{
	return is_blank(c) || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static const char *
find(const char *s, size_t from, size_t len, const char *pat, size_t plen)
{
	size_t i;

	if (plen == 0 || len < plen)
		return NULL;
	for (i = from; i + plen <= len; i++)
		if (s[i] == pat[0] && memcmp(s + i, pat, plen) == 0)
			return s + i;
	return NULL;
}

/* The closing delimiter, preceded by lead ('}' or '=') when lead != 0.
 * Returns the offset where the tag's content ends, or -1. */
static long
find_close(const char *s, size_t from, size_t len, char lead, const char *ctag,
           size_t clen)
{
	size_t at = from;
	const char *q;

	for (;;) {
		q = find(s, at, len, ctag, clen);
		if (q == NULL)
			return -1;
		if (lead == 0)
			return (long)(q - s);
		if ((size_t)(q - s) > from && q[-1] == lead)
			return (long)(q - s) - 1;
		at = (size_t)(q - s) + 1;
	}
}

static int
count_lines(const char *s, size_t from, size_t to)
{
	int n = 0;

	for (; from < to; from++)
		if (s[from] == '\n')
			n++;
	return n;
}

static int
perr_set(struct perr *pe, int line, const char *msg, const char *name,
         size_t nlen)
{
	if (name != NULL)
		snprintf(pe->msg, sizeof(pe->msg), msg, (int)nlen, name);
	else
		snprintf(pe->msg, sizeof(pe->msg), "%s", msg);
	pe->line = line;
	return -1;
}

/* "{{=<% %>=}}": content is "<% %>"; two words, no '=' in either. */
static int
set_delims(const char *c, size_t n, const char **otag, size_t *olen,
           const char **ctag, size_t *clen)
{
	size_t i = 0, a, b;

	while (i < n && is_space(c[i]))
		i++;
	a = i;
	while (i < n && !is_space(c[i]))
		i++;
	*otag = c + a;
	*olen = i - a;
	while (i < n && is_space(c[i]))
		i++;
	b = i;
	while (i < n && !is_space(c[i]))
		i++;
	*ctag = c + b;
	*clen = i - b;
	while (i < n && is_space(c[i]))
		i++;
	if (i != n || *olen == 0 || *clen == 0 ||
	    memchr(*otag, '=', *olen) != NULL ||
	    memchr(*ctag, '=', *clen) != NULL)
		return -1;
	return 0;
}

static int
parse(const char *src, size_t len, struct nodes *root, struct perr *pe)
{
	struct node *stack[MAX_SECTION_DEPTH];
	size_t depth = 0, pos = 0, t, p, q, end, ls, r, nlen;
	const char *otag = "{{", *ctag = "}}", *nm;
	size_t olen = 2, clen = 2;
	int line = 1, tline, standalone;
	struct nodes *cur = root;
	struct node *n;
	const char *hit;
	char kind, lead;
	long cl;

	while (pos < len) {
		hit = find(src, pos, len, otag, olen);
		if (hit == NULL) {
			nodes_add(cur, N_TEXT, src + pos, len - pos, line);
			break;
		}
		t = (size_t)(hit - src);
		tline = line + count_lines(src, pos, t);
		p = t + olen;
		kind = p < len ? src[p] : 'v';
		if (strchr("{&#^/>!=", kind) != NULL && kind != '\0')
			p++;
		else
			kind = 'v';
		lead = kind == '{' ? '}' : 0;
		if (kind == '=')
			lead = '=';
		cl = find_close(src, p, len, lead, ctag, clen);
		if (cl < 0)
			return perr_set(pe, tline, "unclosed tag", NULL, 0);
		q = (size_t)cl;
		end = q + clen + (kind == '{' || kind == '=');

		standalone = 0;
		if (strchr("#^/>!=", kind) != NULL) {
			ls = t;
			while (ls > pos && is_blank(src[ls - 1]))
				ls--;
			r = end;
			while (r < len && is_blank(src[r]))
				r++;
			if (ls == 0 || src[ls - 1] == '\n') {
				if (r == len) {
					standalone = 1;
				} else if (src[r] == '\n') {
					standalone = 1;
					r++;
				} else if (src[r] == '\r' && r + 1 < len &&
				           src[r + 1] == '\n') {
					standalone = 1;
					r += 2;
				}
			}
		}
		if (!standalone) {
			ls = t;
			r = end;
		}
		if (ls > pos)
			nodes_add(cur, N_TEXT, src + pos, ls - pos, line);

		nm = src + p;
		nlen = q - p;
		while (nlen > 0 && is_space(*nm)) {
			nm++;
			nlen--;
		}
		while (nlen > 0 && is_space(nm[nlen - 1]))
			nlen--;
		if (nlen == 0 && kind != '!' && kind != '=')
			return perr_set(pe, tline, "empty tag", NULL, 0);

		switch (kind) {
		case '!':
			break;
		case '=':
			if (set_delims(src + p, q - p, &otag, &olen, &ctag,
			               &clen) < 0)
				return perr_set(
				    pe, tline,
				    "invalid delimiters in set-delimiter tag",
				    NULL, 0);
			break;
		case '#':
		case '^':
			if (depth == MAX_SECTION_DEPTH)
				return perr_set(
				    pe, tline,
				    "sections nested too deep at '%.*s'", nm,
				    nlen);
			n = nodes_add(cur, kind == '#' ? N_SECTION : N_INVERTED,
			              nm, nlen, tline);
			stack[depth++] = n;
			cur = &n->kids;
			break;
		case '/':
			if (depth == 0)
				return perr_set(
				    pe, tline,
				    "close of section '%.*s' that is not open",
				    nm, nlen);
			n = stack[depth - 1];
			if (n->len != nlen || memcmp(n->text, nm, nlen) != 0) {
				perr_set(pe, tline, "mismatched close '%.*s'",
				         nm, nlen);
				snprintf(pe->msg + strlen(pe->msg),
				         sizeof(pe->msg) - strlen(pe->msg),
				         " for section '%s' opened on line %d",
				         n->text, n->line);
				return -1;
			}
			depth--;
			cur = depth > 0 ? &stack[depth - 1]->kids : root;
			break;
		case '>':
			n = nodes_add(cur, N_PARTIAL, nm, nlen, tline);
			if (standalone && t > ls)
				n->indent = mp_xstrndup(src + ls, t - ls);
			break;
		default:
			n = nodes_add(cur, N_VAR, nm, nlen, tline);
			n->escape = kind == 'v';
			break;
		}
		line += count_lines(src, pos, r);
		pos = r;
	}
	if (depth > 0)
		return perr_set(pe, stack[depth - 1]->line,
		                "unclosed section '%.*s'",
		                stack[depth - 1]->text, stack[depth - 1]->len);
	return 0;
}

/* Parse text; on error fills e with "LABEL:LINE: message". */
static int
parse_or_err(const char *label, const char *text, struct nodes *root,
             struct mp_err *e)
{
	struct perr pe;

	if (parse(text, strlen(text), root, &pe) == 0)
		return 0;
	nodes_free(root);
	return mp_err_set(e, MP_EX_DATAERR, "%s:%d: %s", label, pe.line,
	                  pe.msg);
}

/* The spec indents every line of a standalone partial's template (not of
 * the values interpolated into it). */
static char *
indent_text(const char *text, const char *indent)
{
	struct mp_buf b = MP_BUF_INIT;
	const char *s;

	mp_buf_adds(&b, indent);
	for (s = text; *s; s++) {
		mp_buf_addc(&b, *s);
		if (*s == '\n' && s[1] != '\0')
			mp_buf_adds(&b, indent);
	}
	return mp_buf_detach(&b);
}

/* ---- rendering ---- */

/* Supplies a partial's text and the label its errors carry. */
typedef char *(*loader_fn)(const char *name, void *ctx, char **label);

struct partial {
	char *name;   /* owned */
	char *indent; /* owned, "" when none */
	char *label;  /* owned */
	int missing;
	struct nodes tree;
};

/* Partials parsed so far, per (name, indentation). */
struct pcache {
	struct partial **v; /* owned */
	size_t n, cap;
};

struct render {
	int html;
	loader_fn load;
	void *lctx;
	struct pcache *cache;
	struct mp_buf *out;
	size_t start;       /* of this render's text in out */
	struct mp_err *e;
	long steps;
};

struct stack {
	const struct mp_val *v;
	const struct stack *up;
};

static const struct mp_val *
get_n(const struct mp_val *map, const char *key, size_t klen)
{
	return mp_val_getn(map, key, klen);
}

/* Dotted names: the first part is looked up through the context stack,
 * the rest only inside what it found (spec: "Broken Chain Resolution"). */
static const struct mp_val *
lookup(const struct stack *c, const char *name)
{
	const struct mp_val *v = NULL;
	const char *seg = name, *dot;
	size_t slen;

	if (strcmp(name, ".") == 0)
		return c != NULL ? c->v : NULL;
	dot = strchr(seg, '.');
	slen = dot != NULL ? (size_t)(dot - seg) : strlen(seg);
	for (; c != NULL; c = c->up) {
		v = get_n(c->v, seg, slen);
		if (v != NULL)
			break;
	}
	while (v != NULL && dot != NULL) {
		seg = dot + 1;
		dot = strchr(seg, '.');
		slen = dot != NULL ? (size_t)(dot - seg) : strlen(seg);
		v = get_n(v, seg, slen);
	}
	return v;
}

/* Integers print without a fraction; other numbers with the fewest
 * digits that read back as the same double (1.21 -> "1.21"). */
static void
format_num(double d, char *buf, size_t size)
{
	int prec;

	if (d == 0) {
		snprintf(buf, size, "0");
		return;
	}
	if (d > -1e15 && d < 1e15 && d == (double)(long long)d) {
		snprintf(buf, size, "%lld", (long long)d);
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

static void
add_escaped(struct mp_buf *b, const char *s)
{
	const char *run = s, *rep;

	for (; *s; s++) {
		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		default:
			continue;
		}
		mp_buf_add(b, run, (size_t)(s - run));
		mp_buf_adds(b, rep);
		run = s + 1;
	}
	mp_buf_add(b, run, (size_t)(s - run));
}

static void
interpolate(struct render *r, const struct mp_val *v, int escape)
{
	char num[64];
	const char *s;
	size_t len;

	switch (mp_val_type(v)) {
	case MP_V_STR:
		s = mp_val_get_strn(v, &len);
		if (!(escape && r->html)) {
			mp_buf_add(r->out, s, len);
			return;
		}
		break;
	case MP_V_NUM:
		format_num(mp_val_get_num(v), num, sizeof(num));
		s = num;
		break;
	case MP_V_BOOL:
		s = mp_val_truthy(v) ? "true" : "false";
		break;
	default:
		return;
	}
	if (escape && r->html)
		add_escaped(r->out, s);
	else
		mp_buf_adds(r->out, s);
}

static void
partial_free(struct partial *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p->indent);
	free(p->label);
	nodes_free(&p->tree);
	free(p);
}

static struct partial *
get_partial(struct render *r, const struct node *n)
{
	const char *indent = n->indent != NULL ? n->indent : "";
	struct partial *p;
	char *text, *ind;
	size_t i;

	for (i = 0; i < r->cache->n; i++) {
		p = r->cache->v[i];
		if (strcmp(p->name, n->text) == 0 &&
		    strcmp(p->indent, indent) == 0)
			return p;
	}
	p = mp_xcalloc(1, sizeof(*p));
	p->name = mp_xstrdup(n->text);
	p->indent = mp_xstrdup(indent);
	text = r->load != NULL ? r->load(n->text, r->lctx, &p->label) : NULL;
	if (p->label == NULL)
		p->label = mp_xstrdup(n->text);
	if (text == NULL) {
		p->missing = 1;
	} else {
		if (*indent) {
			ind = indent_text(text, indent);
			free(text);
			text = ind;
		}
		if (parse_or_err(p->label, text, &p->tree, r->e) < 0) {
			free(text);
			partial_free(p);
			return NULL;
		}
		free(text);
	}
	if (r->cache->n == r->cache->cap) {
		r->cache->cap = r->cache->cap ? r->cache->cap * 2 : 4;
		r->cache->v = mp_xrealloc(r->cache->v,
		                          r->cache->cap * sizeof(*r->cache->v));
	}
	r->cache->v[r->cache->n++] = p;
	return p;
}

static int render_nodes(struct render *r, const char *label,
                        const struct nodes *l, const struct stack *c,
                        int depth);

static int
render_section(struct render *r, const char *label, const struct node *n,
               const struct stack *c, int depth)
{
	const struct mp_val *v = lookup(c, n->text);
	struct stack s;
	size_t i, len;

	if (n->type == N_INVERTED)
		return mp_val_truthy(v)
		           ? 0
		           : render_nodes(r, label, &n->kids, c, depth);
	if (!mp_val_truthy(v))
		return 0;
	s.up = c;
	if (mp_val_type(v) != MP_V_LIST) {
		s.v = v;
		return render_nodes(r, label, &n->kids, &s, depth);
	}
	len = mp_val_len(v);
	for (i = 0; i < len; i++) {
		s.v = mp_val_at(v, i);
		if (render_nodes(r, label, &n->kids, &s, depth) < 0)
			return -1;
	}
	return 0;
}

static int
render_nodes(struct render *r, const char *label, const struct nodes *l,
             const struct stack *c, int depth)
{
	const struct node *n;
	struct partial *p;
	size_t i;

	for (i = 0; i < l->n; i++) {
		n = l->v[i];
		if (++r->steps > MAX_STEPS ||
		    r->out->len - r->start > MAX_OUTPUT)
			return mp_err_set(r->e, MP_EX_DATAERR,
			                  "%s:%d: template too costly to render "
			                  "(recursive partials?)",
			                  label, n->line);
		switch (n->type) {
		case N_TEXT:
			mp_buf_add(r->out, n->text, n->len);
			break;
		case N_VAR:
			interpolate(r, lookup(c, n->text), n->escape);
			break;
		case N_SECTION:
		case N_INVERTED:
			if (render_section(r, label, n, c, depth) < 0)
				return -1;
			break;
		case N_PARTIAL:
			if (depth >= MAX_PARTIAL_DEPTH)
				return mp_err_set(
				    r->e, MP_EX_DATAERR,
				    "%s:%d: partial recursion too deep", label,
				    n->line);
			p = get_partial(r, n);
			if (p == NULL)
				return -1;
			if (!p->missing && render_nodes(r, p->label, &p->tree,
			                                c, depth + 1) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

static void
pcache_free(struct pcache *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		partial_free(c->v[i]);
	free(c->v);
	c->v = NULL;
	c->n = c->cap = 0;
}

/* Renders straight into out; on an error out is cut back to where it
 * was, so a failed render never leaves half a text behind. */
static int
render_tree(const char *name, const struct nodes *root,
            const struct mp_val *data, int html, loader_fn load, void *lctx,
            struct pcache *cache, struct mp_buf *out, struct mp_err *e)
{
	struct render r;
	struct stack s;
	int rc;

	memset(&r, 0, sizeof(r));
	r.html = html;
	r.load = load;
	r.lctx = lctx;
	r.cache = cache;
	r.out = out;
	r.start = out->len;
	r.e = e;
	s.v = data;
	s.up = NULL;
	rc = render_nodes(&r, name, root, &s, 0);
	if (rc != 0 && out->data != NULL) {
		out->len = r.start;
		out->data[out->len] = '\0';
	}
	return rc;
}

static int
render(const char *name, const char *text, const struct mp_val *data, int html,
       loader_fn load, void *lctx, struct mp_buf *out, struct mp_err *e)
{
	struct nodes root = {NULL, 0, 0};
	struct pcache cache = {NULL, 0, 0};
	int rc;

	if (parse_or_err(name, text, &root, e) < 0)
		return -1;
	rc = render_tree(name, &root, data, html, load, lctx, &cache, out, e);
	pcache_free(&cache);
	nodes_free(&root);
	return rc;
}

struct user_loader {
	mp_partial_fn fn;
	void *ctx;
};

static char *
user_load(const char *name, void *ctx, char **label)
{
	struct user_loader *u = ctx;

	*label = NULL;
	return u->fn(name, u->ctx);
}

int
mp_template_render(const char *name, const char *text,
                   const struct mp_val *data, int html, mp_partial_fn partial,
                   void *ctx, struct mp_buf *out, struct mp_err *e)
{
	struct user_loader u = {partial, ctx};

	return render(name, text != NULL ? text : "", data, html,
	              partial != NULL ? user_load : NULL, &u, out, e);
}

/* ---- files ---- */

struct tfile {
	char *dir;       /* owned */
	const char *ext; /* borrowed from the path */
	int html;
};

static void
tfile_init(struct tfile *f, const char *path)
{
	const char *base = strrchr(path, '/'), *dot;

	if (base != NULL) {
		f->dir = mp_xstrndup(path, (size_t)(base - path) + 1);
		base++;
	} else {
		f->dir = mp_xstrdup("");
		base = path;
	}
	/* A leading dot marks a hidden file, not an extension. */
	dot = *base ? strchr(base + 1, '.') : NULL;
	f->ext = dot != NULL ? dot : "";
	f->html = strstr(base, ".html") != NULL;
}

/* "<dir>/<name><ext>", else "<dir>/<name>". Names that could leave the
 * folder are treated as missing. */
static char *
load_file_partial(const char *name, void *ctx, char **label)
{
	const struct tfile *f = ctx;
	struct mp_buf path = MP_BUF_INIT;
	char *text = NULL;
	int pass;

	*label = NULL;
	if (*name == '\0' || strchr(name, '/') != NULL ||
	    strstr(name, "..") != NULL)
		return NULL;
	for (pass = *f->ext ? 0 : 1; pass < 2 && text == NULL; pass++) {
		mp_buf_reset(&path);
		mp_buf_printf(&path, "%s%s%s", f->dir, name,
		              pass == 0 ? f->ext : "");
		if (mp_read_file(mp_buf_str(&path), MAX_TEMPLATE, &text, NULL) <
		    0)
			text = NULL;
	}
	if (text != NULL)
		*label = mp_buf_detach(&path);
	mp_buf_free(&path);
	return text;
}

static int
read_template(const char *path, char **text, struct mp_err *e)
{
	if (mp_read_file(path, MAX_TEMPLATE, text, NULL) == 0)
		return 0;
	if (errno == EFBIG)
		return mp_err_set(e, MP_EX_DATAERR,
		                  "%s: template larger than %d bytes", path,
		                  MAX_TEMPLATE);
	return mp_err_set(e, MP_EX_NOINPUT, "%s: %s", path, strerror(errno));
}

int
mp_template_render_file(const char *path, const struct mp_val *data,
                        struct mp_buf *out, struct mp_err *e)
{
	struct tfile f;
	char *text;
	int rc;

	if (read_template(path, &text, e) < 0)
		return -1;
	tfile_init(&f, path);
	rc = render(path, text, data, f.html, load_file_partial, &f, out, e);
	free(f.dir);
	free(text);
	return rc;
}

/* ---- compiled templates ---- */

struct mp_template {
	char *name;  /* owned: the label of its errors */
	char *path;  /* owned, or NULL: f.ext points into it */
	int html;
	struct nodes root;
	loader_fn load;
	void *lctx; /* &u or &f */
	struct user_loader u;
	struct tfile f; /* f.dir owned when path is set */
	struct pcache cache;
};

int
mp_template_compile(const char *name, const char *text, int html,
                    mp_partial_fn partial, void *ctx,
                    struct mp_template **out, struct mp_err *e)
{
	struct mp_template *t = mp_xcalloc(1, sizeof(*t));

	*out = NULL;
	t->name = mp_xstrdup(name);
	t->html = html;
	t->u.fn = partial;
	t->u.ctx = ctx;
	t->load = partial != NULL ? user_load : NULL;
	t->lctx = &t->u;
	if (parse_or_err(name, text != NULL ? text : "", &t->root, e) < 0) {
		mp_template_free(t);
		return -1;
	}
	*out = t;
	return 0;
}

int
mp_template_load(const char *path, struct mp_template **out,
                 struct mp_err *e)
{
	struct mp_template *t;
	char *text;

	*out = NULL;
	if (read_template(path, &text, e) < 0)
		return -1;
	t = mp_xcalloc(1, sizeof(*t));
	t->name = mp_xstrdup(path);
	t->path = mp_xstrdup(path);
	tfile_init(&t->f, t->path);
	t->html = t->f.html;
	t->load = load_file_partial;
	t->lctx = &t->f;
	if (parse_or_err(path, text, &t->root, e) < 0) {
		free(text);
		mp_template_free(t);
		return -1;
	}
	free(text);
	*out = t;
	return 0;
}

int
mp_template_apply(struct mp_template *t, const struct mp_val *data,
                  struct mp_buf *out, struct mp_err *e)
{
	return render_tree(t->name, &t->root, data, t->html, t->load, t->lctx,
	                   &t->cache, out, e);
}

void
mp_template_free(struct mp_template *t)
{
	if (t == NULL)
		return;
	pcache_free(&t->cache);
	nodes_free(&t->root);
	free(t->f.dir);
	free(t->path);
	free(t->name);
	free(t);
}

struct seen {
	char **v; /* owned */
	size_t n, cap;
};

static int
seen_add(struct seen *s, const char *path)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], path) == 0)
			return 0;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = mp_xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = mp_xstrdup(path);
	return 1;
}

static int check_text(const char *label, const char *text,
                      const struct tfile *f, struct seen *s, struct mp_diag *d);

static int
check_partials(const char *label, const struct nodes *l, const struct tfile *f,
               struct seen *s, struct mp_diag *d)
{
	const struct node *n;
	char *text, *ppath;
	int problems = 0;
	size_t i;

	for (i = 0; i < l->n; i++) {
		n = l->v[i];
		if (n->type == N_SECTION || n->type == N_INVERTED)
			problems += check_partials(label, &n->kids, f, s, d);
		if (n->type != N_PARTIAL)
			continue;
		text = load_file_partial(n->text, (void *)f, &ppath);
		if (text == NULL) {
			mp_diag_add(d, label, n->line, "unknown partial '%s'",
			            n->text);
			problems++;
			continue;
		}
		if (seen_add(s, ppath))
			problems += check_text(ppath, text, f, s, d);
		free(ppath);
		free(text);
	}
	return problems;
}

static int
check_text(const char *label, const char *text, const struct tfile *f,
           struct seen *s, struct mp_diag *d)
{
	struct nodes root = {NULL, 0, 0};
	struct perr pe;
	int problems;

	if (parse(text, strlen(text), &root, &pe) < 0) {
		nodes_free(&root);
		mp_diag_add(d, label, pe.line, "%s", pe.msg);
		return 1;
	}
	problems = check_partials(label, &root, f, s, d);
	nodes_free(&root);
	return problems;
}

int
mp_template_check(const char *path, struct mp_diag *d)
{
	struct seen s = {NULL, 0, 0};
	struct mp_err e;
	struct tfile f;
	char *text;
	size_t i;
	int problems;

	if (read_template(path, &text, &e) < 0) {
		/* e.msg already starts with the path. */
		mp_diag_add(d, path, 0, "%s", e.msg + strlen(path) + 2);
		return 1;
	}
	tfile_init(&f, path);
	seen_add(&s, path);
	problems = check_text(path, text, &f, &s, d);
	for (i = 0; i < s.n; i++)
		free(s.v[i]);
	free(s.v);
	free(f.dir);
	free(text);
	return problems;
}
