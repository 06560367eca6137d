/* check_source.c - mbox, gzip mbox, Maildir and single-file sources. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <zlib.h>

#include "buf.h"
#include "err.h"
#include "mime.h"
#include "source.h"
#include "testutil.h"

struct got {
	char **raw;
	size_t *len;
	int64_t *delivered;
	char **origin;
	size_t n, cap;
	size_t stop_at;         /* return -1 after this many, 0: never */
};

static int
collect(const char *raw, size_t len, int64_t delivered, const char *origin,
    void *ctx)
{
	struct got *g = ctx;

	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 16;
		g->raw = realloc(g->raw, g->cap * sizeof(*g->raw));
		g->len = realloc(g->len, g->cap * sizeof(*g->len));
		g->delivered = realloc(g->delivered,
		    g->cap * sizeof(*g->delivered));
		g->origin = realloc(g->origin, g->cap * sizeof(*g->origin));
		ck_assert_ptr_nonnull(g->raw);
		ck_assert_ptr_nonnull(g->len);
		ck_assert_ptr_nonnull(g->delivered);
		ck_assert_ptr_nonnull(g->origin);
	}
	ck_assert_uint_eq(raw[len], '\0');
	g->raw[g->n] = malloc(len + 1);
	ck_assert_ptr_nonnull(g->raw[g->n]);
	memcpy(g->raw[g->n], raw, len + 1);
	g->len[g->n] = len;
	g->delivered[g->n] = delivered;
	g->origin[g->n] = strdup(origin);
	g->n++;
	if (g->stop_at != 0 && g->n == g->stop_at)
		return -1;
	return 0;
}

static void
got_free(struct got *g)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		free(g->raw[i]);
		free(g->origin[i]);
	}
	free(g->raw);
	free(g->len);
	free(g->delivered);
	free(g->origin);
	memset(g, 0, sizeof(*g));
}

static void
assert_msg(const struct got *g, size_t i, const char *text)
{
	ck_assert_uint_lt(i, g->n);
	ck_assert_uint_eq(g->len[i], strlen(text));
	ck_assert_mem_eq(g->raw[i], text, strlen(text));
}

static char *
join(const char *dir, const char *name)
{
	struct mp_buf b = MP_BUF_INIT;

	mp_buf_printf(&b, "%s/%s", dir, name);
	return mp_buf_detach(&b);
}

static void
write_gz(const char *path, const char *data, size_t len)
{
	gzFile gz = gzopen(path, "wb");

	ck_assert_ptr_nonnull(gz);
	ck_assert_int_eq(gzwrite(gz, data, (unsigned)len), (int)len);
	ck_assert_int_eq(gzclose(gz), Z_OK);
}

static void
set_mtime(const char *path, time_t t)
{
	struct timeval tv[2];

	tv[0].tv_sec = tv[1].tv_sec = t;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	ck_assert_int_eq(utimes(path, tv), 0);
}

static const char MBOX[] =
    "From alice@example.org Thu Jun 17 10:00:00 2021\n"
    "From: alice@example.org\n"
    "Subject: one\n"
    "\n"
    "Body line\n"
    ">From the start\n"
    ">>From quoted\n"
    ">>>From deeper\n"
    ">Fromage is not quoted\n"
    "From me to you\n"
    "\n"
    "From bob@example.org  Fri Jun 18 11:30:05 2021\n"
    "Subject: two\n"
    "\n"
    "second\n"
    "\n"
    "\n"
    "From carol Fri Jun 18 11:30:05 2021 +0200\n"
    "Subject: three\n"
    "\n"
    "no final newline";

static const char MSG1[] =
    "From: alice@example.org\n"
    "Subject: one\n"
    "\n"
    "Body line\n"
    "From the start\n"
    ">From quoted\n"
    ">>From deeper\n"
    ">Fromage is not quoted\n"
    "From me to you\n";
static const char MSG2[] = "Subject: two\n\nsecond\n\n";
static const char MSG3[] = "Subject: three\n\nno final newline";

static void
check_mbox3(const struct got *g, const char *path)
{
	char o[4200];

	ck_assert_uint_eq(g->n, 3);
	assert_msg(g, 0, MSG1);
	assert_msg(g, 1, MSG2);
	assert_msg(g, 2, MSG3);
	ck_assert_int_eq(g->delivered[0], 1623924000);
	ck_assert_int_eq(g->delivered[1], 1624015805);
	ck_assert_int_eq(g->delivered[2], 1624015805 - 7200);
	snprintf(o, sizeof(o), "%s:1", path);
	ck_assert_str_eq(g->origin[0], o);
	snprintf(o, sizeof(o), "%s:3", path);
	ck_assert_str_eq(g->origin[2], o);
}

