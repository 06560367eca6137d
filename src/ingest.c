/*
 * ingest.c - mail into the store: import (mbox, gzip mbox, Maildir, single
 * files) and fetch (IMAP), each message parsed and its action items found
 * on worker threads and stored in order by one store thread, and JWZ
 * threading, incremental (new mail with the stored threads it can join)
 * or a rebuild of every thread.
 */
#define _GNU_SOURCE             /* sched_getaffinity, CPU_COUNT, gettid */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "extract.h"
#include "imap.h"
#include "job.h"
#include "log.h"
#include "mime.h"
#include "source.h"
#include "store.h"
#include "thread.h"

/* ---- string sets ---- */

/* A set of borrowed strings (open addressing), each slot with the
 * string's hash: growing does not hash the members again. */
struct strset {
	struct sslot {
		const char *s;
		uint32_t h;
	} *slot;
	size_t cap, used;
};

static uint32_t
str_hash(const char *v)
{
	return (uint32_t)mp_hash(v, strlen(v));
}

static size_t
strset_find_h(const struct strset *s, const char *v, uint32_t h)
{
	size_t j = h & (s->cap - 1);

	/* members are often interned: the same pointer */
	while (s->slot[j].s != NULL && s->slot[j].s != v &&
	    (s->slot[j].h != h || strcmp(s->slot[j].s, v) != 0))
		j = (j + 1) & (s->cap - 1);
	return j;
}

static int
strset_has_h(const struct strset *s, const char *v, uint32_t h)
{
	return s->cap > 0 && s->slot[strset_find_h(s, v, h)].s != NULL;
}

static int
strset_has(const struct strset *s, const char *v)
{
	return s->cap > 0 && strset_has_h(s, v, str_hash(v));
}

/* 1 when v (hash h) was added, 0 when it was there. */
static int
strset_add_h(struct strset *s, const char *v, uint32_t h)
{
	size_t i, j;

	if ((s->used + 1) * 2 > s->cap) {
		struct strset n;

		n.cap = s->cap ? s->cap * 2 : 64;
		n.used = s->used;
		n.slot = mp_xcalloc(n.cap, sizeof(*n.slot));
		for (i = 0; i < s->cap; i++)
			if (s->slot[i].s != NULL)
				n.slot[strset_find_h(&n, s->slot[i].s,
				    s->slot[i].h)] = s->slot[i];
		free(s->slot);
		*s = n;
	}
	j = strset_find_h(s, v, h);
	if (s->slot[j].s != NULL)
		return 0;
	s->slot[j].s = v;
	s->slot[j].h = h;
	s->used++;
	return 1;
}

static int
strset_add(struct strset *s, const char *v)
{
	return strset_add_h(s, v, str_hash(v));
}

