/*
 * thread.c - JWZ threading (https://www.jwz.org/doc/threading.html),
 * with RFC 5256 section 2.2's refinements: a message's own References
 * replace a parent guessed earlier, and no link may close a loop.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "thread.h"

#define NONE SIZE_MAX

struct cont {
	const char *id;         /* borrowed from the input; NULL: no id */
	size_t msg;             /* input index, NONE for an empty container */
	size_t parent;
	size_t nchild;          /* while linking: cheap loop test */
	size_t first_child;     /* sibling lists, built for the output */
	size_t next;
	size_t up;              /* pruning: resolved ancestor */
	size_t merge;           /* grouping: empty root absorbed into */
	int dead;
};

struct table {
	size_t *slot;           /* container index or NONE */
	size_t cap, used;
};

struct ctx {
	const struct mp_thread_in *in;
	const int *mark;        /* may be NULL */
	struct cont *c;
	size_t n, cap;
	struct table t;
};

static uint64_t
hash_str(const char *s)
{
	return mp_hash(s, strlen(s));
}

static size_t
cont_new(struct ctx *x, const char *id)
{
	struct cont *c;

	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 256;
		x->c = mp_xrealloc(x->c, x->cap * sizeof(*x->c));
	}
	c = &x->c[x->n];
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->msg = c->parent = c->first_child = c->next = NONE;
	c->up = c->merge = NONE;
	return x->n++;
}

/* Room for at least want containers (at most half full), or twice as
 * much as now. */
static void
table_grow(struct ctx *x, size_t want)
{
	size_t *old = x->t.slot, oldcap = x->t.cap, i, j;

	x->t.cap = oldcap ? oldcap * 2 : 1024;
	while (x->t.cap < 2 * want)
		x->t.cap *= 2;
	x->t.slot = mp_xmalloc(x->t.cap * sizeof(size_t));
	for (i = 0; i < x->t.cap; i++)
		x->t.slot[i] = NONE;
	for (i = 0; i < oldcap; i++) {
		if (old[i] == NONE)
			continue;
		j = hash_str(x->c[old[i]].id) & (x->t.cap - 1);
		while (x->t.slot[j] != NONE)
			j = (j + 1) & (x->t.cap - 1);
		x->t.slot[j] = old[i];
	}
	free(old);
}

/* The container for id, created empty when new. *created tells. */
static size_t
lookup(struct ctx *x, const char *id, int *created)
{
	size_t j, k;

	if ((x->t.used + 1) * 2 > x->t.cap)
		table_grow(x, 0);
	j = hash_str(id) & (x->t.cap - 1);
	while ((k = x->t.slot[j]) != NONE) {
		/* callers often pass the same (interned) pointer */
		if (x->c[k].id == id || strcmp(x->c[k].id, id) == 0) {
			*created = 0;
			return k;
		}
		j = (j + 1) & (x->t.cap - 1);
	}
	k = cont_new(x, id);
	x->t.slot[j] = k;
	x->t.used++;
	*created = 1;
	return k;
}

/* Would making c a child of p close a loop (c is p or above p)? */
static int
would_loop(const struct ctx *x, size_t p, size_t c)
{
	if (p == c)
		return 1;
	if (x->c[c].nchild == 0)
		return 0;
	for (; p != NONE; p = x->c[p].parent)
		if (p == c)
			return 1;
	return 0;
}

static void
set_parent(struct ctx *x, size_t c, size_t p)
{
	if (x->c[c].parent != NONE)
		x->c[x->c[c].parent].nchild--;
	x->c[c].parent = p;
	if (p != NONE)
		x->c[p].nchild++;
}

static int
nonempty(const char *s)
{
	return s != NULL && *s != '\0';
}

