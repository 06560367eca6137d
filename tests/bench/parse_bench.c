/*
 * parse_bench.c - time mp_mime_parse() alone: every message of an mbox is
 * read into memory first (untimed), then parsed with the fast path (the
 * default, falling back to libetpan where it must) and with libetpan only
 * (MP_MIME_SLOW). Prints one line per way and the ratio. Built and run
 * by tests/bench/parse.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "mime.h"
#include "source.h"

struct raw {
	char *p;
	size_t len;
	int64_t delivered;
};

struct all {
	struct raw *r;
	size_t n, cap, bytes;
};

static int
keep(const char *raw, size_t len, int64_t delivered, const char *origin,
    void *ctx)
{
	struct all *a = ctx;

	(void)origin;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 1024;
		a->r = realloc(a->r, a->cap * sizeof(*a->r));
		if (a->r == NULL)
			abort();
	}
	/* the source's promise: a NUL after the message */
	if ((a->r[a->n].p = malloc(len + 1)) == NULL)
		abort();
	memcpy(a->r[a->n].p, raw, len + 1);
	a->r[a->n].len = len;
	a->r[a->n].delivered = delivered;
	a->n++;
	a->bytes += len;
	return 0;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Seconds to parse every message with flags; *fast counts the messages
 * the fast path took (counted in a separate, untimed pass). */
static double
run(const struct all *a, int flags, size_t *fast)
{
	struct mp_err e;
	struct mp_msg *m;
	size_t i;
	double t0, t1;

	t0 = now();
	for (i = 0; i < a->n; i++) {
		if (mp_mime_parse_flags(a->r[i].p, a->r[i].len,
		    a->r[i].delivered, flags, &m, &e) == 0)
			mp_msg_free(m);
	}
	t1 = now();
	*fast = 0;
	for (i = 0; flags == 0 && i < a->n; i++) {
		if (mp_mime_parse_flags(a->r[i].p, a->r[i].len,
		    a->r[i].delivered, MP_MIME_FAST_ONLY, &m, &e) == 0) {
			mp_msg_free(m);
			(*fast)++;
		}
	}
	return t1 - t0;
}

int
main(int argc, char **argv)
{
	struct all a = { 0 };
	struct mp_err e = { 0 };
	size_t i, fast = 0, dummy;
	double tf, ts, mb;

	if (argc != 2 || mp_source_read(argv[1], keep, &a, &e) != 0 ||
	    a.n == 0) {
		fprintf(stderr, "usage: parse_bench MBOX\n");
		return 1;
	}
	mb = (double)a.bytes / 1e6;
	/* best of three each, interleaved: caches and the allocator warm */
	tf = ts = 1e9;
	for (i = 0; i < 3; i++) {
		double t;

		if ((t = run(&a, 0, &fast)) < tf)
			tf = t;
		if ((t = run(&a, MP_MIME_SLOW, &dummy)) < ts)
			ts = t;
	}
	printf("%zu messages, %.1f MB; fast path taken by %zu (%.1f%%)\n",
	    a.n, mb, fast, 100.0 * (double)fast / (double)a.n);
	printf("%-22s %8s %10s %12s %10s\n", "", "seconds", "MB/s",
	    "messages/s", "us/msg");
	printf("%-22s %8.2f %10.1f %12.0f %10.1f\n", "fast path (default)",
	    tf, mb / tf, (double)a.n / tf, 1e6 * tf / (double)a.n);
	printf("%-22s %8.2f %10.1f %12.0f %10.1f\n", "libetpan (MP_MIME_SLOW)",
	    ts, mb / ts, (double)a.n / ts, 1e6 * ts / (double)a.n);
	printf("speed-up: %.1fx\n", ts / tf);
	for (i = 0; i < a.n; i++)
		free(a.r[i].p);
	free(a.r);
	return 0;
}