static void
strset_free(struct strset *s)
{
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

/* ---- threads ---- */

/*
 * Messages as threading needs them. 100,000 messages must fit in little
 * memory, and most strings repeat (each id comes back in the References
 * of every later reply, subjects and senders along a thread): they are
 * interned once in an arena. subject and from are kept only for views.
 */
struct tmsg {
	const char *id, *irt, *subj, *thread, *subject, *from;
	const char **refs;              /* in the arena */
	size_t nrefs;
	int64_t seq;                    /* new messages: after every stored one */
	int64_t date;
	int is_reply;
	int mark;                       /* 1: new, 0: read from the store */
	size_t pend;                    /* not stored yet: pending index + 1 */
};

#define TARENA_CHUNK ((size_t)1 << 20)

struct tcollect {
	struct tmsg *v;
	size_t n, cap;
	int view;               /* keep subject and from */
	const char **slot;      /* interned strings (open addressing) */
	size_t scap, sused;
	char **chunks;          /* the arena */
	size_t nchunks, left;
	char *next;
};

static void *
talloc(struct tcollect *c, size_t n)
{
	char *p;

	n = (n + 7) & ~(size_t)7;
	if (n > c->left) {
		size_t sz = n > TARENA_CHUNK ? n : TARENA_CHUNK;

		c->chunks = mp_xrealloc(c->chunks,
		    (c->nchunks + 1) * sizeof(*c->chunks));
		c->chunks[c->nchunks++] = c->next = mp_xmalloc(sz);
		c->left = sz;
	}
	p = c->next;
	c->next += n;
	c->left -= n;
	return p;
}

/*
 * An interned string is preceded in the arena by its hash (str_hash) and
 * length: copying it into another collection, or looking it up in a
 * string set, does not measure and hash it again (the threads kept from
 * the batch before are copied into each batch: 100,000 messages, 700,000
 * strings).
 */
struct ihead {
	uint32_t h, n;
};

static const struct ihead *
ihead(const char *interned)
{
	return (const struct ihead *)(const void *)(interned -
	    sizeof(struct ihead));
}

/* The hash of an interned string (str_hash). */
static uint32_t
ihash(const char *interned)
{
	return ihead(interned)->h;
}

/* Set operations on interned strings (of any collection). */
static size_t
strset_find_i(const struct strset *s, const char *interned)
{
	return strset_find_h(s, interned, ihash(interned));
}

static int
strset_add_i(struct strset *s, const char *interned)
{
	return strset_add_h(s, interned, ihash(interned));
}

static int
strset_has_i(const struct strset *s, const char *interned)
{
	return strset_has_h(s, interned, ihash(interned));
}

/* The one copy of s[0..n), whose hash is h (NUL terminated). */
static const char *
tintern_h(struct tcollect *c, const char *s, size_t n, uint32_t h)
{
	size_t j, i;
	const struct ihead *ch;
	struct ihead *hd;
	char *copy;

	if ((c->sused + 1) * 2 > c->scap) {
		const char **old = c->slot;
		size_t oldcap = c->scap;

		c->scap = oldcap ? oldcap * 2 : 4096;
		c->slot = mp_xcalloc(c->scap, sizeof(*c->slot));
		for (i = 0; i < oldcap; i++) {
			if (old[i] == NULL)
				continue;
			j = ihash(old[i]) & (c->scap - 1);
			while (c->slot[j] != NULL)
				j = (j + 1) & (c->scap - 1);
			c->slot[j] = old[i];
		}
		free(old);
	}
	j = h & (c->scap - 1);
	while (c->slot[j] != NULL) {
		ch = ihead(c->slot[j]);
		if (ch->h == h && ch->n == n && memcmp(c->slot[j], s, n) == 0)
			return c->slot[j];
		j = (j + 1) & (c->scap - 1);
	}
	/* n fits: a message is at most 64 MB (the sources' bound) */
	hd = talloc(c, sizeof(*hd) + n + 1);
	hd->h = h;
	hd->n = (uint32_t)n;
	copy = (char *)(hd + 1);
	memcpy(copy, s, n);
	copy[n] = '\0';
	c->slot[j] = copy;
	c->sused++;
	return copy;
}

/* The one copy of s[0..n) (NUL terminated); NULL stays NULL. */
static const char *
tintern(struct tcollect *c, const char *s, size_t n)
{
	if (s == NULL)
		return NULL;
	return tintern_h(c, s, n, (uint32_t)mp_hash(s, n));
}

static const char *
tstr(struct tcollect *c, const char *s)
{
	return s != NULL ? tintern(c, s, strlen(s)) : NULL;
}

/* A string interned in another collection, interned in c. */
static const char *
tcopy(struct tcollect *c, const char *interned)
{
	return interned != NULL ? tintern_h(c, interned,
	    ihead(interned)->n, ihash(interned)) : NULL;
}

static struct tmsg *
tnew(struct tcollect *c)
{
	struct tmsg *t;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->v = mp_xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	t = &c->v[c->n++];
	memset(t, 0, sizeof(*t));
	return t;
}

/* The next id of a stored References list (ids separated by spaces)
 * at *p, *n bytes long, or NULL; *p moves past it. Found by strchr, not
 * byte by byte: References run to hundreds of bytes, and reading them
 * byte by byte, twice, was a twentieth of the store thread. */
static const char *
next_ref(const char **p, size_t *n)
{
	const char *s = *p + strspn(*p, " "), *q;

	if (*s == '\0')
		return NULL;
	if ((q = strchr(s, ' ')) == NULL)
		q = s + strlen(s);
	*n = (size_t)(q - s);
	*p = q;
	return s;
}

static int
tcollect_row(const struct mp_thread_row *m, void *ctx)
{
	struct tcollect *c = ctx;
	const char *p, *q;
	struct tmsg *t = tnew(c);
	size_t nrefs = 0, k, len;

	for (p = m->refs; next_ref(&p, &len) != NULL; )
		nrefs++;
	t->refs = nrefs ? talloc(c, nrefs * sizeof(char *)) : NULL;
	for (k = 0, p = m->refs; k < nrefs; k++) {
		q = next_ref(&p, &len);
		t->refs[k] = tintern(c, q, len);
	}
	t->nrefs = nrefs;
	t->id = tstr(c, m->message_id);
	t->irt = tstr(c, m->in_reply_to);
	t->subj = tstr(c, m->subject_norm);
	t->thread = tstr(c, m->thread);
	if (c->view) {
		t->subject = tstr(c, m->subject);
		t->from = tstr(c, *m->from_name ? m->from_name : m->from_addr);
	}
	t->seq = m->seq;
	t->date = m->date;
	t->is_reply = mp_mime_subject_is_reply(m->subject);
	return 0;
}

/* A message of another collection, its strings interned in c. */
static void
tcollect_copy(struct tcollect *c, const struct tmsg *m)
{
	struct tmsg *t = tnew(c);
	size_t k;

	*t = *m;
	t->refs = m->nrefs ? talloc(c, m->nrefs * sizeof(char *)) : NULL;
	for (k = 0; k < m->nrefs; k++)
		t->refs[k] = tcopy(c, m->refs[k]);
	t->id = tcopy(c, m->id);
	t->irt = tcopy(c, m->irt);
	t->subj = tcopy(c, m->subj);
	t->thread = tcopy(c, m->thread);
	t->subject = tcopy(c, m->subject);
	t->from = tcopy(c, m->from);
	t->pend = 0;
	t->mark = 0;
}

static void
tcollect_free(struct tcollect *c)
{
	size_t i;

	for (i = 0; i < c->nchunks; i++)
		free(c->chunks[i]);
	free(c->chunks);
	free(c->slot);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static int
seq_cmp(const void *a, const void *b)
{
	const struct tmsg *x = a, *y = b;

	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* The configured subject window ([threads] subject_window; -1: off). */
static int64_t
subject_window(const struct mp_job *j)
{
	return j->cfg != NULL ? j->cfg->threads.subject_window :
	    MP_THREAD_SUBJECT_WINDOW;
}

/* The store's flag "subject_window" is the window its threads were made
 * with: seconds, WINDOW_OFF for off (the flags' -1 is an error), none (0)
 * for the default, the only window before the key. */
#define WINDOW_OFF (-2)

static int
record_window(struct mp_job *j, struct mp_err *e)
{
	int64_t w = subject_window(j);

	return mp_store_flag_set(j->st, "subject_window", w < 0 ? WINDOW_OFF :
	    w, e);
}

/* *w: the window the stored threads were made with (-1: off). -1 when
 * the store cannot be read. */
static int
stored_window(struct mp_job *j, int64_t *w)
{
	int64_t f = mp_store_flag_get(j->st, "subject_window");

	*w = f == 0 ? MP_THREAD_SUBJECT_WINDOW : f == WINDOW_OFF ? -1 : f;
	return f == -1 ? -1 : 0;
}

/* Before the first messages go into an empty store: the threads it will
 * hold are made with the configured window. */
static int
window_if_empty(struct mp_job *j, struct mp_err *e)
{
	int64_t seq = mp_store_max_seq(j->st);

	if (seq < 0)
		return mp_err_set(e, MP_EX_IOERR, "reading the store");
	return seq == 0 ? record_window(j, e) : 0;
}

/* Thread the collected messages (sorted by seq first); with roots not
 * NULL, their References trees' roots too (mp_thread_build_roots), each
 * with the highest mark of its messages; with th NULL, the roots alone. */
static int
tcollect_build(struct tcollect *c, int64_t window, struct mp_thread **th,
    size_t *nth, struct mp_thread_root **roots, size_t *nroots,
    struct mp_err *e)
{
	struct mp_thread_in *in;
	int *mark = NULL;
	size_t i;
	int rc;

	qsort(c->v, c->n, sizeof(*c->v), seq_cmp);
	in = mp_xcalloc(c->n + 1, sizeof(*in));
	if (roots != NULL)
		mark = mp_xcalloc(c->n + 1, sizeof(*mark));
	for (i = 0; i < c->n; i++) {
		if (mark != NULL)
			mark[i] = c->v[i].mark;
		in[i].message_id = c->v[i].id;
		in[i].in_reply_to = c->v[i].irt;
		in[i].refs = c->v[i].refs;
		in[i].nrefs = c->v[i].nrefs;
		in[i].subject_norm = c->v[i].subj;
		in[i].date = c->v[i].date;
		in[i].is_reply = c->v[i].is_reply;
		in[i].thread = c->v[i].thread;
	}
	rc = mp_thread_build_roots(in, c->n, window, mark, th, nth, roots,
	    nroots);
	free(in);
	free(mark);
	if (rc != 0)
		return mp_err_set(e, MP_EX_SOFTWARE, "threading failed");
	return 0;
}

/* Record the ids a thread's messages reference that are not its own
 * messages: how a later message reaches this thread through them. */
static int
store_thread_refs(struct mp_job *j, const struct tcollect *c,
    const struct mp_thread *t, struct mp_err *e)
{
	struct strset own = { 0 };
	size_t k, r;
	int rc = 0;

	for (k = 0; k < t->n; k++)
		strset_add_i(&own, c->v[t->msgs[k]].id);
	for (k = 0; k < t->n && rc == 0; k++) {
		const struct tmsg *m = &c->v[t->msgs[k]];

		if (m->irt != NULL && !strset_has_i(&own, m->irt))
			rc = mp_store_thread_ref_add(j->st, t->id, m->irt, e);
		for (r = 0; r < m->nrefs && rc == 0; r++)
			if (!strset_has_i(&own, m->refs[r]))
				rc = mp_store_thread_ref_add(j->st, t->id,
				    m->refs[r], e);
	}
	strset_free(&own);
	return rc;
}

/* Record each stored message's thread (where it changed) and each
 * thread's outside references (but not those of the threads in same,
 * which may be NULL: stored as they are). *moved counts messages that
 * had another thread, *set every message written. */
static int
write_threads(struct mp_job *j, const struct tcollect *c,
    const struct mp_thread *th, size_t nth, const struct strset *same,
    long *moved, long *set, struct mp_err *e)
{
	size_t i, k;

	for (i = 0; i < nth; i++) {
		if (same != NULL && strset_has(same, th[i].id))
			continue;
		for (k = 0; k < th[i].n; k++) {
			const struct tmsg *t = &c->v[th[i].msgs[k]];

			if (t->pend != 0 || (t->thread != NULL &&
			    strcmp(t->thread, th[i].id) == 0))
				continue;
			if (mp_store_set_thread_seq(j->st, t->seq, th[i].id,
			    e) != 0)
				return -1;
			*moved += t->thread != NULL;
			(*set)++;
		}
		if (store_thread_refs(j, c, &th[i], e) != 0)
			return -1;
	}
	return 0;
}

/* Record the reply roots r[0..nr) of the threads th, but not those of
 * the threads in same (may be NULL): stored as they are. */
static int
write_reply_roots(struct mp_job *j, const struct tcollect *c,
    const struct mp_thread *th, size_t nth, const struct mp_thread_root *r,
    size_t nr, const struct strset *same, struct mp_err *e)
{
	size_t *owner = mp_xmalloc((c->n + 1) * sizeof(*owner));
	size_t i, k;
	int rc = 0;

	for (i = 0; i < nth; i++)
		for (k = 0; k < th[i].n; k++)
			owner[th[i].msgs[k]] = i;
	for (i = 0; i < nr && rc == 0; i++) {
		const char *t = th[owner[r[i].msg]].id;

		if (!r[i].reply || (same != NULL && strset_has(same, t)))
			continue;
		rc = mp_store_reply_root_add(j->st, t, r[i].subject,
		    r[i].first, r[i].last, e);
	}
	free(owner);
	return rc;
}

/* Rebuild every thread from the store; inside the caller's transaction. */
static int
rethread_all(struct mp_job *j, long *changed, size_t *nthreads,
    struct mp_err *e)
{
	struct tcollect c = { 0 };
	struct mp_thread *th = NULL;
	struct mp_thread_root *roots = NULL;
	size_t nth = 0, nroots = 0;
	long moved = 0;
	int rc = -1;

	*changed = 0;
	if (mp_store_each_trow(j->st, NULL, tcollect_row, &c, e) != 0 ||
	    tcollect_build(&c, subject_window(j), &th, &nth, &roots, &nroots,
	    e) != 0 ||
	    mp_store_thread_refs_clear(j->st, NULL, e) != 0 ||
	    mp_store_reply_roots_clear(j->st, NULL, e) != 0 ||
	    write_threads(j, &c, th, nth, NULL, &moved, changed, e) != 0 ||
	    write_reply_roots(j, &c, th, nth, roots, nroots, NULL, e) != 0 ||
	    mp_store_flag_set(j->st, "rethread", 0, e) != 0 ||
	    record_window(j, e) != 0)
		goto out;
	*nthreads = nth;
	rc = 0;
out:
	mp_threads_free(th, nth);
	free(roots);
	tcollect_free(&c);
	return rc;
}

int
mp_job_thread(struct mp_job *j, struct mp_err *e)
{
	size_t nth = 0;
	long changed = 0;

	if (mp_store_begin(j->st, e) != 0)
		return -1;
	if (rethread_all(j, &changed, &nth, e) != 0) {
		mp_store_rollback(j->st);
		return -1;
	}
	if (mp_store_commit(j->st, e) != 0)
		return -1;
	j->rethreaded += changed;
	j->rebuilds++;
	mp_info("%zu threads, %ld messages re-threaded", nth, changed);
	return 0;
}

/*
 * The threads of the last batch's result, as stored after it: every
 * message of each, with its final thread and seq. The next batch reads
 * most of them again (the threads that share its subjects, over the same
 * weeks), and takes them from here instead of the store. Only the thread
 * that stores writes the store, and a batch rewrites only threads of its
 * own subset, so a thread here is what the store holds until the next
 * batch replaces this.
 */
struct warm {
	struct tcollect c;      /* the batch's messages */
	size_t *row;            /* indexes in c.v, thread by thread */
	struct strset names;    /* the threads (interned in c) */
	size_t *first, *count;  /* by slot of names: their rows in row[] */
};

static void
warm_free(struct warm *w)
{
	tcollect_free(&w->c);
	free(w->row);
	strset_free(&w->names);
	free(w->first);
	free(w->count);
	memset(w, 0, sizeof(*w));
}

/* The rows of thread name in w (indexes in w->c.v), or NULL. */
static const size_t *
warm_rows(const struct warm *w, const char *name, size_t *n)
{
	size_t x;

	if (w == NULL || w->names.cap == 0 ||
	    w->names.slot[x = strset_find_i(&w->names, name)].s == NULL)
		return NULL;
	*n = w->count[x];
	return w->row + w->first[x];
}

/*
 * Incremental threading: new messages are threaded together with every
 * stored thread they could join, found through the ids they mention (the
 * store knows each message's thread and each thread's references to ids
 * outside it) and, for the subject fallback, stored threads with the
 * same subject within the window. Threads share nothing else, so the
 * result equals a rebuild of the whole store, at the cost of the threads
 * touched, not of the store's size.
 */
struct subset {
	struct mp_job *j;
	const struct warm *warm;        /* may be NULL */
	struct tcollect c;
	struct strset fresh;            /* ids of the new messages */
	struct strset looked;           /* ids already looked up */
	struct strset loaded;           /* threads read from the store */
	const char **queue;             /* interned ids to look up */
	size_t nq, qcap;
	const char **found;             /* interned thread names */
	size_t nfound, fcap;
};

static void
sub_push(struct subset *s, const char *id)
{
	if (id == NULL || strset_has_i(&s->looked, id))
		return;
	if (s->nq == s->qcap) {
		s->qcap = s->qcap ? s->qcap * 2 : 256;
		s->queue = mp_xrealloc(s->queue, s->qcap * sizeof(*s->queue));
	}
	s->queue[s->nq++] = id;
}

static void
sub_push_msg(struct subset *s, const struct tmsg *t)
{
	size_t k;

	sub_push(s, t->id);
	sub_push(s, t->irt);
	for (k = 0; k < t->nrefs; k++)
		sub_push(s, t->refs[k]);
}

static int
sub_found(const char *name, void *ctx)
{
	struct subset *s = ctx;
	const char *t = tstr(&s->c, name);

	if (strset_has_i(&s->loaded, t))
		return 0;
	if (s->nfound == s->fcap) {
		s->fcap = s->fcap ? s->fcap * 2 : 16;
		s->found = mp_xrealloc(s->found, s->fcap * sizeof(*s->found));
	}
	s->found[s->nfound++] = t;
	return 0;
}

/* A message read from the store: a new one, or one of a thread read for
 * the new ones. The ids of the latter are not followed further: only
 * what the new messages mention can change how stored threads divide (a
 * thread that references into a read thread without being joined to it
 * stays apart, as it did). */
static int
sub_row(const struct mp_thread_row *r, void *ctx)
{
	struct subset *s = ctx;

	tcollect_row(r, &s->c);
	return 0;
}

/* Read the threads named in s->found that are not read yet. */
static int
sub_load_found(struct subset *s, struct mp_err *e)
{
	size_t i;

	for (i = 0; i < s->nfound; i++) {
		const size_t *rows;
		size_t k, n;

		if (!strset_add_i(&s->loaded, s->found[i]))
			continue;
		if ((rows = warm_rows(s->warm, s->found[i], &n)) != NULL) {
			for (k = 0; k < n; k++)
				tcollect_copy(&s->c, &s->warm->c.v[rows[k]]);
			s->j->thread_warm += (long)n;
			continue;
		}
		if (mp_store_each_trow(s->j->st, s->found[i], sub_row, s,
		    e) != 0)
			return -1;
	}
	s->nfound = 0;
	return 0;
}

/* Follow ids until every thread that mentions one is read. */
static int
sub_close(struct subset *s, struct mp_err *e)
{
	while (s->nq > 0) {
		const char *id = s->queue[--s->nq];

		if (!strset_add_i(&s->looked, id))
			continue;
		/* a new message's own id: only references can lead to it */
		if (mp_store_threads_of_id(s->j->st, id,
		    strset_has_i(&s->fresh, id), sub_found, s, e) != 0 ||
		    sub_load_found(s, e) != 0)
			return -1;
	}
	return 0;
}

/* Query one subject's stored threads near the roots r[0..n) with new
 * messages (reply roots only, with replies): q over each stretch where
 * their date ranges, widened by the window, meet. */
static int
sub_near(struct subset *s, const struct mp_thread_root *r, size_t n,
    int replies, int64_t window,
    int (*q)(struct mp_store *, const char *, int64_t, int64_t,
    mp_store_name_cb, void *, struct mp_err *), struct mp_err *e)
{
	int64_t lo = 0, hi = 0;
	size_t i;
	int open = 0;

	/* r is sorted by first date: so are the stretches' starts */
	for (i = 0; i < n; i++) {
		if (r[i].mark != 1 || (replies && !r[i].reply))
			continue;
		if (open && r[i].first - window <= hi) {
			if (r[i].last + window > hi)
				hi = r[i].last + window;
			continue;
		}
		if (open && q(s->j->st, r[0].subject, lo, hi, sub_found, s,
		    e) != 0)
			return -1;
		lo = r[i].first - window;
		hi = r[i].last + window;
		open = 1;
	}
	if (open)
		return q(s->j->st, r[0].subject, lo, hi, sub_found, s, e);
	return 0;
}

/* Read the stored threads that the subject fallback could join with the
 * roots r[0..nr) (as mp_thread_build_roots gives them) whose trees hold
 * new messages (mark 1): those with a reply root of the same subject
 * within the window of such a root's date range (replies that found no
 * thread then: they may join it now), and, near a new reply root, those
 * with a message of its subject (threads it may join). Nothing more: a
 * stored tree that no new message reaches was grouped by subject when
 * it was threaded, and stays so. */
static int
sub_roots(struct subset *s, const struct mp_thread_root *r, size_t nr,
    int64_t window, struct mp_err *e)
{
	size_t i, k;

	for (i = 0; i < nr; i = k) {
		/* interned: one subject is one pointer */
		for (k = i + 1; k < nr && r[k].subject == r[i].subject; k++)
			;
		if (sub_near(s, r + i, k - i, 0, window,
		    mp_store_reply_roots_near, e) != 0 ||
		    sub_near(s, r + i, k - i, 1, window,
		    mp_store_threads_of_subject, e) != 0 ||
		    sub_load_found(s, e) != 0)
			return -1;
	}
	return 0;
}

/* A name for a new thread not used by a stored thread outside the subset
 * (one that lost all its messages to a merge may come back in a split)
 * nor by another thread of this result (names holds them all). */
static int
unique_name(struct mp_job *j, struct mp_thread *t, struct strset *names,
    const struct strset *loaded, const struct strset *fresh,
    struct tcollect *c)
{
	struct mp_buf b = MP_BUF_INIT;
	int n = 2, used;

	/* A stored name is some stored message's id (maybe with "#n"):
	 * never that of a message stored since the last threading. */
	if (strset_has(loaded, t->id) || strset_has(fresh, t->id))
		return 0;
	if ((used = mp_store_thread_used(j->st, t->id)) <= 0)
		return used;
	for (;;) {
		mp_buf_reset(&b);
		mp_buf_printf(&b, "%s#%d", t->id, n++);
		if (strset_has(names, mp_buf_str(&b)))
			continue;
		if ((used = mp_store_thread_used(j->st, mp_buf_str(&b))) < 0) {
			mp_buf_free(&b);
			return -1;
		}
		if (!used)
			break;
	}
	free(t->id);
	t->id = mp_buf_detach(&b);
	strset_add_i(names, tstr(c, t->id));
	return 0;
}

/* Into same, the threads of a result that are stored as they are: the
 * same name and the same messages, none new, none come from or gone to
 * another thread (a thread is read whole, so none is left out). What
 * the store holds of them, their outside references too, stays. */
static void
same_threads(struct tcollect *c, const struct mp_thread *th, size_t nth,
    struct strset *same)
{
	struct strset changed = { 0 };
	size_t i, k;
	const char *id;

	for (i = 0; i < nth; i++) {
		id = tstr(c, th[i].id);
		for (k = 0; k < th[i].n; k++) {
			const char *was = c->v[th[i].msgs[k]].thread;

			/* interned in c: the same name is the same pointer */
			if (was == id)
				continue;
			strset_add_i(&changed, id);
			if (was != NULL)
				strset_add_i(&changed, was);
		}
	}
	for (i = 0; i < nth; i++)
		if (!strset_has_i(&changed, id = tstr(c, th[i].id)))
			strset_add_i(same, id);
	strset_free(&changed);
}

/* Messages threaded together: the threads they touch are read once for
 * many, and memory stays bounded whatever the number of new messages.
 * With the threads of the batch before kept in memory (struct warm),
 * 3,000 imports as fast as 5,000 and needs 7 MB less. */
#define THREAD_BATCH 3000

/*
 * Parsed messages not stored yet. Reading an archive, they are threaded
 * first and then stored with their thread: one write per message, not an
 * insert and then an update. Their ids catch a message that comes twice
 * in one batch.
 */
struct pend_msg {
	struct mp_msg *m;
	struct mp_action *a;
	size_t na;
};

struct pending {
	struct pend_msg *v;
	size_t n, cap;
	struct strset ids;      /* Message-IDs, borrowed from v */
	const char *source;
};

/* After every stored seq: pending messages thread after stored ones, in
 * the order they will be stored (as a rebuild will see them). */
#define PEND_SEQ ((int64_t)1 << 62)

static void
pend_clear(struct pending *pq)
{
	size_t i;

	for (i = 0; i < pq->n; i++) {
		free(pq->v[i].m);       /* packed */
		mp_actions_free(pq->v[i].a, pq->v[i].na);
	}
	pq->n = 0;
	strset_free(&pq->ids);
}

static void
pend_free(struct pending *pq)
{
	pend_clear(pq);
	free(pq->v);
	pq->v = NULL;
	pq->cap = 0;
}

/* Take m and its actions. */
static void
pend_add(struct pending *pq, struct mp_msg *m, struct mp_action *a,
    size_t na)
{
	if (pq->n == pq->cap) {
		pq->cap = pq->cap ? pq->cap * 2 : 256;
		pq->v = mp_xrealloc(pq->v, pq->cap * sizeof(*pq->v));
	}
	pq->v[pq->n].m = m;
	pq->v[pq->n].a = a;
	pq->v[pq->n].na = na;
	pq->n++;
	strset_add(&pq->ids, m->message_id);
}

/* Store the pending messages in order, each in its thread (names[i], or
 * NULL: threaded later), and forget them; seqs (may be NULL) gets each
 * one's seq (0: not stored). */
static int
pend_store(struct mp_job *j, struct pending *pq, const char *const *names,
    int64_t *seqs, struct mp_err *e)
{
	size_t i, k;
	int rc = 0;

	for (i = 0; i < pq->n && rc == 0; i++) {
		const struct pend_msg *p = &pq->v[i];
		int64_t seq = 0;

		rc = mp_store_add_new_msg(j->st, p->m, names != NULL ?
		    names[i] : NULL, pq->source, j->now, &seq, e);
		if (seqs != NULL)
			seqs[i] = seq;
		if (rc != 0 || seq == 0) {
			j->duplicates += rc == 0;
			continue;
		}
		j->stored++;
		for (k = 0; k < p->na && rc == 0; k++) {
			rc = mp_store_add_action(j->st, p->m->message_id,
			    mp_action_kind_name(p->a[k].kind), p->a[k].assignee,
			    p->a[k].due, p->a[k].text, e);
			j->actions += rc == 0;
		}
	}
	pend_clear(pq);
	return rc;
}

/* The pending messages as threading sees them, after the stored ones. */
static void
pend_rows(struct pending *pq, struct tcollect *c)
{
	struct mp_buf refs = MP_BUF_INIT;
	struct mp_thread_row r;
	size_t i;

	for (i = 0; i < pq->n; i++) {
		mp_store_thread_row_of(pq->v[i].m, &refs, &r);
		r.seq = PEND_SEQ + (int64_t)i;
		tcollect_row(&r, c);
		c->v[c->n - 1].pend = i + 1;
	}
	mp_buf_free(&refs);
}

/* Store the pending messages in the threads th gave them; their rows in
 * c get the seqs they were stored with (*all: every one was stored). */
static int
pend_store_threaded(struct mp_job *j, struct pending *pq,
    struct tcollect *c, const struct mp_thread *th, size_t nth, int *all,
    struct mp_err *e)
{
	const char **names = mp_xcalloc(pq->n + 1, sizeof(*names));
	int64_t *seqs = mp_xcalloc(pq->n + 1, sizeof(*seqs));
	size_t i, k;
	int rc;

	for (i = 0; i < nth; i++)
		for (k = 0; k < th[i].n; k++)
			if (c->v[th[i].msgs[k]].pend != 0)
				names[c->v[th[i].msgs[k]].pend - 1] = th[i].id;
	rc = pend_store(j, pq, names, seqs, e);
	*all = rc == 0;
	for (i = 0; i < c->n && rc == 0; i++) {
		if (c->v[i].pend == 0)
			continue;
		c->v[i].seq = seqs[c->v[i].pend - 1];
		*all &= c->v[i].seq != 0;
	}
	free(names);
	free(seqs);
	return rc;
}

/* The threads of a result, as now stored, into w (replacing it): c
 * moves there, each message given its thread's final name. */
static void
warm_build(struct warm *w, struct tcollect *c, const struct mp_thread *th,
    size_t nth)
{
	const char **name = mp_xcalloc(nth + 1, sizeof(*name));
	size_t i, k, x, n = 0;

	warm_free(w);
	w->c = *c;
	memset(c, 0, sizeof(*c));
	/* all names first: the set's size places the rows */
	for (i = 0; i < nth; i++)
		strset_add_i(&w->names, name[i] = tstr(&w->c, th[i].id));
	w->row = mp_xcalloc(w->c.n + 1, sizeof(*w->row));
	w->first = mp_xcalloc(w->names.cap + 1, sizeof(*w->first));
	w->count = mp_xcalloc(w->names.cap + 1, sizeof(*w->count));
	for (i = 0; i < nth; i++) {
		x = strset_find_i(&w->names, name[i]);
		w->first[x] = n;
		w->count[x] = th[i].n;
		for (k = 0; k < th[i].n; k++) {
			w->row[n++] = th[i].msgs[k];
			w->c.v[th[i].msgs[k]].thread = name[i];
			w->c.v[th[i].msgs[k]].pend = 0;
		}
	}
	free(name);
}

/* Thread the first THREAD_BATCH stored messages without a thread (new
 * ones; also any an interrupted run left) and the pending messages pq
 * (may be NULL) together with the stored threads they can join; stored
 * messages that change thread are updated, pending ones stored. *nnew is
 * how many stored messages were threaded. Inside the caller's
 * transaction. */
static int
thread_new(struct mp_job *j, struct pending *pq, size_t *nnew,
    struct warm *w, struct mp_err *e)
{
	struct subset s;
	struct strset names = { 0 }, same = { 0 };
	struct mp_thread *th = NULL;
	struct mp_thread_root *roots = NULL;
	int64_t window = subject_window(j);
	size_t i, n, nth = 0, nroots = 0;
	long set = 0;
	int rc = -1, all = 1;

	memset(&s, 0, sizeof(s));
	s.j = j;
	s.warm = w;
	if (mp_store_each_unthreaded(j->st, THREAD_BATCH, sub_row, &s, e) != 0)
		goto out;
	*nnew = s.c.n;
	if (pq != NULL)
		pend_rows(pq, &s.c);
	if ((n = s.c.n) == 0) {
		rc = 0;
		goto out;
	}
	for (i = 0; i < n; i++) {
		s.c.v[i].mark = 1;
		strset_add_i(&s.fresh, s.c.v[i].id);
	}
	for (i = 0; i < n; i++)
		sub_push_msg(&s, &s.c.v[i]);
	if (sub_close(&s, e) != 0)
		goto out;
	/* The subject fallback: the roots of what the References reach,
	 * then the stored threads that the new trees could join by subject;
	 * then thread them all (a batch nearly always reads some). */
	if (window >= 0) {
		if (tcollect_build(&s.c, window, NULL, NULL, &roots, &nroots,
		    e) != 0 || sub_roots(&s, roots, nroots, window, e) != 0)
			goto out;
		free(roots);
		roots = NULL;
		nroots = 0;
	}
	if (tcollect_build(&s.c, window, &th, &nth, &roots, &nroots, e) != 0)
		goto out;
	j->thread_loaded += (long)(s.c.n - n);
	/* (copies in the arena: unique_name frees the names it replaces) */
	for (i = 0; i < nth; i++)
		strset_add_i(&names, tstr(&s.c, th[i].id));
	for (i = 0; i < nth; i++)
		if (unique_name(j, &th[i], &names, &s.loaded, &s.fresh,
		    &s.c) != 0) {
			mp_err_set(e, MP_EX_IOERR, "reading the store");
			goto out;
		}
	if (pq != NULL && pend_store_threaded(j, pq, &s.c, th, nth, &all,
	    e) != 0)
		goto out;
	same_threads(&s.c, th, nth, &same);
	for (i = 0; i < s.loaded.cap; i++)
		if (s.loaded.slot[i].s != NULL &&
		    !strset_has_h(&same, s.loaded.slot[i].s,
		    s.loaded.slot[i].h) &&
		    (mp_store_thread_refs_clear(j->st, s.loaded.slot[i].s,
		    e) != 0 || mp_store_reply_roots_clear(j->st,
		    s.loaded.slot[i].s, e) != 0))
			goto out;
	if (write_threads(j, &s.c, th, nth, &same, &j->rethreaded, &set,
	    e) != 0 || write_reply_roots(j, &s.c, th, nth, roots, nroots,
	    &same, e) != 0)
		goto out;
	if (w != NULL && all)
		warm_build(w, &s.c, th, nth);
	rc = 0;
out:
	/* what a failed batch leaves is not known: read the store again */
	if (w != NULL && (rc != 0 || !all))
		warm_free(w);
	strset_free(&names);
	strset_free(&same);
	strset_free(&s.fresh);
	mp_threads_free(th, nth);
	free(roots);
	tcollect_free(&s.c);
	strset_free(&s.looked);
	strset_free(&s.loaded);
	free(s.queue);
	free(s.found);
	return rc;
}

/* ---- import ---- */

/*
 * Messages stored from an archive per transaction. A commit writes back
 * most pages of the indexes (Message-ID, subject, thread: keys in no
 * order), whatever the number of messages: committing every 5,000 took a
 * quarter of a 100,000-message import. An interrupted import loses at
 * most this many, which the next import of the archive stores again.
 */
#define IMPORT_COMMIT 25000

/*
 * One message through import: parsed and its action items found (on a
 * worker thread when reading an archive), then stored in order (on the
 * calling thread, which alone uses the store).
 */
struct pmsg {
	char *raw;              /* owned copy (pipeline) or borrowed */
	size_t len;
	int64_t delivered;
	char *origin;           /* owned copy (pipeline) or borrowed */
	struct mp_msg *m;       /* NULL: not a message, err says why */
	char *err;              /* owned */
	struct mp_action *a;    /* found in m */
	size_t na;
};

struct pbatch {
	struct pmsg *v;
	size_t n;
	size_t next, done;      /* handed over: next to parse, how many are */
	size_t raw;             /* bytes of raw messages (while filled) */
};

/* Messages handed over at a time: large enough to make handing over
 * cheap. */
#define PIPE_BATCH 256
/* Batches in flight: the workers parse the next THREAD_BATCH messages
 * and more while the store thread threads and writes the last ones (with
 * 4 slots it waited 2 s of a 12 s import for them; since the store thread
 * goes first (PIPE_WORKER_NICE), 24 took 5.5 s where 12 took 6.1).
 * Parsed, a message keeps only what the store needs (about 1 KB); raw
 * bytes handed over and not parsed yet are held under PIPE_RAW_MAX. */
#define PIPE_SLOTS 24
#define PIPE_RAW_MAX ((size_t)4 << 20)

#define PIPE_MAX_WORKERS 8
/* The store thread is the narrowest stage: where it and the workers want
 * the same core, it goes first (the workers run at this nice value; on
 * two cores, 100,000 messages took 8.6 s without it, 7.0-8.1 s with). */
#define PIPE_WORKER_NICE 10

/*
 * Three stages: the calling thread reads the source and hands batches
 * over; the workers parse them (any message of any batch handed over);
 * the store thread stores the batches in order, as each is parsed. Only
 * the store thread uses the store while batches are in flight; the
 * calling thread uses it again once all are stored (pipe_settle).
 * Batch k sits in slot k % PIPE_SLOTS; those in [stored, handed) are in
 * flight, the one at handed is being filled.
 */
struct pipeline {
	pthread_t th[PIPE_MAX_WORKERS];
	int nth;
	pthread_t store;
	int has_store;
	pthread_mutex_t mu;
	/* Each waits on its own, woken when what it waits for happens (one
	 * broadcast for every message parsed made 28,000 context switches
	 * of a 100,000-message import; now 1,800). */
	pthread_cond_t work;    /* workers: a batch handed over */
	pthread_cond_t done;    /* the store thread: a batch parsed */
	pthread_cond_t room;    /* the calling thread: a slot stored, raw
	                           bytes under PIPE_RAW_MAX */
	struct pbatch b[PIPE_SLOTS];
	size_t handed, stored, parse;   /* batch counters; parse: the first
	                                   that may have messages to take */
	size_t raw;             /* raw bytes handed over, not parsed yet */
	int stop;
	int failed;             /* storing failed: the import_ctx's e says */
	int read_all;           /* the source is read: the rest is in flight */
	double cpu_parse, cpu_store;    /* seconds, as the threads end */
};

/* CPU seconds of the calling thread so far (0 where not known). */
static double
thread_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct import_ctx {
	struct mp_job *j;
	const char *list_id;
	const char *source;
	struct mp_extract_opts xo;
	struct pending pq;      /* parsed, new, not stored yet */
	struct warm warm;       /* the last thread batch's threads */
	long threaded;          /* j->stored when last threaded */
	long committed;         /* j->stored at the last commit */
	int early_commit;       /* WAL mode: commit once more when the
	                           source is read (0: done, or no WAL) */
	int source_batches;     /* the source commits its own batches */
	struct pipeline *pipe;  /* NULL: parse on this thread */
	struct mp_err *e;
	struct mp_err *se;      /* the store stage's: e, or serr while the
	                           store thread runs (this one reads) */
	struct mp_err serr;
};

static void
parse_stage(struct pmsg *p, const struct mp_extract_opts *xo,
    const char *list_id)
{
	struct mp_err pe = { 0 };

	if (mp_mime_parse(p->raw, p->len, p->delivered, &p->m, &pe) != 0) {
		p->err = mp_xstrdup(pe.msg);
		return;
	}
	if ((list_id == NULL || (p->m->list_id != NULL &&
	    strcasecmp(p->m->list_id, list_id) == 0)) &&
	    mp_extract(p->m, xo, &p->a, &p->na) != 0) {
		p->a = NULL;
		p->na = 0;
	}
	p->m = mp_store_msg_pack(p->m);
}

static void
pmsg_free(struct pmsg *p, int owned)
{
	if (owned) {
		free(p->raw);
		free(p->origin);
	}
	free(p->err);
	free(p->m);             /* packed */
	mp_actions_free(p->a, p->na);
	memset(p, 0, sizeof(*p));
}

/* Thread a batch once enough new mail is stored unthreaded (by a source
 * that commits its own batches), while the workers parse what comes
 * next; inside the open transaction. */
static int
thread_as_we_go(struct import_ctx *ic)
{
	size_t n;

	if (ic->j->stored - ic->threaded < THREAD_BATCH)
		return 0;
	ic->threaded = ic->j->stored;
	return thread_new(ic->j, NULL, &n, &ic->warm, ic->e);
}

/* Whether the pipeline's source is read to its end. */
static int
pipe_read_all(struct pipeline *p)
{
	int r;

	if (p == NULL)
		return 0;
	pthread_mutex_lock(&p->mu);
	r = p->read_all;
	pthread_mutex_unlock(&p->mu);
	return r;
}

/* Thread and store the pending messages; commit every IMPORT_COMMIT
 * stored (the caller commits the rest). In WAL mode (early_commit),
 * once the source is read, the store thread commits at the next batch
 * too: what is committed then is checkpointed in the background while
 * the last batches are stored, and the checkpoint at the end has only
 * those to copy, not up to 25,000 messages' (100,000 messages: the end
 * took 0.34-0.36 s on one core, then 0.25-0.31 s). */
static int
pend_thread(struct import_ctx *ic)
{
	size_t n;

	if (ic->pq.n == 0)
		return 0;
	if (thread_new(ic->j, &ic->pq, &n, &ic->warm, ic->se) != 0)
		return -1;
	ic->threaded = ic->j->stored;
	if (ic->early_commit && ic->j->stored - ic->committed >= THREAD_BATCH &&
	    pipe_read_all(ic->pipe))
		ic->early_commit = 0;
	else if (ic->j->stored - ic->committed < IMPORT_COMMIT)
		return 0;
	ic->committed = ic->j->stored;
	return mp_store_commit(ic->j->st, ic->se) != 0 ||
	    mp_store_begin(ic->j->st, ic->se) != 0 ? -1 : 0;
}

/* The source's batch ends and it commits: store what is pending (to be
 * threaded with the next batch of stored ones). */
static int
pend_source_batch(struct import_ctx *ic)
{
	return pend_store(ic->j, &ic->pq, NULL, NULL, ic->e) == 0 ?
	    thread_as_we_go(ic) : -1;
}

/* A parsed message: counted, and kept for threading unless known. */
static int
store_stage(struct import_ctx *ic, struct pmsg *p)
{
	struct mp_job *j = ic->j;
	struct mp_msg *m = p->m;
	int known;

	if (m == NULL) {
		mp_warnx("%s: not a message, skipped: %s", p->origin, p->err);
		j->broken++;
		return 0;
	}
	if (m->warnings > 0) {
		mp_info("%s: %d problem(s) in message %s", p->origin,
		    m->warnings, m->message_id);
		j->broken++;
	}
	if (ic->list_id != NULL && (m->list_id == NULL ||
	    strcasecmp(m->list_id, ic->list_id) != 0)) {
		j->filtered++;
		return 0;
	}
	known = strset_has(&ic->pq.ids, m->message_id) ? 1 :
	    mp_store_has_msg(j->st, m->message_id);
	if (known < 0)
		return mp_err_set(ic->se, MP_EX_IOERR, "%s: reading the store",
		    p->origin);
	if (known) {
		j->duplicates++;
		return 0;
	}
	pend_add(&ic->pq, m, p->a, p->na);
	p->m = NULL;
	p->a = NULL;
	p->na = 0;
	if (ic->source_batches || ic->pq.n < THREAD_BATCH)
		return 0;
	return pend_thread(ic);
}

/* The serial path (IMAP: the source commits per batch). */
static int
import_one(const char *raw, size_t len, int64_t delivered, const char *origin,
    void *ctx)
{
	struct import_ctx *ic = ctx;
	struct pmsg p;
	int rc;

	if (raw == NULL)        /* the source's batch ends */
		return pend_source_batch(ic);
	memset(&p, 0, sizeof(p));
	p.raw = (char *)raw;
	p.len = len;
	p.delivered = delivered;
	p.origin = (char *)origin;
	parse_stage(&p, &ic->xo, ic->list_id);
	rc = store_stage(ic, &p);
	pmsg_free(&p, 0);
	return rc;
}

/* ---- the parsing pipeline ---- */

static struct pbatch *
pipe_slot(struct pipeline *p, size_t k)
{
	return &p->b[k % PIPE_SLOTS];
}

/* A handed-over batch with a message nobody took yet (under the lock). */
static struct pbatch *
pipe_take(struct pipeline *p)
{
	for (; p->parse < p->handed; p->parse++) {
		struct pbatch *b = pipe_slot(p, p->parse);

		if (b->next < b->n)
			return b;
	}
	return NULL;
}

/* Workers take messages one at a time, oldest batch first. */
static void *
pipe_worker(void *arg)
{
	struct import_ctx *ic = arg;
	struct pipeline *p = ic->pipe;
	struct pbatch *b;
	struct pmsg *m;

	/* per thread on Linux; where it fails, all run as before */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), PIPE_WORKER_NICE);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while ((b = pipe_take(p)) == NULL && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if (b == NULL)
			break;
		m = &b->v[b->next++];
		pthread_mutex_unlock(&p->mu);
		parse_stage(m, &ic->xo, ic->list_id);
		free(m->raw);
		m->raw = NULL;
		pthread_mutex_lock(&p->mu);
		if (p->raw > PIPE_RAW_MAX && p->raw - m->len <= PIPE_RAW_MAX)
			pthread_cond_signal(&p->room);
		p->raw -= m->len;
		if (++b->done == b->n)
			pthread_cond_signal(&p->done);
	}
	p->cpu_parse += thread_cpu();
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int
pipe_ready(struct pipeline *p)
{
	return p->stored < p->handed &&
	    pipe_slot(p, p->stored)->done == pipe_slot(p, p->stored)->n;
}

/* The store thread: each batch in order once parsed. After a failure
 * the rest is only freed. */
static void *
pipe_storer(void *arg)
{
	struct import_ctx *ic = arg;
	struct pipeline *p = ic->pipe;
	struct pbatch *b;
	size_t i;
	int rc;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!pipe_ready(p) && !p->stop)
			pthread_cond_wait(&p->done, &p->mu);
		if (!pipe_ready(p))
			break;
		b = pipe_slot(p, p->stored);
		rc = p->failed ? -1 : 0;
		pthread_mutex_unlock(&p->mu);
		for (i = 0; i < b->n; i++) {
			if (rc == 0)
				rc = store_stage(ic, &b->v[i]);
			pmsg_free(&b->v[i], 1);
		}
		b->n = b->next = b->done = 0;
		pthread_mutex_lock(&p->mu);
		p->failed |= rc != 0;
		p->stored++;
		pthread_cond_signal(&p->room);
	}
	p->cpu_store = thread_cpu();
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Hand the batch being filled over (when it has messages). */
static void
pipe_hand_over(struct pipeline *p)
{
	struct pbatch *b = pipe_slot(p, p->handed);

	pthread_mutex_lock(&p->mu);
	if (b->n > 0) {
		p->raw += b->raw;
		b->raw = 0;
		p->handed++;
		pthread_cond_broadcast(&p->work);
	}
	pthread_mutex_unlock(&p->mu);
}

/* Wait until every batch handed over is stored: the store is this
 * thread's again. -1 when storing failed. */
static int
pipe_settle(struct import_ctx *ic)
{
	struct pipeline *p = ic->pipe;
	int failed;

	pipe_hand_over(p);
	pthread_mutex_lock(&p->mu);
	p->read_all = 1;
	while (p->stored < p->handed)
		pthread_cond_wait(&p->room, &p->mu);
	failed = p->failed;
	pthread_mutex_unlock(&p->mu);
	if (failed && ic->e != NULL)
		*ic->e = ic->serr;
	return failed ? -1 : 0;
}

/* The source's batch ends: everything stored, then what it needs. */
static int
pipe_drain(struct import_ctx *ic)
{
	return pipe_settle(ic) == 0 ? pend_source_batch(ic) : -1;
}

static int
pipe_one(const char *raw, size_t len, int64_t delivered, const char *origin,
    void *ctx)
{
	struct import_ctx *ic = ctx;
	struct pipeline *p = ic->pipe;
	struct pbatch *b;
	struct pmsg *m;
	int failed;

	if (raw == NULL)        /* the source's batch ends: store it all */
		return pipe_drain(ic);
	pthread_mutex_lock(&p->mu);
	/* a slot to fill (the store thread frees them) and room for raw
	 * bytes (the workers make it) */
	while ((p->handed - p->stored >= PIPE_SLOTS || p->raw > PIPE_RAW_MAX) &&
	    !p->failed)
		pthread_cond_wait(&p->room, &p->mu);
	failed = p->failed;
	pthread_mutex_unlock(&p->mu);
	if (failed)
		return -1;
	b = pipe_slot(p, p->handed);
	m = &b->v[b->n++];
	m->raw = mp_xmalloc(len + 1);
	memcpy(m->raw, raw, len);
	m->raw[len] = '\0';
	m->len = len;
	m->delivered = delivered;
	m->origin = mp_xstrdup(origin);
	b->raw += len;
	if (b->n == PIPE_BATCH)
		pipe_hand_over(p);
	return 0;
}

static void pipe_stop(struct pipeline *p);

/* One worker per core and the store thread; this one reads. */
static int
pipe_start(struct import_ctx *ic, long ncpu)
{
	struct pipeline *p = mp_xcalloc(1, sizeof(*p));
	int k;

	for (k = 0; k < PIPE_SLOTS; k++)
		p->b[k].v = mp_xcalloc(PIPE_BATCH, sizeof(struct pmsg));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	pthread_cond_init(&p->room, NULL);
	ic->pipe = p;
	mp_err_clear(&ic->serr);
	ic->se = &ic->serr;
	p->has_store = pthread_create(&p->store, NULL, pipe_storer, ic) == 0;
	while (p->has_store && p->nth < ncpu && p->nth < PIPE_MAX_WORKERS &&
	    pthread_create(&p->th[p->nth], NULL, pipe_worker, ic) == 0)
		p->nth++;
	if (p->nth > 0)
		return 0;
	pipe_stop(p);
	ic->pipe = NULL;
	ic->se = ic->e;
	return -1;
}

/* Stop the threads (each after the message or batch in hand) and free
 * everything. */
static void
pipe_stop(struct pipeline *p)
{
	int k;

	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_cond_signal(&p->done);
	pthread_mutex_unlock(&p->mu);
	for (k = 0; k < p->nth; k++)
		pthread_join(p->th[k], NULL);
	if (p->has_store)
		pthread_join(p->store, NULL);
	/* where an import's time goes: the store thread is the one that
	 * cannot be shared */
	if (p->nth > 0 && p->has_store)
		mp_info("CPU: %.2f s parsing (%d threads), %.2f s storing",
		    p->cpu_parse, p->nth, p->cpu_store);
	for (k = 0; k < PIPE_SLOTS; k++) {
		size_t i;

		for (i = 0; i < PIPE_BATCH; i++)
			pmsg_free(&p->b[k].v[i], 1);
		free(p->b[k].v);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->room);
	free(p);
}

/* Store what is left (when ok), stop the threads, free everything. */
static int
pipe_finish(struct import_ctx *ic, int ok)
{
	struct pipeline *p = ic->pipe;
	int rc = 0;

	if (ok)
		rc = pipe_settle(ic);
	pipe_stop(p);
	ic->pipe = NULL;
	ic->se = ic->e;
	return rc;
}

static void
import_init(struct import_ctx *ic, struct mp_job *j, const char *list_id,
    const char *source, struct mp_err *e)
{
	memset(ic, 0, sizeof(*ic));
	ic->j = j;
	ic->list_id = list_id;
	ic->source = source;
	ic->xo.config = j->cfg;
	ic->xo.month_first = j->cfg != NULL &&
	    j->cfg->extract.date_order == MP_DATE_MDY;
	ic->threaded = ic->committed = j->stored;
	ic->pq.source = source;
	ic->e = ic->se = e;
}

/*
 * Thread what is stored without a thread: the messages just stored, and
 * any that an interrupted run left, in batches (each committed). A store
 * upgraded from version 2 is rebuilt once.
 */
static int
thread_pending(struct mp_job *j, struct mp_err *e)
{
	int64_t f = mp_store_flag_get(j->st, "rethread"), w;
	long total = 0;
	size_t n;

	if (f < 0 || stored_window(j, &w) != 0)
		return mp_err_set(e, MP_EX_IOERR, "reading the store");
	/* threads made with another subject window are made anew */
	if ((f > 0 || w != subject_window(j)) && mp_job_thread(j, e) != 0)
		return -1;
	do {
		if (mp_store_begin(j->st, e) != 0)
			return -1;
		if (thread_new(j, NULL, &n, NULL, e) != 0) {
			mp_store_rollback(j->st);
			return -1;
		}
		if (mp_store_commit(j->st, e) != 0)
			return -1;
		total += (long)n;
	} while (n == THREAD_BATCH);
	if (total > 0)
		mp_info("%ld new messages threaded: %ld stored ones read, "
		    "%ld moved", total, j->thread_loaded, j->rethreaded);
	return 0;
}

/* The cores this process may run on (taskset, a cgroup's cpuset), not
 * all of the machine's: a job pinned to one core parses on the thread
 * that stores. */
static long
usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		return CPU_COUNT(&set);
	return sysconf(_SC_NPROCESSORS_ONLN);
}