/* JWZ step 1. */
static void
link_message(struct ctx *x, size_t i)
{
	const struct mp_thread_in *m = &x->in[i];
	const char *const *refs = m->refs;
	size_t nrefs = m->nrefs, c, r, prev = NONE, k;
	int created;

	if (nonempty(m->message_id)) {
		c = lookup(x, m->message_id, &created);
		/* A second message with the same id keeps a container of
		 * its own (RFC 5256 2.2 1.A), so neither message is lost. */
		if (x->c[c].msg != NONE)
			c = cont_new(x, NULL);
	} else {
		c = cont_new(x, NULL);
	}
	x->c[c].msg = i;
	if (refs == NULL || nrefs == 0) {
		refs = &m->in_reply_to;
		nrefs = 1;
	}
	for (k = 0; k < nrefs; k++) {
		if (!nonempty(refs[k]))
			continue;
		r = lookup(x, refs[k], &created);
		if (r == c)
			continue;
		/* An earlier message may have linked r already: keep that,
		 * and never close a loop. */
		if (prev != NONE && x->c[r].parent == NONE &&
		    !would_loop(x, prev, r))
			set_parent(x, r, prev);
		prev = r;
	}
	/*
	 * In-Reply-To names the parent when it disagrees with the last
	 * reference: clients and gateways trim, reorder and mistype
	 * References far more often than they get In-Reply-To wrong
	 * (notmuch trusts it the same way).
	 */
	if (refs != &m->in_reply_to && nonempty(m->in_reply_to) &&
	    (prev == NONE || strcmp(x->c[prev].id, m->in_reply_to) != 0)) {
		r = lookup(x, m->in_reply_to, &created);
		if (r != c)
			prev = r;
	}
	/* The message's own headers are authoritative: drop a parent
	 * guessed from other messages before linking the real one. */
	set_parent(x, c, NONE);
	if (prev != NONE && !would_loop(x, prev, c))
		set_parent(x, c, prev);
}
/* Nearest ancestor of c that survives pruning: a message, or an empty
 * root. Path compression keeps long empty chains linear. */
static size_t
resolve(struct ctx *x, size_t p, size_t *stack)
{
	size_t top = 0, target;

	while (x->c[p].msg == NONE && x->c[p].parent != NONE &&
	    x->c[p].up == NONE) {
		stack[top++] = p;
		p = x->c[p].parent;
	}
	target = x->c[p].msg == NONE && x->c[p].parent != NONE ?
	    x->c[p].up : p;
	while (top > 0)
		x->c[stack[--top]].up = target;
	return target;
}

/* JWZ step 4, on parent links: empty containers vanish and their
 * children move up, except at the root where an empty container with
 * several children stays (their common missing parent). */
static void
prune(struct ctx *x)
{
	size_t i, *newp, *stack, *cnt, *only;

	newp = mp_xmalloc(x->n * sizeof(size_t));
	stack = mp_xmalloc(x->n * sizeof(size_t));
	cnt = mp_xcalloc(x->n, sizeof(size_t));
	only = mp_xmalloc(x->n * sizeof(size_t));
	for (i = 0; i < x->n; i++) {
		newp[i] = NONE;
		if (x->c[i].msg != NONE && x->c[i].parent != NONE)
			newp[i] = resolve(x, x->c[i].parent, stack);
	}
	for (i = 0; i < x->n; i++) {
		if (x->c[i].msg == NONE && x->c[i].parent != NONE)
			x->c[i].dead = 1;
		x->c[i].parent = newp[i];
		if (newp[i] != NONE && x->c[newp[i]].msg == NONE) {
			cnt[newp[i]]++;
			only[newp[i]] = i;
		}
	}
	for (i = 0; i < x->n; i++) {
		if (x->c[i].dead || x->c[i].msg != NONE)
			continue;
		if (cnt[i] <= 1)
			x->c[i].dead = 1;
		if (cnt[i] == 1)
			x->c[only[i]].parent = NONE;
	}
	free(newp);
	free(stack);
	free(cnt);
	free(only);
}

/* Each live container's root, with path compression. */
static void
find_roots(const struct ctx *x, size_t *top, size_t *stack)
{
	size_t i, p, k;

	for (i = 0; i < x->n; i++)
		top[i] = NONE;
	for (i = 0; i < x->n; i++) {
		if (x->c[i].dead || top[i] != NONE)
			continue;
		k = 0;
		for (p = i; x->c[p].parent != NONE && top[p] == NONE;
		    p = x->c[p].parent)
			stack[k++] = p;
		p = top[p] != NONE ? top[p] : p;
		while (k > 0)
			top[stack[--k]] = p;
		top[p] = p;
	}
}