START_TEST(test_mbox_quoting)
{
	char *dir = tu_tmpdir(), *path = join(dir, "list.mbox");
	struct got g = { 0 };
	struct mp_err e = { 0 };

	tu_write(path, MBOX);
	ck_assert_int_eq(mp_source_read(path, collect, &g, &e), 0);
	check_mbox3(&g, path);
	got_free(&g);
	ck_assert_int_eq(mp_source_read_mbox(path, collect, &g, &e), 0);
	check_mbox3(&g, path);
	got_free(&g);
	tu_rmtree(dir);
	free(dir);
	free(path);
}
END_TEST

START_TEST(test_mbox_split_rules)
{
	char *dir = tu_tmpdir(), *path = join(dir, "m");
	struct got g = { 0 };
	struct mp_err e = { 0 };

	/* A From_ line without a date still separates (delivered 0); one
	 * after an empty body line separates too (mboxo ambiguity). */
	tu_write(path,
	    "\n"
	    "From x\n"
	    "A: 1\n"
	    "\n"
	    "From nobody really\n"
	    "B: 2\n"
	    "\n"
	    "From y Mon Jan 32 10:00:00 2021\n"
	    "C: 3\n");
	ck_assert_int_eq(mp_source_read_mbox(path, collect, &g, &e), 0);
	ck_assert_uint_eq(g.n, 3);
	assert_msg(&g, 0, "A: 1\n");
	assert_msg(&g, 1, "B: 2\n");
	assert_msg(&g, 2, "C: 3\n");
	ck_assert_int_eq(g.delivered[0], 0);
	ck_assert_int_eq(g.delivered[2], 0);
	got_free(&g);

	/* Text before the first From_ line is a message of its own. */
	tu_write(path, "Subject: bare\n\nbody\n\nFrom z Thu Jun 17 10:00:00 "
	    "2021\nSubject: boxed\n\nb\n");
	ck_assert_int_eq(mp_source_read_mbox(path, collect, &g, &e), 0);
	ck_assert_uint_eq(g.n, 2);
	assert_msg(&g, 0, "Subject: bare\n\nbody\n");
	assert_msg(&g, 1, "Subject: boxed\n\nb\n");
	ck_assert_int_eq(g.delivered[0], 0);
	ck_assert_int_eq(g.delivered[1], 1623924000);
	got_free(&g);

	/* An empty mbox yields nothing. */
	tu_write(path, "");
	ck_assert_int_eq(mp_source_read_mbox(path, collect, &g, &e), 0);
	ck_assert_uint_eq(g.n, 0);
	tu_rmtree(dir);
	free(dir);
	free(path);
}
END_TEST

START_TEST(test_mbox_crlf)
{
	char *dir = tu_tmpdir(), *path = join(dir, "crlf.mbox");
	struct got g = { 0 };
	struct mp_err e = { 0 };

	tu_write(path,
	    "From a Thu Jun 17 10:00:00 2021\r\n"
	    "Subject: x\r\n"
	    "\r\n"
	    "body\r\n"
	    ">From here\r\n"
	    "From there\r\n"
	    "\r\n"
	    "From b Thu Jun 17 10:00:01 2021\r\n"
	    "Subject: y\r\n"
	    "\r\n"
	    "b2\r\n"
	    "\r\n");
	ck_assert_int_eq(mp_source_read(path, collect, &g, &e), 0);
	ck_assert_uint_eq(g.n, 2);
	assert_msg(&g, 0, "Subject: x\r\n\r\nbody\r\nFrom here\r\n"
	    "From there\r\n");
	assert_msg(&g, 1, "Subject: y\r\n\r\nb2\r\n");
	ck_assert_int_eq(g.delivered[1], 1623924001);
	got_free(&g);
	tu_rmtree(dir);
	free(dir);
	free(path);
}
END_TEST

START_TEST(test_mbox_gzip)
{
	char *dir = tu_tmpdir(), *path = join(dir, "2021-June.txt.gz");
	struct got g = { 0 };
	struct mp_err e = { 0 };

	write_gz(path, MBOX, strlen(MBOX));
	ck_assert_int_eq(mp_source_read(path, collect, &g, &e), 0);
	check_mbox3(&g, path);
	got_free(&g);
	tu_rmtree(dir);
	free(dir);
	free(path);
}
END_TEST

/* Many messages with long lines, so lines straddle the reader's chunks. */
static void
big_mbox(struct mp_buf *b, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		mp_buf_printf(b, "From u%zu@example.org Thu Jun 17 10:00:00 "
		    "2021\nMessage-ID: <%zu@example.org>\n\n", i, i);
		for (j = 0; j < (i % 7) + 1; j++) {
			mp_buf_printf(b, "line %zu of message %zu ", j, i);
			while (b->len % 97 != 0)
				mp_buf_addc(b, (char)('a' + (b->len % 26)));
			mp_buf_addc(b, '\n');
		}
		if (i % 5 == 0)
			mp_buf_adds(b, ">From quoted\n");
		mp_buf_addc(b, '\n');
	}
}