static int import_file(struct mp_job *j, const char *path,
    const char *list_id, const char *source, int bulk, struct mp_err *e);

/* Read PATH into the store (the caller threads): import_file in bulk
 * mode where the store can switch (100,000 messages: the end of the
 * import 0.2-0.25 s -> 0.08 s, half the page reads and writes). */
static int
import_path(struct mp_job *j, const char *path, const char *list_id,
    const char *source, struct mp_err *e)
{
	struct mp_err be = { 0 };
	int bulk, rc;

	if ((bulk = mp_store_bulk(j->st, 1, e)) < 0)
		return -1;
	rc = import_file(j, path, list_id, source, bulk, e);
	/* the next open returns to WAL mode where this cannot */
	if (bulk && mp_store_bulk(j->st, 0, &be) != 1)
		mp_info("the store keeps its rollback journal until it is "
		    "opened again%s%s", be.msg[0] != '\0' ? ": " : "", be.msg);
	return rc;
}

static int
import_file(struct mp_job *j, const char *path, const char *list_id,
    const char *source, int bulk, struct mp_err *e)
{
	struct import_ctx ic;
	long ncpu;
	int rc;

	import_init(&ic, j, list_id, source, e);
	/* a rollback journal has no checkpoint for it to overlap */
	ic.early_commit = !bulk;
	if (mp_store_begin(j->st, e) != 0)
		return -1;
	/* Parse on the other cores when there are some. */
	ncpu = usable_cpus();
	if (ncpu > 1 && pipe_start(&ic, ncpu) != 0)
		mp_info("no worker thread: parsing on this one");
	rc = mp_source_read(path, ic.pipe != NULL ? pipe_one : import_one,
	    &ic, e);
	/* what was read is stored even when reading failed later */
	if (ic.pipe != NULL && pipe_finish(&ic, 1) != 0)
		rc = -1;
	if (rc == 0)
		rc = pend_thread(&ic);
	if (rc != 0) {
		/* Keep what earlier batches stored and what this one read
		 * (threaded by the next run): nothing read is lost when a
		 * later message fails. */
		struct mp_err ce;

		if (pend_store(j, &ic.pq, NULL, NULL, &ce) != 0 ||
		    mp_store_commit(j->st, &ce) != 0)
			mp_store_rollback(j->st);
		pend_free(&ic.pq);
		warm_free(&ic.warm);
		return -1;
	}
	pend_free(&ic.pq);
	warm_free(&ic.warm);
	return mp_store_commit(j->st, e);
}

