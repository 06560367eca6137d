/*
 * extract_bench.c - time mp_extract() alone: every message of an mbox is
 * parsed first (untimed), then extraction runs over all of them.
 * Prints "SECONDS ITEMS". Built and run by tests/bench/extract.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "err.h"
#include "extract.h"
#include "mime.h"
#include "source.h"

struct all {
	struct mp_msg **m;
	size_t n, cap;
};

static int
keep(const char *raw, size_t len, int64_t delivered, const char *origin,
    void *ctx)
{
	struct all *a = ctx;
	struct mp_err e = { 0 };
	struct mp_msg *m;

	(void)origin;
	if (mp_mime_parse(raw, len, delivered, &m, &e) != 0)
		return 0;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 1024;
		a->m = realloc(a->m, a->cap * sizeof(*a->m));
		if (a->m == NULL)
			abort();
	}
	a->m[a->n++] = m;
	return 0;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct all a = { 0 };
	struct mp_err e = { 0 };
	struct mp_action *x;
	size_t i, n, items = 0;
	double t0, t1;

	if (argc != 2 || mp_source_read(argv[1], keep, &a, &e) != 0) {
		fprintf(stderr, "usage: extract_bench MBOX\n");
		return 1;
	}
	t0 = now();
	for (i = 0; i < a.n; i++) {
		if (mp_extract(a.m[i], NULL, &x, &n) == 0)
			items += n;
		mp_actions_free(x, n);
	}
	t1 = now();
	printf("%.3f %zu\n", t1 - t0, items);
	for (i = 0; i < a.n; i++)
		mp_msg_free(a.m[i]);
	free(a.m);
	return 0;
}