static void
check_big(const struct got *g, const struct mp_buf *src, size_t n)
{
	const char *p = src->data, *q;
	size_t i;
	char *exp;

	ck_assert_uint_eq(g->n, n);
	for (i = 0; i < n; i++) {
		/* Independent expectation: the text between From_ lines,
		 * minus the From_ line, the separator and one quote. */
		p = strchr(p, '\n') + 1;
		q = strstr(p, "\n\nFrom u");
		q = q != NULL ? q + 1 : src->data + src->len - 1;
		exp = strndup(p, (size_t)(q - p));
		if (strstr(exp, ">From quoted\n") != NULL)
			memmove(strstr(exp, ">From quoted\n"),
			    strstr(exp, ">From quoted\n") + 1,
			    strlen(strstr(exp, ">From quoted\n")));
		assert_msg(g, i, exp);
		free(exp);
		p = q + 1;
	}
}

START_TEST(test_mbox_large_chunks)
{
	char *dir = tu_tmpdir(), *plain = join(dir, "big.mbox");
	char *gz = join(dir, "big.mbox.gz");
	struct mp_buf b = MP_BUF_INIT;
	struct got g = { 0 };
	struct mp_err e = { 0 };
	FILE *f;

	big_mbox(&b, 3000);
	ck_assert_uint_gt(b.len, 3 * 256 * 1024);
	f = fopen(plain, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(b.data, 1, b.len, f), b.len);
	fclose(f);
	write_gz(gz, b.data, b.len);
	ck_assert_int_eq(mp_source_read(plain, collect, &g, &e), 0);
	check_big(&g, &b, 3000);
	got_free(&g);
	ck_assert_int_eq(mp_source_read(gz, collect, &g, &e), 0);
	check_big(&g, &b, 3000);
	got_free(&g);
	mp_buf_free(&b);
	tu_rmtree(dir);
	free(dir);
	free(plain);
	free(gz);
}
END_TEST

/* One message of reference_split: the format's blank line dropped. */
static void
reference_flush(struct mp_buf *msg, struct got *g)
{
	if (msg->len >= 4 && memcmp(msg->data + msg->len - 4, "\r\n\r\n",
	    4) == 0)
		msg->len -= 2;
	else if (msg->len >= 2 && memcmp(msg->data + msg->len - 2, "\n\n",
	    2) == 0)
		msg->len -= 1;
	if (msg->data != NULL)
		msg->data[msg->len] = '\0';
	collect(msg->data != NULL ? msg->data : "", msg->len, 0, "ref", g);
	mp_buf_reset(msg);
}

/* The mbox rules line by line, as the reference for the reader's runs:
 * a "From " line after a blank one (or first) starts a message, ">From "
 * loses one '>', text before the first From_ line is a message once it
 * has a line that is not blank, and the blank line before a From_ line
 * belongs to the format. */
static void
reference_split(const char *p, size_t n, struct got *g)
{
	struct mp_buf msg = MP_BUF_INIT;
	const char *e = p + n, *nl;
	int prev_blank = 1, in_msg = 0;

	while (p < e) {
		size_t len, q = 0;
		int blank;

		nl = memchr(p, '\n', (size_t)(e - p));
		len = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(e - p);
		blank = len == 1 || (len == 2 && p[0] == '\r');
		if (nl == NULL && len == 0)
			break;
		if (prev_blank && len >= 5 && memcmp(p, "From ", 5) == 0) {
			if (in_msg) {
				reference_flush(&msg, g);
			}
			in_msg = 1;
			prev_blank = 0;
			p += len;
			continue;
		}
		prev_blank = blank;
		if (!in_msg && blank) {
			p += len;
			continue;
		}
		in_msg = 1;
		while (q < len && p[q] == '>')
			q++;
		if (q > 0 && len - q >= 5 && memcmp(p + q, "From ", 5) == 0)
			mp_buf_add(&msg, p + 1, len - 1);
		else
			mp_buf_add(&msg, p, len);
		p += len;
	}
	if (in_msg)
		reference_flush(&msg, g);
	mp_buf_free(&msg);
}

/* Random lines that begin, quote or only look like From_ lines, in LF
 * and CRLF archives larger than a read: the same messages as the rules
 * give line by line. */