struct root {
	struct mp_thread_root p;        /* what mp_thread_build_roots tells */
	size_t c;
	size_t join;                    /* root index it joins, or NONE */
};

static int
root_cmp(const void *a, const void *b)
{
	const struct root *x = a, *y = b;
	int s = strcmp(x->p.subject, y->p.subject);

	if (s != 0)
		return s;
	if (x->p.first != y->p.first)
		return x->p.first < y->p.first ? -1 : 1;
	return x->p.msg < y->p.msg ? -1 : x->p.msg > y->p.msg;
}

/* How far apart two date ranges are (0 when they overlap). */
static int64_t
gap(const struct root *a, const struct root *b)
{
	if (b->p.first > a->p.last)
		return b->p.first - a->p.last;
	if (a->p.first > b->p.last)
		return a->p.first - b->p.last;
	return 0;
}

static void
widen(struct root *a, const struct root *b)
{
	if (b->p.first < a->p.first)
		a->p.first = b->p.first;
	if (b->p.last > a->p.last)
		a->p.last = b->p.last;
}

/* How many anchors are looked at on each side of a reply: generic
 * subjects ("Minutes") can be shared by hundreds of threads. */
#define MAX_SCAN 64

/* Reply roots of one subject group [lo, hi) (sorted by first date) join a
 * non-reply root: the latest that started before them, else the earliest
 * after them, within window. */
static void
join_group(struct root *r, size_t lo, size_t hi, int64_t window)
{
	size_t i, k, steps, anchor = NONE;

	for (i = lo; i < hi; i++) {
		if (!r[i].p.reply)
			continue;
		for (k = i, steps = 0; k-- > lo && steps < MAX_SCAN;) {
			if (r[k].p.reply)
				continue;
			steps++;
			if (gap(&r[k], &r[i]) <= window) {
				r[i].join = k;
				break;
			}
		}
		for (k = i + 1, steps = 0; r[i].join == NONE && k < hi &&
		    steps < MAX_SCAN; k++) {
			if (r[k].p.reply)
				continue;
			steps++;
			if (r[k].p.first - r[i].p.last > window)
				break;
			if (gap(&r[k], &r[i]) <= window)
				r[i].join = k;
		}
		if (r[i].join != NONE)
			widen(&r[r[i].join], &r[i]);
	}
	/* the rest: replies whose original thread is not here */
	for (i = lo; i < hi; i++) {
		if (!r[i].p.reply || r[i].join != NONE)
			continue;
		if (anchor != NONE && gap(&r[anchor], &r[i]) <= window) {
			r[i].join = anchor;
			widen(&r[anchor], &r[i]);
		} else {
			anchor = i;
		}
	}
}

/* JWZ step 5, restricted: only roots whose subject says they answer
 * something are grouped by subject, and only with threads close in time,
 * so that generic subjects shared by unrelated threads stay apart. */