int
mp_job_import(struct mp_job *j, const char *path, const char *list_id,
    const char *source, struct mp_err *e)
{
	struct mp_err te = { 0 };
	int rc;

	if (window_if_empty(j, e) != 0)
		return -1;
	rc = import_path(j, path, list_id, source, e);

	/* What was stored is threaded even when reading failed later. */
	if (thread_pending(j, &te) != 0 && rc == 0) {
		if (e != NULL)
			*e = te;
		rc = -1;
	}
	return rc;
}

static int
fetch_imap(struct mp_job *j, const struct mp_list_cfg *l, struct mp_err *e)
{
	struct import_ctx ic;
	long ncpu = usable_cpus();
	int rc;

	import_init(&ic, j, l->list_id, l->id, e);
	ic.source_batches = 1;
	if (ncpu > 1 && pipe_start(&ic, ncpu) != 0)
		mp_info("no worker thread: parsing on this one");
	rc = mp_imap_sync(l, j->st, j->now, ic.pipe != NULL ? pipe_one :
	    import_one, &ic, NULL, e);
	/* every batch was drained before its commit: nothing is left */
	if (ic.pipe != NULL)
		pipe_finish(&ic, 0);
	pend_free(&ic.pq);
	warm_free(&ic.warm);
	return rc;
}

