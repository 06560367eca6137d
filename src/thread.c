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
	struct cont *c;
	size_t n, cap;
	struct table t;
};

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
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

static void
table_grow(struct ctx *x)
{
	size_t *old = x->t.slot, oldcap = x->t.cap, i, j;

	x->t.cap = oldcap ? oldcap * 2 : 1024;
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
		table_grow(x);
	j = hash_str(id) & (x->t.cap - 1);
	while ((k = x->t.slot[j]) != NONE) {
		if (strcmp(x->c[k].id, id) == 0) {
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
	/* The message's own References are authoritative: drop a parent
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

struct root {
	size_t c;
	const char *subject;
	int64_t date;
	size_t idx;
	int empty;
};

static int
root_cmp(const void *a, const void *b)
{
	const struct root *x = a, *y = b;
	int s = strcmp(x->subject, y->subject);

	if (s != 0)
		return s;
	if (x->empty != y->empty)
		return x->empty ? -1 : 1;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* JWZ step 5 with only a normalised subject to go on: an empty root
 * takes in the others; otherwise the earliest root does. */
static void
group_subjects(struct ctx *x)
{
	struct root *r;
	size_t i, j, nr = 0, *best;
	const struct mp_thread_in *in = x->in;
	size_t m;

	best = mp_xmalloc(x->n * sizeof(size_t));
	for (i = 0; i < x->n; i++)
		best[i] = NONE;
	/* An empty root stands for its earliest child. */
	for (i = 0; i < x->n; i++) {
		j = x->c[i].parent;
		if (x->c[i].dead || j == NONE || x->c[j].msg != NONE)
			continue;
		m = x->c[i].msg;
		if (best[j] == NONE || in[m].date < in[best[j]].date ||
		    (in[m].date == in[best[j]].date && m < best[j]))
			best[j] = m;
	}
	r = mp_xmalloc((x->n ? x->n : 1) * sizeof(*r));
	for (i = 0; i < x->n; i++) {
		if (x->c[i].dead || x->c[i].parent != NONE)
			continue;
		m = x->c[i].msg != NONE ? x->c[i].msg : best[i];
		if (m == NONE || !nonempty(in[m].subject_norm))
			continue;
		r[nr].c = i;
		r[nr].subject = in[m].subject_norm;
		r[nr].date = in[m].date;
		r[nr].idx = m;
		r[nr].empty = x->c[i].msg == NONE;
		nr++;
	}
	qsort(r, nr, sizeof(*r), root_cmp);
	for (i = 0; i < nr; i = j) {
		for (j = i + 1; j < nr &&
		    strcmp(r[j].subject, r[i].subject) == 0; j++) {
			if (r[j].empty)
				x->c[r[j].c].merge = r[i].c;
			else
				x->c[r[j].c].parent = r[i].c;
		}
	}
	for (i = 0; i < x->n; i++) {
		j = x->c[i].parent;
		if (j != NONE && x->c[j].merge != NONE)
			x->c[i].parent = x->c[j].merge;
	}
	for (i = 0; i < x->n; i++)
		if (x->c[i].merge != NONE)
			x->c[i].dead = 1;
	free(best);
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

/* Depth-first without recursion: threads can be thousands deep. */
static void
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
	t->id = mp_xstrdup(best != NONE ? in[best].message_id : "");
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
	struct ctx x;
	struct mp_thread *t;
	size_t i, nt = 0, *msgs, *depth;

	*out = NULL;
	*nthreads = 0;
	if (n == 0)
		return 0;
	memset(&x, 0, sizeof(x));
	x.in = in;
	for (i = 0; i < n; i++)
		link_message(&x, i);
	free(x.t.slot);
	x.t.slot = NULL;
	prune(&x);
	group_subjects(&x);
	build_children(&x);
	for (i = 0; i < x.n; i++)
		if (!x.c[i].dead && x.c[i].parent == NONE)
			nt++;
	t = mp_xcalloc(nt, sizeof(*t));
	msgs = mp_xmalloc(n * sizeof(size_t));
	depth = mp_xmalloc(n * sizeof(size_t));
	nt = 0;
	for (i = 0; i < x.n; i++)
		if (!x.c[i].dead && x.c[i].parent == NONE)
			walk(&x, i, &t[nt++], msgs, depth);
	free(msgs);
	free(depth);
	free(x.c);
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