START_TEST(test_mbox_runs_as_lines)
{
	static const char *const lines[] = { "From a Thu Jun 17 10:00:00 2021",
		"From b", "", "", ">From x", ">>From y", ">>>From z", ">From",
		"From: A <a@x>", "Subject: From you", "text From here", "FFrom ",
		"From", "F", "Fr From ", "> quoted", "From  ", "\tFrom ",
		"body F F", "xFrom y", "From" };
	char *dir = tu_tmpdir(), *path = join(dir, "r.mbox");
	struct mp_buf b = MP_BUF_INIT;
	struct got g = { 0 }, want = { 0 };
	struct mp_err e = { 0 };
	unsigned seed = 1;
	size_t i, k;
	int crlf;
	FILE *f;

	for (crlf = 0; crlf < 2; crlf++) {
		mp_buf_reset(&b);
		for (k = 0; k < 40000; k++) {
			seed = seed * 1103515245u + 12345u;
			mp_buf_adds(&b, lines[(seed >> 16) %
			    (sizeof(lines) / sizeof(lines[0]))]);
			if ((seed >> 8) % 50 == 0)      /* long lines */
				for (i = 0; i < 40; i++)
					mp_buf_adds(&b, "From the F line ");
			mp_buf_adds(&b, crlf ? "\r\n" : "\n");
		}
		mp_buf_adds(&b, "last line From ");
		ck_assert_uint_gt(b.len, 3 * 256 * 1024);
		f = fopen(path, "wb");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(b.data, 1, b.len, f), b.len);
		fclose(f);
		ck_assert_int_eq(mp_source_read_mbox(path, collect, &g, &e), 0);
		reference_split(b.data, b.len, &want);
		ck_assert_uint_gt(want.n, 300);
		ck_assert_uint_eq(g.n, want.n);
		for (i = 0; i < g.n; i++) {
			ck_assert_uint_eq(g.len[i], want.len[i]);
			ck_assert_mem_eq(g.raw[i], want.raw[i], g.len[i]);
		}
		got_free(&g);
		got_free(&want);
	}
	mp_buf_free(&b);
	tu_rmtree(dir);
	free(dir);
	free(path);
}
END_TEST

/* A message over the 64 MB bound is skipped with a warning, whether
 * its lines come one by one or in runs (the one that crosses is not cut
 * by a read: one's 100 KB move it); the next one is read whole. */
START_TEST(test_mbox_oversized)
{
	char *dir = tu_tmpdir(), *path = join(dir, "huge.mbox");
	char line[1024];
	struct got g = { 0 };
	struct mp_err e = { 0 };
	size_t i;
	FILE *f;

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	fputs("From a Thu Jun 17 10:00:00 2021\nSubject: one\n\n", f);
	for (i = 0; i < 100; i++)
		ck_assert_uint_eq(fwrite(line, 1, sizeof(line), f),
		    sizeof(line));
	/* two is 14 bytes over: only its last line crosses the bound */
	fputs("\nFrom b Thu Jun 17 10:00:00 2021\nSubject: two\n\n", f);
	for (i = 0; i < (size_t)64 * 1024; i++)
		ck_assert_uint_eq(fwrite(line, 1, sizeof(line), f),
		    sizeof(line));
	fputs("\nFrom c Thu Jun 17 10:00:00 2021\nSubject: three\n\n"
	    "after\n>From quoted\n", f);
	fclose(f);
	ck_assert_int_eq(mp_source_read(path, collect, &g, &e), 0);
	ck_assert_uint_eq(g.n, 2);
	ck_assert_uint_eq(g.len[0], 14 + 100 * sizeof(line));
	assert_msg(&g, 1, "Subject: three\n\nafter\nFrom quoted\n");
	got_free(&g);
	tu_rmtree(dir);
	free(dir);
	free(path);
}
END_TEST