static void
group_subjects(struct ctx *x, int64_t window, struct mp_thread_root **out,
    size_t *nout)
{
	const struct mp_thread_in *in = x->in;
	struct root *r;
	size_t i, j, nr = 0, m, *top, *stack, *best;
	int64_t *first, *last;
	int *mark;
	char *has;

	top = mp_xmalloc((x->n ? x->n : 1) * sizeof(size_t));
	stack = mp_xmalloc((x->n ? x->n : 1) * sizeof(size_t));
	best = mp_xmalloc((x->n ? x->n : 1) * sizeof(size_t));
	first = mp_xmalloc((x->n ? x->n : 1) * sizeof(int64_t));
	last = mp_xmalloc((x->n ? x->n : 1) * sizeof(int64_t));
	has = mp_xcalloc(x->n ? x->n : 1, 1);
	mark = mp_xcalloc(x->n ? x->n : 1, sizeof(int));
	find_roots(x, top, stack);
	for (i = 0; i < x->n; i++)
		best[i] = NONE;
	/* date range of each tree; an empty root stands for its earliest
	 * child */
	for (i = 0; i < x->n; i++) {
		if (x->c[i].dead || (m = x->c[i].msg) == NONE)
			continue;
		j = top[i];
		if (!has[j]) {
			first[j] = last[j] = in[m].date;
			has[j] = 1;
		} else if (in[m].date < first[j]) {
			first[j] = in[m].date;
		} else if (in[m].date > last[j]) {
			last[j] = in[m].date;
		}
		if (x->mark != NULL && x->mark[m] > mark[j])
			mark[j] = x->mark[m];
		if (x->c[j].msg == NONE && x->c[i].parent == j &&
		    (best[j] == NONE || in[m].date < in[best[j]].date ||
		    (in[m].date == in[best[j]].date && m < best[j])))
			best[j] = m;
	}
	r = mp_xmalloc((x->n ? x->n : 1) * sizeof(*r));
	for (i = 0; i < x->n; i++) {
		if (x->c[i].dead || x->c[i].parent != NONE || !has[i])
			continue;
		m = x->c[i].msg != NONE ? x->c[i].msg : best[i];
		if (m == NONE || !nonempty(in[m].subject_norm))
			continue;
		r[nr].c = i;
		r[nr].p.subject = in[m].subject_norm;
		r[nr].p.first = first[i];
		r[nr].p.last = last[i];
		r[nr].p.msg = m;
		r[nr].p.reply = x->c[i].msg == NONE || in[m].is_reply;
		r[nr].p.mark = mark[i];
		r[nr].join = NONE;
		nr++;
	}
	free(mark);
	free(top);
	free(stack);
	free(first);
	free(last);
	free(best);
	free(has);
	qsort(r, nr, sizeof(*r), root_cmp);
	if (out != NULL) {
		*out = mp_xmalloc((nr ? nr : 1) * sizeof(**out));
		*nout = nr;
		for (i = 0; i < nr; i++)
			(*out)[i] = r[i].p;
	}
	if (window >= 0) {
		for (i = 0; i < nr; i = j) {
			for (j = i + 1; j < nr &&
			    strcmp(r[j].p.subject, r[i].p.subject) == 0; j++)
				;
			join_group(r, i, j, window);
		}
	}
	for (i = 0; i < nr; i++) {
		if (r[i].join == NONE)
			continue;
		/* anchors never join, so one step reaches the final root */
		j = r[r[i].join].c;
		if (x->c[r[i].c].msg == NONE)
			x->c[r[i].c].merge = j;
		else
			x->c[r[i].c].parent = j;
	}
	for (i = 0; i < x->n; i++) {
		j = x->c[i].parent;
		if (j != NONE && x->c[j].merge != NONE)
			x->c[i].parent = x->c[j].merge;
	}
	for (i = 0; i < x->n; i++)
		if (x->c[i].merge != NONE)
			x->c[i].dead = 1;
	free(r);
}

struct key {
	size_t parent;
	int64_t date;
	size_t msg;
	size_t c;
};

static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->msg < y->msg ? -1 : x->msg > y->msg;
}

/* Siblings in date order, then input order (children are never empty:
 * pruning left empty containers only at the root). */
static void
build_children(struct ctx *x)
{
	struct key *v = mp_xmalloc((x->n ? x->n : 1) * sizeof(*v));
	size_t i, k = 0;

	for (i = 0; i < x->n; i++) {
		if (x->c[i].dead || x->c[i].parent == NONE)
			continue;
		v[k].parent = x->c[i].parent;
		v[k].date = x->in[x->c[i].msg].date;
		v[k].msg = x->c[i].msg;
		v[k].c = i;
		k++;
	}
	qsort(v, k, sizeof(*v), key_cmp);
	for (i = k; i-- > 0;) {
		x->c[v[i].c].next = x->c[v[i].parent].first_child;
		x->c[v[i].parent].first_child = v[i].c;
	}
	free(v);
}

/* Depth-first without recursion: threads can be thousands deep.
 * Returns the message the thread is named after when it has no earlier
 * id, or NONE. */