int
mp_job_fetch(struct mp_job *j, struct mp_err *e)
{
	struct mp_err first = { 0 }, one;
	size_t i;
	int rc = 0;

	if (window_if_empty(j, e) != 0)
		return -1;
	for (i = 0; i < j->cfg->nlists; i++) {
		const struct mp_list_cfg *l = &j->cfg->lists[i];
		const char *path = NULL;

		mp_err_clear(&one);
		if (strncmp(l->source, "mbox:", 5) == 0)
			path = l->source + 5;
		else if (strncmp(l->source, "maildir:", 8) == 0)
			path = l->source + 8;
		if (path == NULL) {
			if (fetch_imap(j, l, &one) == 0)
				continue;
		} else if (import_path(j, path, l->list_id, l->id, &one) ==
		    0) {
			mp_info("list %s: %ld stored, %ld already known",
			    l->id, j->stored, j->duplicates);
			continue;
		}
		mp_warnx("list %s: %s", l->id, one.msg);
		if (rc == 0)
			first = one;
		rc = -1;
	}
	/* Whatever was stored, even from a list that failed midway. */
	mp_err_clear(&one);
	if (thread_pending(j, &one) != 0 && rc == 0) {
		first = one;
		rc = -1;
	}
	if (rc != 0 && e != NULL)
		*e = first;
	return rc;
}

