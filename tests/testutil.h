/*
 * testutil.h - shared helpers for the Check suites.
 */
#ifndef MP_TESTUTIL_H
#define MP_TESTUTIL_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datetime.h"

/* The repository root: tests are built from it, and tests/run-tests runs
 * them from it, so "." unless MAGPIE_SRCDIR says otherwise. */
static inline const char *
tu_srcdir(void)
{
	const char *s = getenv("MAGPIE_SRCDIR");

	return s != NULL && *s ? s : ".";
}

/* ../shared/testdata (or $MAGPIE_SHARED/testdata), or NULL when absent:
 * tests that need it skip. */
static inline const char *
tu_shared(void)
{
	static char path[4096];
	const char *s = getenv("MAGPIE_SHARED");

	if (s == NULL || !*s) {
		snprintf(path, sizeof(path), "%s/../shared", tu_srcdir());
	} else {
		snprintf(path, sizeof(path), "%s", s);
	}
	if (access(path, R_OK) != 0)
		return NULL;
	return path;
}

/* A fresh temporary directory (removed by tu_rmtree); path is static. */
static inline char *
tu_tmpdir(void)
{
	char tmpl[] = "/tmp/magpie-test-XXXXXX";
	char *d = mkdtemp(tmpl);

	ck_assert_ptr_nonnull(d);
	return strdup(d);
}

static inline void
tu_rmtree(const char *dir)
{
	char cmd[4200];

	if (dir == NULL || strncmp(dir, "/tmp/magpie-test-", 17) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* Write a file (creating it), aborting the test on failure. */
static inline void
tu_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

/* A time as the CLI reads it ("2021-06-14T12:00:00Z", zone UTC when
 * none is written); the test fails on a bad one. */
static inline int64_t
tu_time(const char *s)
{
	int64_t v = 0;

	ck_assert_msg(mp_dt_parse(s, "UTC", &v, NULL, 0, NULL) == 0,
	    "bad time '%s'", s);
	return v;
}

/* Run a suite; exit status 0 when all passed. */
static inline int
tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

#endif