static size_t
walk(const struct ctx *x, size_t root, struct mp_thread *t, size_t *msgs,
    size_t *depth)
{
	size_t node = root, d = 0, n = 0;
	int empty = x->c[root].msg == NONE;
	size_t best = NONE;
	const struct mp_thread_in *in = x->in;

	for (;;) {
		if (x->c[node].msg != NONE) {
			msgs[n] = x->c[node].msg;
			depth[n] = d - (empty ? 1 : 0);
			n++;
		}
		if (x->c[node].first_child != NONE) {
			node = x->c[node].first_child;
			d++;
			continue;
		}
		while (node != root && x->c[node].next == NONE) {
			node = x->c[node].parent;
			d--;
		}
		if (node == root)
			break;
		node = x->c[node].next;
	}
	t->n = n;
	t->msgs = mp_xmalloc(n * sizeof(size_t));
	t->depth = mp_xmalloc(n * sizeof(size_t));
	memcpy(t->msgs, msgs, n * sizeof(size_t));
	memcpy(t->depth, depth, n * sizeof(size_t));
	t->last = in[msgs[0]].date;
	for (d = 0; d < n; d++) {
		if (in[msgs[d]].date > t->last)
			t->last = in[msgs[d]].date;
		if (!nonempty(in[msgs[d]].message_id))
			continue;
		if (best == NONE || in[msgs[d]].date < in[best].date ||
		    (in[msgs[d]].date == in[best].date && msgs[d] < best))
			best = msgs[d];
	}
	if (!empty && nonempty(in[x->c[root].msg].message_id))
		best = x->c[root].msg;
	return best;
}

/* A set of strings (borrowed), for the ids already given. */
struct sset {
	const char **slot;
	size_t cap;
};

static int
sset_add(struct sset *s, const char *v)
{
	size_t j = hash_str(v) & (s->cap - 1);

	while (s->slot[j] != NULL) {
		if (strcmp(s->slot[j], v) == 0)
			return 0;
		j = (j + 1) & (s->cap - 1);
	}
	s->slot[j] = v;
	return 1;
}

static int
sset_has(const struct sset *s, const char *v)
{
	size_t j = hash_str(v) & (s->cap - 1);

	while (s->slot[j] != NULL) {
		if (strcmp(s->slot[j], v) == 0)
			return 1;
		j = (j + 1) & (s->cap - 1);
	}
	return 0;
}

struct when {
	int64_t date;
	size_t idx;             /* input index */
	size_t t;               /* thread */
};