int
mp_job_each_thread(struct mp_job *j, int64_t since,
    int (*cb)(const struct mp_thread_view *t, void *ctx), void *ctx,
    struct mp_err *e)
{
	struct tcollect c = { 0 };
	struct mp_thread *th = NULL;
	const char **ids = NULL, **who = NULL;
	size_t i, k, w, nth = 0, nwho;
	int rc = -1;

	c.view = 1;
	if (mp_store_each_trow(j->st, NULL, tcollect_row, &c, e) != 0 ||
	    tcollect_build(&c, subject_window(j), &th, &nth, NULL, NULL,
	    e) != 0)
		goto out;
	ids = mp_xcalloc(c.n + 1, sizeof(*ids));
	who = mp_xcalloc(c.n + 1, sizeof(*who));
	for (i = 0; i < nth; i++) {
		struct mp_thread_view v;

		if (th[i].last < since)
			continue;
		nwho = 0;
		for (k = 0; k < th[i].n; k++) {
			const struct tmsg *t = &c.v[th[i].msgs[k]];

			ids[k] = t->id;
			for (w = 0; w < nwho && strcmp(who[w], t->from) != 0;
			    w++)
				;
			if (w == nwho)
				who[nwho++] = t->from;
		}
		v.id = th[i].id;
		v.subject = c.v[th[i].msgs[0]].subject;
		v.msgids = ids;
		v.n = th[i].n;
		v.participants = who;
		v.nparticipants = nwho;
		v.last = th[i].last;
		if (cb(&v, ctx) != 0)
			goto out;
	}
	rc = 0;
out:
	free(ids);
	free(who);
	mp_threads_free(th, nth);
	tcollect_free(&c);
	return rc;
}