START_TEST(test_mbox_gzip_truncated)
{
	char *dir = tu_tmpdir(), *path = join(dir, "cut.gz");
	struct mp_buf b = MP_BUF_INIT;
	struct got g = { 0 };
	struct mp_err e = { 0 };
	struct stat st;

	big_mbox(&b, 500);
	write_gz(path, b.data, b.len);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(truncate(path, st.st_size / 2), 0);
	ck_assert_int_eq(mp_source_read(path, collect, &g, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	ck_assert_uint_lt(g.n, 500);
	got_free(&g);
	mp_buf_free(&b);
	tu_rmtree(dir);
	free(dir);
	free(path);
}
END_TEST

START_TEST(test_mbox_pipermail)
{
	char *dir = tu_tmpdir(), *path = join(dir, "2021-June.txt");
	struct got g = { 0 };
	struct mp_err e = { 0 };

	tu_write(path,
	    "From alice at example.org  Thu Jun 17 10:00:00 2021\n"
	    "From: alice at example.org (Alice Example)\n"
	    "Subject: [MAG] x\n"
	    "\n"
	    "From: bob at example.org (Bob) stays in the body\n"
	    "\n"
	    "From bob at example.org  Thu Jun 17 11:00:00 2021\n"
	    "From: bob at example.org (O'Brien, \"Bob\")\n"
	    "\n"
	    "x\n"
	    "\n"
	    "From carol at example.org  Thu Jun 17 12:00:00 2021\n"
	    "Subject: s\n"
	    "From: carol at example.org\n"
	    "\n"
	    "y\n"
	    "\n"
	    "From dave@example.org Thu Jun 17 13:00:00 2021\n"
	    "From: dave at example.org (Dave)\n"
	    "\n"
	    "z\n"
	    "\n"
	    "From jo at home.example  Thu Jun 17 14:00:00 2021\n"
	    "From: Jo at Home <jo@home.example>\n"
	    "\n"
	    "w\n"
	    "\n"
	    "From jo at home.example  Thu Jun 17 15:00:00 2021\n"
	    "From: jo at home.example (=?utf-8?q?J=C3=B6?= A.)\r\n"
	    "\n"
	    "v\n");
	ck_assert_int_eq(mp_source_read(path, collect, &g, &e), 0);
	ck_assert_uint_eq(g.n, 6);
	assert_msg(&g, 0, "From: Alice Example <alice@example.org>\n"
	    "Subject: [MAG] x\n\n"
	    "From: bob at example.org (Bob) stays in the body\n");
	assert_msg(&g, 1, "From: \"O'Brien, \\\"Bob\\\"\" <bob@example.org>\n"
	    "\nx\n");
	assert_msg(&g, 2, "Subject: s\nFrom: carol@example.org\n\ny\n");
	assert_msg(&g, 3, "From: dave at example.org (Dave)\n\nz\n");
	assert_msg(&g, 4, "From: Jo at Home <jo@home.example>\n\nw\n");
	assert_msg(&g, 5, "From: =?utf-8?q?J=C3=B6?= A. <jo@home.example>\r\n"
	    "\nv\n");
	ck_assert_int_eq(g.delivered[0], 1623924000);
	got_free(&g);
	tu_rmtree(dir);
	free(dir);
	free(path);
}
END_TEST

static void
mkdir_in(const char *dir, const char *sub)
{
	char *p = join(dir, sub);

	ck_assert_int_eq(mkdir(p, 0700), 0);
	free(p);
}

static char *
write_in(const char *dir, const char *name, const char *text, time_t mtime)
{
	char *p = join(dir, name);

	tu_write(p, text);
	if (mtime != 0)
		set_mtime(p, mtime);
	return p;
}

START_TEST(test_maildir)
{
	char *dir = tu_tmpdir(), *p1, *p2, *p3, *big;
	struct got g = { 0 };
	struct mp_err e = { 0 };
	int fd;

	mkdir_in(dir, "cur");
	mkdir_in(dir, "new");
	mkdir_in(dir, "tmp");
	mkdir_in(dir, "cur/sub");
	p2 = write_in(dir, "cur/1623924002.M2.host:2,S", "Subject: b\n\nB\n",
	    1623924002);
	p1 = write_in(dir, "cur/1623924001.M1.host:2,", "Subject: a\n\nA\n",
	    1623924001);
	p3 = write_in(dir, "new/1623924003.M3.host", "Subject: c\r\n\r\nC\r\n",
	    1623924003);
	free(write_in(dir, "tmp/1623924000.M0.host", "Subject: tmp\n\n", 0));
	free(write_in(dir, "cur/.hidden", "Subject: hidden\n\n", 0));
	/* Over the 64 MB bound: skipped with a warning (a sparse file). */
	big = join(dir, "new/1623924004.M4.host");
	fd = open(big, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)65 * 1024 * 1024), 0);
	close(fd);

	ck_assert_int_eq(mp_source_read(dir, collect, &g, &e), 0);
	ck_assert_uint_eq(g.n, 3);
	assert_msg(&g, 0, "Subject: a\n\nA\n");
	assert_msg(&g, 1, "Subject: b\n\nB\n");
	assert_msg(&g, 2, "Subject: c\r\n\r\nC\r\n");
	ck_assert_str_eq(g.origin[0], p1);
	ck_assert_str_eq(g.origin[1], p2);
	ck_assert_str_eq(g.origin[2], p3);
	ck_assert_int_eq(g.delivered[0], 1623924001);
	ck_assert_int_eq(g.delivered[2], 1623924003);
	got_free(&g);

	/* Stop after the second message. */
	g.stop_at = 2;
	ck_assert_int_eq(mp_source_read_maildir(dir, collect, &g, &e), -1);
	ck_assert_uint_eq(g.n, 2);
	ck_assert_int_eq(e.code, MP_EX_SOFTWARE);
	got_free(&g);

	/* A single file over the bound is an error. */
	ck_assert_int_eq(mp_source_read(big, collect, &g, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	ck_assert_uint_eq(g.n, 0);
	tu_rmtree(dir);
	free(dir);
	free(p1);
	free(p2);
	free(p3);
	free(big);
}
END_TEST

/* Files are read in name order across cur/ and new/; a name in both
 * comes from cur/ first. */
START_TEST(test_maildir_order)
{
	char *dir = tu_tmpdir(), *p[4];
	struct got g = { 0 };
	struct mp_err e = { 0 };
	int i;

	mkdir_in(dir, "cur");
	mkdir_in(dir, "new");
	p[3] = write_in(dir, "new/3.host", "Subject: d\n\nD\n", 13);
	p[1] = write_in(dir, "cur/2.host", "Subject: b\n\nB\n", 12);
	p[0] = write_in(dir, "new/1.host", "Subject: a\n\nA\n", 11);
	p[2] = write_in(dir, "new/2.host", "Subject: c\n\nC\n", 14);
	ck_assert_int_eq(mp_source_read_maildir(dir, collect, &g, &e), 0);
	ck_assert_uint_eq(g.n, 4);
	for (i = 0; i < 4; i++)
		ck_assert_str_eq(g.origin[i], p[i]);
	ck_assert_int_eq(g.delivered[1], 12);
	ck_assert_int_eq(g.delivered[2], 14);
	assert_msg(&g, 2, "Subject: c\n\nC\n");
	got_free(&g);
	tu_rmtree(dir);
	for (i = 0; i < 4; i++)
		free(p[i]);
	free(dir);
}
END_TEST

/* A link to a message is read as the message (its time is the
 * message's); a link to a folder, or one that leads nowhere, is not a
 * message; an empty file is an empty message. */
START_TEST(test_maildir_links)
{
	char *dir = tu_tmpdir(), *p[2], *link, *elsewhere;
	struct got g = { 0 };
	struct mp_err e = { 0 };

	mkdir_in(dir, "cur");
	mkdir_in(dir, "new");
	mkdir_in(dir, "kept");
	elsewhere = write_in(dir, "kept/m", "Subject: linked\n\nL\n", 21);
	p[0] = join(dir, "cur/1.host");
	ck_assert_int_eq(symlink(elsewhere, p[0]), 0);
	p[1] = write_in(dir, "new/2.host", "", 22);
	link = join(dir, "cur/3.host");
	ck_assert_int_eq(symlink(dir, link), 0);
	free(link);
	link = join(dir, "cur/4.host");
	ck_assert_int_eq(symlink("/nonexistent/magpie", link), 0);
	ck_assert_int_eq(mp_source_read_maildir(dir, collect, &g, &e), 0);
	ck_assert_uint_eq(g.n, 2);
	ck_assert_str_eq(g.origin[0], p[0]);
	assert_msg(&g, 0, "Subject: linked\n\nL\n");
	ck_assert_int_eq(g.delivered[0], 21);
	ck_assert_str_eq(g.origin[1], p[1]);
	assert_msg(&g, 1, "");
	ck_assert_int_eq(g.delivered[1], 22);
	got_free(&g);
	tu_rmtree(dir);
	free(link);
	free(elsewhere);
	free(p[0]);
	free(p[1]);
	free(dir);
}
END_TEST

START_TEST(test_maildir_new_only)
{
	char *dir = tu_tmpdir(), *p;
	struct got g = { 0 };
	struct mp_err e = { 0 };

	mkdir_in(dir, "new");
	p = write_in(dir, "new/x", "Subject: only\n\n", 1600000000);
	ck_assert_int_eq(mp_source_read(dir, collect, &g, &e), 0);
	ck_assert_uint_eq(g.n, 1);
	assert_msg(&g, 0, "Subject: only\n\n");
	got_free(&g);
	tu_rmtree(dir);
	free(dir);
	free(p);
}
END_TEST

START_TEST(test_single_file)
{
	char *dir = tu_tmpdir(), *p;
	struct got g = { 0 };
	struct mp_err e = { 0 };

	p = write_in(dir, "msg.eml", "Subject: hi\n\n>From body\nFrom x\n",
	    1623924000);
	ck_assert_int_eq(mp_source_read(p, collect, &g, &e), 0);
	ck_assert_uint_eq(g.n, 1);
	/* Not an mbox: no unquoting. */
	assert_msg(&g, 0, "Subject: hi\n\n>From body\nFrom x\n");
	ck_assert_int_eq(g.delivered[0], 1623924000);
	ck_assert_str_eq(g.origin[0], p);
	got_free(&g);

	g.stop_at = 1;
	ck_assert_int_eq(mp_source_read_file(p, collect, &g, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_SOFTWARE);
	got_free(&g);
	tu_rmtree(dir);
	free(dir);
	free(p);
}
END_TEST

START_TEST(test_missing)
{
	char *dir = tu_tmpdir(), *p = join(dir, "nope");
	struct got g = { 0 };
	struct mp_err e = { 0 };

	ck_assert_int_eq(mp_source_read(p, collect, &g, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_NOINPUT);
	ck_assert_ptr_nonnull(strstr(e.msg, "nope"));
	e.code = 0;
	ck_assert_int_eq(mp_source_read_mbox(p, collect, &g, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_NOINPUT);
	e.code = 0;
	ck_assert_int_eq(mp_source_read_maildir(p, collect, &g, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_NOINPUT);
	e.code = 0;
	ck_assert_int_eq(mp_source_read_file(p, collect, &g, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_NOINPUT);
	/* A directory that is not a Maildir. */
	ck_assert_int_eq(mp_source_read(dir, collect, &g, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	ck_assert_int_eq(mp_source_read_maildir(dir, collect, &g, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_NOINPUT);
	ck_assert_uint_eq(g.n, 0);
	/* NULL e is allowed. */
	ck_assert_int_eq(mp_source_read(p, collect, &g, NULL), -1);
	tu_rmtree(dir);
	free(dir);
	free(p);
}
END_TEST

/* The callback may report its own error through ctx: keep it. */
static int
fail_own(const char *raw, size_t len, int64_t delivered, const char *origin,
    void *ctx)
{
	return mp_err_set(ctx, MP_EX_TEMPFAIL, "store busy");
}

START_TEST(test_callback_stop)
{
	char *dir = tu_tmpdir(), *path = join(dir, "list.mbox");
	char *gz = join(dir, "list.mbox.gz");
	struct got g = { 0 };
	struct mp_err e = { 0 };

	tu_write(path, MBOX);
	write_gz(gz, MBOX, strlen(MBOX));
	g.stop_at = 2;
	ck_assert_int_eq(mp_source_read(path, collect, &g, &e), -1);
	ck_assert_uint_eq(g.n, 2);
	ck_assert_int_eq(e.code, MP_EX_SOFTWARE);
	assert_msg(&g, 1, MSG2);
	got_free(&g);
	g.stop_at = 1;
	ck_assert_int_eq(mp_source_read(gz, collect, &g, &e), -1);
	ck_assert_uint_eq(g.n, 1);
	got_free(&g);
	ck_assert_int_eq(mp_source_read(path, fail_own, &e, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_TEMPFAIL);
	ck_assert_str_eq(e.msg, "store busy");
	tu_rmtree(dir);
	free(dir);
	free(path);
	free(gz);
}
END_TEST

/* Shared data: real archives. */

static char *
shared_path(const char *rel)
{
	struct mp_buf b = MP_BUF_INIT;

	mp_buf_printf(&b, "%s/testdata/%s", tu_shared(), rel);
	return mp_buf_detach(&b);
}

/* Independent count: "From " lines at the start or after an empty line. */
static size_t
count_from_lines(const char *path)
{
	char *data, *line, *end, *nl;
	size_t len, n = 0;
	int blank = 1;

	ck_assert_int_eq(mp_read_file(path, 16 * 1024 * 1024, &data, &len), 0);
	end = data + len;
	for (line = data; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			nl = end - 1;
		if (blank && end - line >= 5 && memcmp(line, "From ", 5) == 0)
			n++;
		blank = nl == line || (nl == line + 1 && line[0] == '\r');
	}
	free(data);
	return n;
}

static size_t
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

START_TEST(test_shared_fedora)
{
	char *txt, *gz;
	struct got a = { 0 }, b = { 0 };
	struct mp_err e = { 0 };
	size_t i, n;

	if (tu_shared() == NULL)
		return;
	txt = shared_path("threads/fedora-devel-2010-01/2010-January.txt");
	gz = shared_path("threads/fedora-devel-2010-01/2010-January.txt.gz");
	n = count_from_lines(txt);
	ck_assert_uint_eq(n, 292);
	ck_assert_int_eq(mp_source_read(txt, collect, &a, &e), 0);
	ck_assert_int_eq(mp_source_read(gz, collect, &b, &e), 0);
	ck_assert_uint_eq(a.n, n);
	ck_assert_uint_eq(b.n, n);
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(a.len[i], b.len[i]);
		ck_assert_mem_eq(a.raw[i], b.raw[i], a.len[i]);
		ck_assert_int_eq(a.delivered[i], b.delivered[i]);
		ck_assert_int_gt(a.delivered[i], 1262000000);
		ck_assert_int_lt(a.delivered[i], 1265100000);
	}
	/* "From rakesh.pandit@gmail.com Thu Dec 31 22:50:51 2009" */
	ck_assert_int_eq(a.delivered[0], 1262299851);
	ck_assert_int_eq(strncmp(a.raw[0], "Received: ", 10), 0);
	got_free(&a);
	got_free(&b);
	free(txt);
	free(gz);
}
END_TEST

START_TEST(test_shared_notmuch)
{
	const char *dirs[] = { "threads/notmuch/default",
	    "threads/notmuch/lkml" };
	struct got g = { 0 };
	struct mp_err e = { 0 };
	char *p, *sub;
	size_t i, want;

	if (tu_shared() == NULL)
		return;
	for (i = 0; i < 2; i++) {
		p = shared_path(dirs[i]);
		sub = join(p, "cur");
		want = count_files(sub);
		free(sub);
		sub = join(p, "new");
		want += count_files(sub);
		free(sub);
		ck_assert_int_eq(mp_source_read(p, collect, &g, &e), 0);
		ck_assert_uint_eq(g.n, want);
		ck_assert_uint_eq(g.n, i == 0 ? 26 : 210);
		got_free(&g);
		free(p);
	}
}
END_TEST

/* Every file under threads/ read as the import reads it and every
 * message parsed: no crash, valid UTF-8, an id for each. */
static size_t tp_msgs, tp_files;

static int
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t k, i;

	while (*p) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		k = *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : *p >= 0xc2 ? 1 : 0;
		if (k == 0 || *p > 0xf4)
			return 0;
		for (i = 1; i <= k; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		p += k + 1;
	}
	return 1;
}

static int
parse_each(const char *raw, size_t len, int64_t delivered,
    const char *origin, void *ctx)
{
	struct mp_msg *m = NULL;
	struct mp_err e = { 0 };
	size_t i;

	if (mp_mime_parse(raw, len, delivered, &m, &e) != 0) {
		ck_assert_int_eq(e.code, MP_EX_DATAERR);
		return 0;
	}
	tp_msgs++;
	ck_assert_msg(*m->message_id != '\0', "%s: no id", origin);
	ck_assert_msg(utf8_ok(m->subject) && utf8_ok(m->subject_norm) &&
	    utf8_ok(m->from.name) && utf8_ok(m->from.addr) &&
	    utf8_ok(m->to) && utf8_ok(m->cc) && utf8_ok(m->attachments) &&
	    utf8_ok(m->body) && utf8_ok(m->own) && utf8_ok(m->quoted) &&
	    utf8_ok(m->sig) && utf8_ok(m->message_id), "%s: bad UTF-8",
	    origin);
	for (i = 0; i < m->nrefs; i++)
		ck_assert_msg(utf8_ok(m->refs[i]), "%s: ref", origin);
	mp_msg_free(m);
	return 0;
}

static int
visit_thread_file(const char *path, const struct stat *st, int type,
    struct FTW *f)
{
	struct mp_err e = { 0 };

	if (type != FTW_F)
		return 0;
	tp_files++;
	ck_assert_msg(mp_source_read(path, parse_each, NULL, &e) == 0,
	    "%s: %s", path, e.msg);
	return 0;
}

START_TEST(test_shared_threads_parse)
{
	char *p;

	if (tu_shared() == NULL)
		return;
	p = shared_path("threads");
	tp_msgs = tp_files = 0;
	ck_assert_int_eq(nftw(p, visit_thread_file, 16, FTW_PHYS), 0);
	/* 263 Maildir files, 292 + 292 (.gz) + 5 in mboxes, and the
	 * READMEs, licenses and expected splits as single messages */
	ck_assert_uint_ge(tp_msgs, 263 + 292 * 2 + 5);
	ck_assert_uint_ge(tp_files, 270);
	free(p);
}
END_TEST

START_TEST(test_shared_rlug)
{
	struct got g = { 0 };
	struct mp_err e = { 0 };
	char *p, *exp, name[64];
	size_t i, len;

	if (tu_shared() == NULL)
		return;
	p = shared_path("threads/james-mime4j-rlug/mbox.rlug");
	ck_assert_int_eq(mp_source_read(p, collect, &g, &e), 0);
	ck_assert_uint_eq(g.n, 5);
	free(p);
	for (i = 0; i < 5; i++) {
		/* mime4j keeps the separator line; magpie drops it. */
		snprintf(name, sizeof(name), "threads/james-mime4j-rlug/"
		    "mbox.rlug-%zu", i);
		p = shared_path(name);
		ck_assert_int_eq(mp_read_file(p, 1 << 20, &exp, &len), 0);
		ck_assert_uint_eq(g.len[i] + 1, len);
		ck_assert_mem_eq(g.raw[i], exp, g.len[i]);
		ck_assert_int_eq(exp[len - 1], '\n');
		free(exp);
		free(p);
	}
	got_free(&g);

	p = shared_path("mail/hyperkitty/non-ascii-headers.txt");
	ck_assert_int_eq(mp_source_read(p, collect, &g, &e), 0);
	ck_assert_uint_eq(g.n, 6);
	ck_assert_int_eq(g.delivered[0], 1341919784);
	ck_assert_str_eq(strtok(g.raw[0], "\n"),
	    "From: =?ISO-8859-2?Q?V=EDt_Ondruch?= <vondruch@redhat.com>");
	got_free(&g);
	free(p);
}
END_TEST

static Suite *
source_suite(void)
{
	Suite *s = suite_create("source");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_mbox_quoting);
	tcase_add_test(tc, test_mbox_split_rules);
	tcase_add_test(tc, test_mbox_crlf);
	tcase_add_test(tc, test_mbox_gzip);
	tcase_add_test(tc, test_mbox_large_chunks);
	tcase_add_test(tc, test_mbox_runs_as_lines);
	tcase_add_test(tc, test_mbox_gzip_truncated);
	tcase_add_test(tc, test_mbox_oversized);
	tcase_add_test(tc, test_mbox_pipermail);
	tcase_add_test(tc, test_maildir);
	tcase_add_test(tc, test_maildir_new_only);
	tcase_add_test(tc, test_maildir_order);
	tcase_add_test(tc, test_maildir_links);
	tcase_add_test(tc, test_single_file);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_callback_stop);
	tcase_add_test(tc, test_shared_fedora);
	tcase_add_test(tc, test_shared_notmuch);
	tcase_add_test(tc, test_shared_rlug);
	tcase_add_test(tc, test_shared_threads_parse);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(source_suite());
}