static int
when_cmp(const void *a, const void *b)
{
	const struct when *x = a, *y = b;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Stable names (see thread.h): recorded ids first, in the order of each
 * thread's earliest message, then new names for the rest. */
static void
assign_ids(const struct mp_thread_in *in, struct mp_thread *t, size_t nt,
    const size_t *named, size_t n)
{
	struct sset taken;
	struct when *order, *cand;
	struct mp_buf b = MP_BUF_INIT;
	size_t i, k, nc, q;
	unsigned long sfx;

	for (taken.cap = 16; taken.cap < nt * 2 + 2; taken.cap *= 2)
		;
	taken.slot = mp_xcalloc(taken.cap, sizeof(*taken.slot));
	order = mp_xmalloc((nt ? nt : 1) * sizeof(*order));
	cand = mp_xmalloc((n ? n : 1) * sizeof(*cand));
	for (i = 0; i < nt; i++) {
		order[i].date = in[t[i].msgs[0]].date;
		order[i].idx = t[i].msgs[0];
		order[i].t = i;
		for (k = 1; k < t[i].n; k++) {
			q = t[i].msgs[k];
			if (in[q].date < order[i].date ||
			    (in[q].date == order[i].date && q < order[i].idx)) {
				order[i].date = in[q].date;
				order[i].idx = q;
			}
		}
	}
	qsort(order, nt, sizeof(*order), when_cmp);
	for (i = 0; i < nt; i++) {
		struct mp_thread *th = &t[order[i].t];

		for (k = nc = 0; k < th->n; k++) {
			q = th->msgs[k];
			if (!nonempty(in[q].thread))
				continue;
			cand[nc].date = in[q].date;
			cand[nc].idx = q;
			nc++;
		}
		qsort(cand, nc, sizeof(*cand), when_cmp);
		for (k = 0; k < nc; k++) {
			if (!sset_has(&taken, in[cand[k].idx].thread)) {
				th->id = mp_xstrdup(in[cand[k].idx].thread);
				sset_add(&taken, th->id);
				break;
			}
		}
	}
	for (i = 0; i < nt; i++) {
		struct mp_thread *th = &t[order[i].t];
		const char *base;

		if (th->id != NULL)
			continue;
		base = named[order[i].t] != NONE ?
		    in[named[order[i].t]].message_id : "";
		if (*base == '\0' || !sset_has(&taken, base)) {
			th->id = mp_xstrdup(base);
			if (*base != '\0')
				sset_add(&taken, th->id);
			continue;
		}
		for (sfx = 2;; sfx++) {
			mp_buf_reset(&b);
			mp_buf_printf(&b, "%s#%lu", base, sfx);
			if (!sset_has(&taken, mp_buf_str(&b)))
				break;
		}
		th->id = mp_buf_detach(&b);
		sset_add(&taken, th->id);
	}
	mp_buf_free(&b);
	free(cand);
	free(order);
	free(taken.slot);
}

static int
thread_cmp(const void *a, const void *b)
{
	const struct mp_thread *x = a, *y = b;
	int s;

	if (x->last != y->last)
		return x->last > y->last ? -1 : 1;
	s = strcmp(x->id, y->id);
	if (s != 0)
		return s;
	return x->msgs[0] < y->msgs[0] ? -1 : x->msgs[0] > y->msgs[0];
}

int
mp_thread_build(const struct mp_thread_in *in, size_t n,
    struct mp_thread **out, size_t *nthreads)
{
	return mp_thread_build_window(in, n, MP_THREAD_SUBJECT_WINDOW, out,
	    nthreads);
}

int
mp_thread_build_window(const struct mp_thread_in *in, size_t n,
    int64_t window, struct mp_thread **out, size_t *nthreads)
{
	return mp_thread_build_roots(in, n, window, NULL, out, nthreads, NULL,
	    NULL);
}

int
mp_thread_build_roots(const struct mp_thread_in *in, size_t n,
    int64_t window, const int *mark, struct mp_thread **out,
    size_t *nthreads, struct mp_thread_root **roots, size_t *nroots)
{
	struct ctx x;
	struct mp_thread *t;
	size_t i, nt = 0, *msgs, *depth, *named;

	if (out != NULL) {
		*out = NULL;
		*nthreads = 0;
	}
	if (roots != NULL) {
		*roots = NULL;
		*nroots = 0;
	}
	if (n == 0)
		return 0;
	memset(&x, 0, sizeof(x));
	x.in = in;
	x.mark = mark;
	/* most ids are messages': sized for those and a quarter more,
	 * the table is rarely hashed again */
	table_grow(&x, n + n / 4);
	x.cap = n + n / 4;
	x.c = mp_xmalloc(x.cap * sizeof(*x.c));
	for (i = 0; i < n; i++)
		link_message(&x, i);
	free(x.t.slot);
	x.t.slot = NULL;
	prune(&x);
	/* roots only: nothing to join, no threads to make */
	group_subjects(&x, out != NULL ? window : -1, roots, nroots);
	if (out == NULL) {
		free(x.c);
		return 0;
	}
	build_children(&x);
	for (i = 0; i < x.n; i++)
		if (!x.c[i].dead && x.c[i].parent == NONE)
			nt++;
	t = mp_xcalloc(nt, sizeof(*t));
	named = mp_xmalloc(nt * sizeof(size_t));
	msgs = mp_xmalloc(n * sizeof(size_t));
	depth = mp_xmalloc(n * sizeof(size_t));
	nt = 0;
	for (i = 0; i < x.n; i++) {
		if (!x.c[i].dead && x.c[i].parent == NONE) {
			named[nt] = walk(&x, i, &t[nt], msgs, depth);
			nt++;
		}
	}
	free(msgs);
	free(depth);
	free(x.c);
	assign_ids(in, t, nt, named, n);
	free(named);
	qsort(t, nt, sizeof(*t), thread_cmp);
	*out = t;
	*nthreads = nt;
	return 0;
}

void
mp_threads_free(struct mp_thread *t, size_t n)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(t[i].id);
		free(t[i].msgs);
		free(t[i].depth);
	}
	free(t);
}
