/* check_store.c - schema, migrations, messages, actions, state, ledger,
 * transactions and the run lock. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "buf.h"
#include "err.h"
#include "mime.h"
#include "store.h"
#include "testutil.h"

static char *tmp;

static void
setup(void)
{
	tmp = tu_tmpdir();
}

static void
teardown(void)
{
	tu_rmtree(tmp);
	free(tmp);
	tmp = NULL;
}

static char *
tpath(const char *name)
{
	struct mp_buf b = MP_BUF_INIT;

	mp_buf_printf(&b, "%s/%s", tmp, name);
	return mp_buf_detach(&b);
}

static struct mp_store *
open_ok(const char *path)
{
	struct mp_store *st = NULL;
	struct mp_err e = { 0 };

	ck_assert_msg(mp_store_open(path, &st, &e) == 0, "open %s: %s", path,
	    e.msg);
	ck_assert_ptr_nonnull(st);
	return st;
}

/* A PRAGMA read straight from the file, bypassing the module. */
static int64_t
raw_pragma(const char *path, const char *pragma, char *text, size_t tl)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int64_t v = -1;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, pragma, -1, &s, NULL),
	    SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW) {
		v = sqlite3_column_int64(s, 0);
		if (text != NULL)
			snprintf(text, tl, "%s",
			    (const char *)sqlite3_column_text(s, 0));
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* ---- building messages by hand ---- */

static struct mp_msg *
msg_new(const char *id, const char *irt, const char *refs, const char *name,
    const char *subject, int64_t date)
{
	struct mp_msg *m = mp_xcalloc(1, sizeof(*m));
	char *copy, *tok, *save = NULL;

	m->message_id = mp_xstrdup(id);
	m->in_reply_to = mp_xstrdup(irt);
	if (refs != NULL) {
		copy = mp_xstrdup(refs);
		for (tok = strtok_r(copy, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save)) {
			m->refs = mp_xrealloc(m->refs,
			    (m->nrefs + 1) * sizeof(*m->refs));
			m->refs[m->nrefs++] = mp_xstrdup(tok);
		}
		free(copy);
	}
	m->from.name = mp_xstrdup(name);
	m->from.addr = mp_xstrdup("someone@example.org");
	m->subject = mp_xstrdup(subject);
	m->subject_norm = mp_xstrdup(subject);
	m->date = date;
	m->date_off = 7200;
	m->list_id = mp_xstrdup("mag.intgovforum.org");
	m->body = mp_xstrdup("body text\n> quoted\n");
	m->own = mp_xstrdup("body text\n");
	m->quoted = mp_xstrdup("> quoted\n");
	m->sig = mp_xstrdup("");
	return m;
}

static int
add(struct mp_store *st, const char *id, const char *irt, const char *refs,
    const char *subject, int64_t now)
{
	struct mp_msg *m = msg_new(id, irt, refs, "Ana", subject,
	    1623900000 + now);
	struct mp_err e = { 0 };
	int added = -1;

	ck_assert_msg(mp_store_add_msg(st, m, NULL, "mag", now, &added, &e) == 0,
	    "add %s: %s", id, e.msg);
	mp_msg_free(m);
	return added;
}

/* Collects every stored message into one line per message. */
struct collect {
	struct mp_buf out;
	int n;
	int stop_after;         /* stop (-1) when n reaches it; 0: never */
	struct mp_store *st;
	struct mp_err *e;       /* set by the callback before stopping */
	int nested_rc;
};

static int
collect_msg(const struct mp_stored_msg *m, void *ctx)
{
	struct collect *c = ctx;

	mp_buf_printf(&c->out, "%lld|%s|%s|%s|%s|%s|%s|%s|%lld|%ld|%s|%s|"
	    "%s|%s|%lld\n", (long long)m->seq, m->message_id,
	    m->in_reply_to != NULL ? m->in_reply_to : "(null)", m->refs,
	    m->from_name, m->from_addr, m->subject, m->subject_norm,
	    (long long)m->date, m->date_off,
	    m->list_id != NULL ? m->list_id : "(null)", m->own,
	    m->thread != NULL ? m->thread : "(null)", m->source,
	    (long long)m->added);
	c->n++;
	if (c->stop_after > 0 && c->n == c->stop_after) {
		if (c->e != NULL)
			mp_err_set(c->e, MP_EX_DATAERR, "callback said no");
		return -1;
	}
	return 0;
}

static int
ids_msg(const struct mp_stored_msg *m, void *ctx)
{
	struct collect *c = ctx;

	mp_buf_printf(&c->out, "%lld:%s:%s ", (long long)m->seq,
	    m->message_id, m->thread != NULL ? m->thread : "-");
	c->n++;
	return 0;
}

static int
nested_msg(const struct mp_stored_msg *m, void *ctx)
{
	struct collect *c = ctx;
	struct mp_err e = { 0 };

	c->n++;
	c->nested_rc = mp_store_each_msg(c->st, 0, ids_msg, c, &e);
	/* other statements stay usable during an iteration */
	ck_assert_int_eq(mp_store_has_msg(c->st, m->message_id), 1);
	ck_assert_int_eq(e.code, MP_EX_SOFTWARE);
	return 0;
}

static char *
list_ids(struct mp_store *st, int64_t after)
{
	struct collect c = { MP_BUF_INIT, 0, 0, NULL, NULL, 0 };
	struct mp_err e = { 0 };

	ck_assert_msg(mp_store_each_msg(st, after, ids_msg, &c, &e) == 0,
	    "%s", e.msg);
	return mp_buf_detach(&c.out);
}

/* ---- tests ---- */

START_TEST(test_open_fresh)
{
	char *dir = tpath("a/b");
	char *path = tpath("a/b/magpie.db");
	char mode[32];
	struct mp_store *st;
	struct stat sb;
	uint32_t uv = 7, lu = 7;
	int64_t ls = 7, sl = 7;

	st = open_ok(path);
	ck_assert_int_eq(mp_store_version(st), MP_STORE_VERSION);
	ck_assert_int_eq(stat(dir, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0700);
	/* every table exists and is empty */
	ck_assert_int_eq(mp_store_count_msgs(st), 0);
	ck_assert_int_eq(mp_store_max_seq(st), 0);
	ck_assert_int_eq(mp_store_ledger_count(st, MP_LEDGER_SENT), 0);
	ck_assert_int_eq(mp_store_source_get(st, "mag", &uv, &lu), 0);
	ck_assert_uint_eq(uv, 0);
	ck_assert_uint_eq(lu, 0);
	ck_assert_int_eq(mp_store_digest_get(st, "a@example.org", &ls, &sl),
	    0);
	ck_assert_int_eq(ls, 0);
	ck_assert_int_eq(sl, 0);
	ck_assert_int_eq(mp_store_each_action(st, 0, NULL, NULL, NULL), 0);
	mp_store_close(st);

	ck_assert_int_eq(raw_pragma(path, "PRAGMA user_version", NULL, 0),
	    MP_STORE_VERSION);
	raw_pragma(path, "PRAGMA journal_mode", mode, sizeof(mode));
	ck_assert_str_eq(mode, "wal");
	ck_assert_int_eq(raw_pragma(path, "PRAGMA page_size", NULL, 0), 8192);
	free(dir);
	free(path);
}
END_TEST

START_TEST(test_reopen)
{
	char *path = tpath("magpie.db");
	struct mp_store *st;

	st = open_ok(path);
	ck_assert_int_eq(add(st, "one@x", NULL, NULL, "One", 10), 1);
	mp_store_close(st);
	st = open_ok(path);
	ck_assert_int_eq(mp_store_version(st), MP_STORE_VERSION);
	ck_assert_int_eq(mp_store_count_msgs(st), 1);
	ck_assert_int_eq(mp_store_has_msg(st, "one@x"), 1);
	ck_assert_int_eq(add(st, "one@x", NULL, NULL, "One", 11), 0);
	mp_store_close(st);
	mp_store_close(NULL);
	free(path);
}
END_TEST

START_TEST(test_newer_refused)
{
	char *path = tpath("new.db");
	struct mp_store *st = (struct mp_store *)1;
	struct mp_err e = { 0 };
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE future(x);"
	    "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	ck_assert_int_eq(mp_store_open(path, &st, &e), -1);
	ck_assert_ptr_null(st);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	ck_assert_msg(strstr(e.msg, "version 99") != NULL, "%s", e.msg);
	ck_assert_msg(strstr(e.msg, "upgrade magpie") != NULL, "%s", e.msg);
	/* left as it was */
	ck_assert_int_eq(raw_pragma(path, "PRAGMA user_version", NULL, 0), 99);
	ck_assert_int_eq(raw_pragma(path, "SELECT COUNT(*) FROM sqlite_master"
	    " WHERE name = 'msg'", NULL, 0), 0);
	free(path);
}
END_TEST

START_TEST(test_open_errors)
{
	char *file = tpath("plain");
	char *under = tpath("plain/sub/magpie.db");
	char *junk = tpath("junk.db");
	struct mp_store *st = NULL;
	struct mp_lock *l = NULL;
	struct mp_err e = { 0 };

	tu_write(file, "not a directory\n");
	ck_assert_int_eq(mp_store_open(under, &st, &e), -1);
	ck_assert_ptr_null(st);
	ck_assert_int_eq(e.code, MP_EX_CANTCREAT);
	ck_assert_msg(strstr(e.msg, "plain") != NULL, "%s", e.msg);

	mp_err_clear(&e);
	ck_assert_int_eq(mp_lock_acquire(under, &l, &e), -1);
	ck_assert_ptr_null(l);
	ck_assert_int_eq(e.code, MP_EX_CANTCREAT);

	mp_err_clear(&e);
	tu_write(junk, "this is certainly not an SQLite database, it is a "
	    "plain text file that is long enough to have a header\n");
	ck_assert_int_eq(mp_store_open(junk, &st, &e), -1);
	ck_assert_ptr_null(st);
	ck_assert_int_eq(e.code, MP_EX_IOERR);
	ck_assert_msg(strstr(e.msg, "junk.db") != NULL, "%s", e.msg);
	free(file);
	free(under);
	free(junk);
}
END_TEST

START_TEST(test_messages)
{
	char *path = tpath("m.db");
	struct mp_store *st = open_ok(path);
	struct collect c = { MP_BUF_INIT, 0, 0, NULL, NULL, 0 };
	struct mp_err e = { 0 };
	struct mp_msg *m;
	char *s;
	int added = -1;
	int64_t seq = -1;

	ck_assert_int_eq(add(st, "a@x", NULL, NULL, "Agenda", 100), 1);
	ck_assert_int_eq(add(st, "b@x", "a@x", "a@x", "Re: Agenda", 200), 1);
	ck_assert_int_eq(add(st, "a@x", NULL, NULL, "again", 300), 0);
	ck_assert_int_eq(add(st, "c@x", "b@x", "a@x b@x", "Re: Agenda", 400),
	    1);
	ck_assert_int_eq(mp_store_count_msgs(st), 3);
	ck_assert_int_eq(mp_store_max_seq(st), 3);
	ck_assert_int_eq(mp_store_has_msg(st, "b@x"), 1);
	ck_assert_int_eq(mp_store_has_msg(st, "zz@x"), 0);

	ck_assert_int_eq(mp_store_each_msg(st, 0, collect_msg, &c, &e), 0);
	ck_assert_int_eq(c.n, 3);
	ck_assert_str_eq(mp_buf_str(&c.out),
	    "1|a@x|(null)||Ana|someone@example.org|Agenda|Agenda|1623900100|"
	    "7200|mag.intgovforum.org|body text\n|"
	    "(null)|mag|100\n"
	    "2|b@x|a@x|a@x|Ana|someone@example.org|Re: Agenda|Re: Agenda|"
	    "1623900200|7200|mag.intgovforum.org|body text\n|"
	    "(null)|mag|200\n"
	    "3|c@x|b@x|a@x b@x|Ana|someone@example.org|Re: Agenda|Re: Agenda|"
	    "1623900400|7200|mag.intgovforum.org|body text\n|"
	    "(null)|mag|400\n");
	mp_buf_free(&c.out);

	s = list_ids(st, 1);
	ck_assert_str_eq(s, "2:b@x:- 3:c@x:- ");
	free(s);
	s = list_ids(st, 3);
	ck_assert_str_eq(s, "");
	free(s);

	ck_assert_int_eq(mp_store_set_thread(st, "a@x", "a@x", &e), 0);
	ck_assert_int_eq(mp_store_set_thread(st, "c@x", "a@x", &e), 0);
	s = list_ids(st, 0);
	ck_assert_str_eq(s, "1:a@x:a@x 2:b@x:- 3:c@x:a@x ");
	free(s);
	ck_assert_int_eq(mp_store_set_thread(st, "c@x", NULL, &e), 0);
	ck_assert_int_eq(mp_store_set_thread(st, "nope@x", "a@x", &e), -1);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	ck_assert_msg(strstr(e.msg, "nope@x") != NULL, "%s", e.msg);

	/* a message without NULL-able fields filled: "" comes back */
	m = mp_xcalloc(1, sizeof(*m));
	m->message_id = mp_xstrdup("bare@x");
	ck_assert_int_eq(mp_store_add_msg(st, m, NULL, NULL, 500, &added, &e), 0);
	ck_assert_int_eq(added, 1);
	c.stop_after = 0;
	c.n = 0;
	ck_assert_int_eq(mp_store_each_msg(st, 3, collect_msg, &c, &e), 0);
	ck_assert_str_eq(mp_buf_str(&c.out),
	    "4|bare@x|(null)||||||0|0|(null)||(null)||500\n");
	mp_buf_free(&c.out);
	free(m->message_id);
	m->message_id = NULL;
	ck_assert_int_eq(mp_store_add_msg(st, m, NULL, "mag", 600, &added, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	ck_assert_int_eq(added, 0);
	ck_assert_int_eq(mp_store_count_msgs(st), 4);

	/* for a caller that looked the id up: a known one is still not
	 * stored twice */
	m->message_id = mp_xstrdup("new@x");
	ck_assert_int_eq(mp_store_add_new_msg(st, m, "T", NULL, 700, &seq,
	    &e), 0);
	ck_assert_int_eq(seq, 5);
	ck_assert_int_eq(mp_store_add_new_msg(st, m, NULL, NULL, 800, &seq,
	    &e), 0);
	ck_assert_int_eq(seq, 0);
	ck_assert_int_eq(mp_store_count_msgs(st), 5);
	s = list_ids(st, 4);
	ck_assert_str_eq(s, "5:new@x:T ");
	free(s);
	free(m->message_id);
	free(m);

	mp_store_close(st);
	free(path);
}
END_TEST

START_TEST(test_iteration_stop)
{
	char *path = tpath("i.db");
	struct mp_store *st = open_ok(path);
	struct collect c = { MP_BUF_INIT, 0, 2, NULL, NULL, 0 };
	struct mp_err e = { 0 };

	add(st, "a@x", NULL, NULL, "A", 1);
	add(st, "b@x", NULL, NULL, "B", 2);
	add(st, "c@x", NULL, NULL, "C", 3);

	/* -1 from the callback stops at once */
	ck_assert_int_eq(mp_store_each_msg(st, 0, collect_msg, &c, &e), -1);
	ck_assert_int_eq(c.n, 2);
	ck_assert_int_eq(e.code, MP_EX_SOFTWARE);
	ck_assert_str_eq(e.msg, "iteration stopped by the caller");
	mp_buf_free(&c.out);

	/* the callback's own error is kept */
	c.n = 0;
	c.stop_after = 1;
	c.e = &e;
	ck_assert_int_eq(mp_store_each_msg(st, 0, collect_msg, &c, &e), -1);
	ck_assert_int_eq(c.n, 1);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	ck_assert_str_eq(e.msg, "callback said no");
	mp_buf_free(&c.out);

	/* after a stop the statement is usable again */
	c.n = 0;
	c.stop_after = 0;
	ck_assert_int_eq(mp_store_each_msg(st, 0, collect_msg, &c, &e), 0);
	ck_assert_int_eq(c.n, 3);
	ck_assert_int_eq(e.code, 0);
	mp_buf_free(&c.out);

	/* the same iteration from inside its callback is refused */
	c.n = 0;
	c.st = st;
	ck_assert_int_eq(mp_store_each_msg(st, 2, nested_msg, &c, &e), 0);
	ck_assert_int_eq(c.n, 1);
	ck_assert_int_eq(c.nested_rc, -1);
	mp_buf_free(&c.out);

	mp_store_close(st);
	free(path);
}
END_TEST

static int
collect_action(const struct mp_stored_action *a, void *ctx)
{
	struct mp_buf *b = ctx;

	mp_buf_printf(b, "%lld|%s|%s|%s|%s|%s|%s|%s|%s\n", (long long)a->seq,
	    a->message_id, a->thread != NULL ? a->thread : "(null)", a->kind,
	    a->assignee != NULL ? a->assignee : "(null)", a->due, a->text,
	    a->subject, a->from_name);
	return 0;
}

START_TEST(test_actions)
{
	char *path = tpath("a.db");
	struct mp_store *st = open_ok(path);
	struct mp_buf b = MP_BUF_INIT;
	struct mp_err e = { 0 };

	add(st, "a@x", NULL, NULL, "Evaluations", 1);
	add(st, "b@x", NULL, NULL, "Meeting", 2);
	ck_assert_int_eq(mp_store_set_thread(st, "b@x", "t-b", &e), 0);

	/* added out of seq order: listed by message seq, then insertion */
	ck_assert_int_eq(mp_store_add_action(st, "b@x", "event", NULL,
	    "2021-06-23T13:00:00Z", "MAG meeting", &e), 0);
	ck_assert_int_eq(mp_store_add_action(st, "a@x", "deadline", NULL,
	    "2021-06-17T23:59:00Z", "Submit evaluations", &e), 0);
	ck_assert_int_eq(mp_store_add_action(st, "a@x", "request", "Paul",
	    NULL, "Please review", &e), 0);
	/* the same item again is ignored */
	ck_assert_int_eq(mp_store_add_action(st, "a@x", "request", "Paul",
	    NULL, "Please review", &e), 0);
	/* an item of an unknown message is refused */
	ck_assert_int_eq(mp_store_add_action(st, "ghost@x", "request", NULL,
	    NULL, "Boo", &e), -1);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	ck_assert_int_eq(mp_store_add_action(st, "a@x", NULL, NULL, NULL,
	    "no kind", &e), -1);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);

	ck_assert_int_eq(mp_store_each_action(st, 0, collect_action, &b, &e),
	    0);
	ck_assert_str_eq(mp_buf_str(&b),
	    "1|a@x|(null)|deadline|(null)|2021-06-17T23:59:00Z|"
	    "Submit evaluations|Evaluations|Ana\n"
	    "1|a@x|(null)|request|Paul||Please review|Evaluations|Ana\n"
	    "2|b@x|t-b|event|(null)|2021-06-23T13:00:00Z|MAG meeting|"
	    "Meeting|Ana\n");
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_each_action(st, 1, collect_action, &b, &e),
	    0);
	ck_assert_str_eq(mp_buf_str(&b),
	    "2|b@x|t-b|event|(null)|2021-06-23T13:00:00Z|MAG meeting|"
	    "Meeting|Ana\n");
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_each_action(st, 2, collect_action, &b, &e),
	    0);
	ck_assert_str_eq(mp_buf_str(&b), "");
	mp_buf_free(&b);
	mp_store_close(st);
	free(path);
}
END_TEST

START_TEST(test_source_digest_state)
{
	char *path = tpath("s.db");
	struct mp_store *st = open_ok(path);
	struct mp_err e = { 0 };
	uint32_t uv, lu;
	int64_t seq, slot;

	ck_assert_int_eq(mp_store_source_set(st, "mag", 1623000000u,
	    4000000000u, &e), 0);
	ck_assert_int_eq(mp_store_source_set(st, "other", 5, 6, &e), 0);
	ck_assert_int_eq(mp_store_source_get(st, "mag", &uv, &lu), 0);
	ck_assert_uint_eq(uv, 1623000000u);
	ck_assert_uint_eq(lu, 4000000000u);
	ck_assert_int_eq(mp_store_source_set(st, "mag", 77, 12, &e), 0);
	ck_assert_int_eq(mp_store_source_get(st, "mag", &uv, &lu), 0);
	ck_assert_uint_eq(uv, 77);
	ck_assert_uint_eq(lu, 12);
	ck_assert_int_eq(mp_store_source_get(st, "other", &uv, &lu), 0);
	ck_assert_uint_eq(uv, 5);
	ck_assert_uint_eq(lu, 6);
	ck_assert_int_eq(mp_store_source_get(st, "none", &uv, &lu), 0);
	ck_assert_uint_eq(uv, 0);
	ck_assert_uint_eq(lu, 0);

	ck_assert_int_eq(mp_store_digest_set(st, "Chair@Example.org", 42,
	    1623906000, &e), 0);
	ck_assert_int_eq(mp_store_digest_get(st, "chair@example.org", &seq,
	    &slot), 0);
	ck_assert_int_eq(seq, 42);
	ck_assert_int_eq(slot, 1623906000);
	ck_assert_int_eq(mp_store_digest_set(st, "chair@example.org", 50,
	    1623992400, &e), 0);
	ck_assert_int_eq(mp_store_digest_get(st, "CHAIR@example.org", &seq,
	    &slot), 0);
	ck_assert_int_eq(seq, 50);
	ck_assert_int_eq(slot, 1623992400);
	ck_assert_int_eq(mp_store_digest_get(st, "x@example.org", &seq,
	    &slot), 0);
	ck_assert_int_eq(seq, 0);
	ck_assert_int_eq(slot, 0);
	mp_store_close(st);
	free(path);
}
END_TEST

START_TEST(test_ledger)
{
	char *path = tpath("l.db");
	struct mp_store *st = open_ok(path);
	struct mp_ledger_key k = { "reminder", "workshop-evaluations",
	    3 * 86400, "Paul@Example.org", 1623974340 };
	struct mp_ledger_key k2 = { "digest", "", 0, "ana@example.org",
	    1623906000 };
	struct mp_ledger_key lower = k;
	enum mp_ledger_state s;
	struct mp_err e = { 0 };
	int att;

	lower.rcpt = "paul@example.org";
	ck_assert_int_eq(mp_store_ledger_get(st, &k, &s, &att), 0);
	ck_assert_int_eq(s, MP_LEDGER_NONE);
	ck_assert_int_eq(att, 0);

	ck_assert_int_eq(mp_store_ledger_pending(st, &k, "r1@magpie", 1000,
	    &e), 0);
	ck_assert_int_eq(mp_store_ledger_get(st, &lower, &s, &att), 0);
	ck_assert_int_eq(s, MP_LEDGER_PENDING);
	ck_assert_int_eq(att, 1);
	ck_assert_int_eq(mp_store_ledger_pending(st, &lower, "r1@magpie",
	    2000, &e), 0);
	ck_assert_int_eq(mp_store_ledger_get(st, &k, &s, &att), 0);
	ck_assert_int_eq(s, MP_LEDGER_PENDING);
	ck_assert_int_eq(att, 2);
	ck_assert_int_eq(mp_store_ledger_count(st, MP_LEDGER_PENDING), 1);

	ck_assert_int_eq(mp_store_ledger_sent(st, &k, "250 2.0.0 Ok: queued",
	    3000, &e), 0);
	ck_assert_int_eq(mp_store_ledger_get(st, &k, &s, &att), 0);
	ck_assert_int_eq(s, MP_LEDGER_SENT);
	ck_assert_int_eq(att, 2);
	/* a sent key never goes back */
	ck_assert_int_eq(mp_store_ledger_pending(st, &k, "r1@magpie", 4000,
	    &e), -1);
	ck_assert_int_eq(e.code, MP_EX_SOFTWARE);
	ck_assert_msg(strstr(e.msg, "already sent") != NULL, "%s", e.msg);
	ck_assert_int_eq(mp_store_ledger_failed(st, &k, "421 bye", 4000, &e),
	    -1);
	ck_assert_int_eq(mp_store_ledger_get(st, &k, &s, &att), 0);
	ck_assert_int_eq(s, MP_LEDGER_SENT);
	ck_assert_int_eq(att, 2);

	/* keys differ in any part */
	k2.item = "";
	ck_assert_int_eq(mp_store_ledger_pending(st, &k2, "d1@magpie", 1000,
	    &e), 0);
	ck_assert_int_eq(mp_store_ledger_failed(st, &k2,
	    "550 5.1.1 no such user", 1001, &e), 0);
	ck_assert_int_eq(mp_store_ledger_get(st, &k2, &s, &att), 0);
	ck_assert_int_eq(s, MP_LEDGER_FAILED);
	ck_assert_int_eq(att, 1);
	k2.offset = 1;
	ck_assert_int_eq(mp_store_ledger_get(st, &k2, &s, &att), 0);
	ck_assert_int_eq(s, MP_LEDGER_NONE);
	k2.offset = 0;
	k2.due += 86400;
	ck_assert_int_eq(mp_store_ledger_get(st, &k2, &s, &att), 0);
	ck_assert_int_eq(s, MP_LEDGER_NONE);
	k2.due -= 86400;
	/* a failed key may be retried */
	ck_assert_int_eq(mp_store_ledger_pending(st, &k2, "d1@magpie", 2000,
	    &e), 0);
	ck_assert_int_eq(mp_store_ledger_get(st, &k2, &s, &att), 0);
	ck_assert_int_eq(s, MP_LEDGER_PENDING);
	ck_assert_int_eq(att, 2);
	ck_assert_int_eq(mp_store_ledger_failed(st, &k2, "451 later", 2001,
	    &e), 0);

	ck_assert_int_eq(mp_store_ledger_count(st, MP_LEDGER_SENT), 1);
	ck_assert_int_eq(mp_store_ledger_count(st, MP_LEDGER_FAILED), 1);
	ck_assert_int_eq(mp_store_ledger_count(st, MP_LEDGER_PENDING), 0);
	ck_assert_int_eq(mp_store_ledger_count(st, MP_LEDGER_NONE), 0);
	mp_store_close(st);

	/* first_try is kept from the first attempt, rcpt lower-cased */
	ck_assert_int_eq(raw_pragma(path, "SELECT first_try FROM ledger WHERE"
	    " rcpt = 'paul@example.org'", NULL, 0), 1000);
	ck_assert_int_eq(raw_pragma(path, "SELECT updated FROM ledger WHERE"
	    " rcpt = 'paul@example.org'", NULL, 0), 3000);
	ck_assert_int_eq(raw_pragma(path, "SELECT COUNT(*) FROM ledger WHERE"
	    " message_id = 'r1@magpie' AND reply = '250 2.0.0 Ok: queued'",
	    NULL, 0), 1);
	free(path);
}
END_TEST

/* File scope so that the forked children, which _exit() holding copies
 * of them, do not count as leaks under valgrind. */
static char *store, *lock_path;
static struct mp_lock *l;

START_TEST(test_lock)
{
	struct mp_lock *l2 = (struct mp_lock *)1;
	struct mp_err e = { 0 };
	struct stat sb;
	char *text = NULL;
	char want[32];
	size_t len;
	pid_t pid;
	int status;

	store = tpath("var/deep/magpie.db");
	lock_path = tpath("var/deep/magpie.db.lock");
	l = NULL;
	ck_assert_int_eq(mp_lock_acquire(store, &l, &e), 0);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(stat(lock_path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(mp_read_file(lock_path, 64, &text, &len), 0);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	ck_assert_str_eq(text, want);
	free(text);

	/* another open file description in this process is refused too */
	ck_assert_int_eq(mp_lock_acquire(store, &l2, &e), 1);
	ck_assert_ptr_null(l2);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct mp_lock *cl = NULL;
		int rc = mp_lock_acquire(store, &cl, NULL);

		_exit(rc == 1 && cl == NULL ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);

	mp_lock_release(l);
	mp_lock_release(NULL);
	ck_assert_int_eq(access(lock_path, F_OK), 0);
	ck_assert_int_eq(mp_lock_acquire(store, &l, &e), 0);
	ck_assert_ptr_nonnull(l);

	/* and the child now gets it once we let go */
	mp_lock_release(l);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct mp_lock *cl = NULL;
		int rc = mp_lock_acquire(store, &cl, NULL);

		mp_lock_release(cl);
		_exit(rc == 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	free(store);
	free(lock_path);
}
END_TEST

START_TEST(test_transactions)
{
	char *path = tpath("t.db");
	struct mp_store *st = open_ok(path);
	struct mp_err e = { 0 };

	ck_assert_int_eq(mp_store_begin(st, &e), 0);
	add(st, "a@x", NULL, NULL, "A", 1);
	ck_assert_int_eq(mp_store_ledger_pending(st, &(struct mp_ledger_key){
	    "digest", "", 0, "a@x", 5 }, "m@x", 1, &e), 0);
	ck_assert_int_eq(mp_store_count_msgs(st), 1);
	ck_assert_int_eq(mp_store_begin(st, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_SOFTWARE);
	mp_store_rollback(st);
	ck_assert_int_eq(mp_store_count_msgs(st), 0);
	ck_assert_int_eq(mp_store_ledger_count(st, MP_LEDGER_PENDING), 0);
	mp_store_rollback(st);          /* harmless without a transaction */

	mp_err_clear(&e);
	ck_assert_int_eq(mp_store_commit(st, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_SOFTWARE);

	ck_assert_int_eq(mp_store_begin(st, &e), 0);
	add(st, "b@x", NULL, NULL, "B", 2);
	add(st, "c@x", NULL, NULL, "C", 3);
	ck_assert_int_eq(mp_store_commit(st, &e), 0);
	ck_assert_int_eq(mp_store_count_msgs(st), 2);

	/* closing with an open transaction discards it */
	ck_assert_int_eq(mp_store_begin(st, &e), 0);
	add(st, "d@x", NULL, NULL, "D", 4);
	mp_store_close(st);
	st = open_ok(path);
	ck_assert_int_eq(mp_store_count_msgs(st), 2);
	ck_assert_int_eq(mp_store_has_msg(st, "d@x"), 0);
	ck_assert_int_eq(mp_store_max_seq(st), 2);
	mp_store_close(st);
	free(path);
}
END_TEST

START_TEST(test_sql_metachars)
{
	static const char *evil = "x'); DROP TABLE msg;--";
	static const char *quotes = "It's \"quoted\" \\ % _ ? ?1 :a @b $c";
	char *path = tpath("q.db");
	struct mp_store *st = open_ok(path);
	struct mp_msg *m = msg_new(evil, quotes, "'a b;--", quotes, evil, 7);
	struct collect c = { MP_BUF_INIT, 0, 0, NULL, NULL, 0 };
	struct mp_buf b = MP_BUF_INIT;
	struct mp_buf want = MP_BUF_INIT;
	struct mp_err e = { 0 };
	struct mp_ledger_key k = { evil, quotes, 0, "O'Brien@x", 1 };
	enum mp_ledger_state s;
	uint32_t uv, lu;
	int64_t seq, slot;
	int added, att;

	ck_assert_int_eq(mp_store_add_msg(st, m, NULL, quotes, 9, &added, &e), 0);
	ck_assert_int_eq(added, 1);
	ck_assert_int_eq(mp_store_has_msg(st, evil), 1);
	ck_assert_int_eq(mp_store_set_thread(st, evil, quotes, &e), 0);
	ck_assert_int_eq(mp_store_each_msg(st, 0, collect_msg, &c, &e), 0);
	mp_buf_printf(&want, "1|%s|%s|'a b;--|%s|someone@example.org|%s|%s|"
	    "7|7200|mag.intgovforum.org|body text\n|"
	    "%s|%s|9\n", evil, quotes, quotes, evil,
	    evil, quotes, quotes);
	ck_assert_str_eq(mp_buf_str(&c.out), mp_buf_str(&want));

	ck_assert_int_eq(mp_store_add_action(st, evil, "request", quotes,
	    NULL, evil, &e), 0);
	ck_assert_int_eq(mp_store_each_action(st, 0, collect_action, &b, &e),
	    0);
	mp_buf_reset(&want);
	mp_buf_printf(&want, "1|%s|%s|request|%s||%s|%s|%s\n", evil, quotes,
	    quotes, evil, evil, quotes);
	ck_assert_str_eq(mp_buf_str(&b), mp_buf_str(&want));

	ck_assert_int_eq(mp_store_source_set(st, evil, 1, 2, &e), 0);
	ck_assert_int_eq(mp_store_source_get(st, evil, &uv, &lu), 0);
	ck_assert_uint_eq(lu, 2);
	ck_assert_int_eq(mp_store_digest_set(st, quotes, 3, 4, &e), 0);
	ck_assert_int_eq(mp_store_digest_get(st, quotes, &seq, &slot), 0);
	ck_assert_int_eq(slot, 4);
	ck_assert_int_eq(mp_store_ledger_pending(st, &k, evil, 1, &e), 0);
	ck_assert_int_eq(mp_store_ledger_sent(st, &k, quotes, 2, &e), 0);
	ck_assert_int_eq(mp_store_ledger_get(st, &k, &s, &att), 0);
	ck_assert_int_eq(s, MP_LEDGER_SENT);
	ck_assert_int_eq(mp_store_count_msgs(st), 1);
	mp_store_close(st);
	/* no table dropped: msg, msg_text, action, source_state,
	 * digest_state, ledger, skipped, item_state, thread_ref, store_flag,
	 * thread, subject, reply_root and SQLite's sqlite_sequence */
	ck_assert_int_eq(raw_pragma(path, "SELECT COUNT(*) FROM sqlite_master"
	    " WHERE type = 'table'", NULL, 0), 14);
	mp_buf_free(&c.out);
	mp_buf_free(&b);
	mp_buf_free(&want);
	mp_msg_free(m);
	free(path);
}
END_TEST

static int
add_name(const char *name, void *ctx)
{
	struct mp_buf *b = ctx;

	mp_buf_printf(b, "%s;", name);
	return 0;
}

static int
add_trow(const struct mp_thread_row *r, void *ctx)
{
	struct mp_buf *b = ctx;

	mp_buf_printf(b, "%lld:%s:%s:%s:%s;", (long long)r->seq, r->message_id,
	    r->refs, r->subject_norm, r->thread != NULL ? r->thread : "-");
	return 0;
}

/* The threads with a reply root of subject near [from, to], in b. */
static const char *
near(struct mp_store *st, struct mp_buf *b, const char *subject,
    int64_t from, int64_t to)
{
	struct mp_err e = { 0 };

	mp_buf_reset(b);
	ck_assert_int_eq(mp_store_reply_roots_near(st, subject, from, to,
	    add_name, b, &e), 0);
	return mp_buf_str(b);
}

/* What incremental threading asks of the store. */
START_TEST(test_thread_lookups)
{
	char *path = tpath("t.db");
	struct mp_store *st = open_ok(path);
	struct mp_buf b = MP_BUF_INIT;
	struct mp_err e = { 0 };

	ck_assert_int_eq(add(st, "a@x", NULL, NULL, "Agenda", 0), 1);
	ck_assert_int_eq(add(st, "b@x", "a@x", "a@x", "Agenda", 100), 1);
	ck_assert_int_eq(add(st, "c@x", NULL, "gone@x", "Minutes", 86400 * 40),
	    1);
	/* nothing threaded yet */
	ck_assert_int_eq(mp_store_each_unthreaded(st, 100, add_trow, &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "1:a@x::Agenda:-;2:b@x:a@x:Agenda:-;"
	    "3:c@x:gone@x:Minutes:-;");
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_each_unthreaded(st, 2, add_trow, &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "1:a@x::Agenda:-;2:b@x:a@x:Agenda:-;");
	ck_assert_int_eq(mp_store_set_thread_seq(st, 1, "T1", &e), 0);
	ck_assert_int_eq(mp_store_set_thread_seq(st, 2, "T1", &e), 0);
	ck_assert_int_eq(mp_store_set_thread_seq(st, 3, "T2", &e), 0);
	ck_assert_int_eq(mp_store_set_thread_seq(st, 9, "T2", &e), -1);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_each_unthreaded(st, 100, add_trow, &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "");
	ck_assert_int_eq(mp_store_each_trow(st, "T1", add_trow, &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "1:a@x::Agenda:T1;2:b@x:a@x:Agenda:T1;");
	/* by Message-ID, and by a recorded reference (each thread once) */
	ck_assert_int_eq(mp_store_thread_ref_add(st, "T2", "gone@x", &e), 0);
	ck_assert_int_eq(mp_store_thread_ref_add(st, "T2", "gone@x", &e), 0);
	ck_assert_int_eq(mp_store_thread_ref_add(st, "T1", "gone@x", &e), 0);
	ck_assert_int_eq(mp_store_thread_ref_add(st, "T2", "a@x", &e), 0);
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_threads_of_id(st, "a@x", 0, add_name, &b,
	    &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "T1;T2;");
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_threads_of_id(st, "a@x", 1, add_name, &b,
	    &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "T2;");
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_threads_of_id(st, "gone@x", 0, add_name,
	    &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "T1;T2;");
	ck_assert_int_eq(mp_store_thread_refs_clear(st, "T2", &e), 0);
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_threads_of_id(st, "gone@x", 0, add_name,
	    &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "T1;");
	ck_assert_int_eq(mp_store_thread_refs_clear(st, NULL, &e), 0);
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_threads_of_id(st, "gone@x", 0, add_name,
	    &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "");
	/* by subject, within the dates asked */
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_threads_of_subject(st, "Agenda",
	    1623900000, 1623900050, add_name, &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "T1;");
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_threads_of_subject(st, "Minutes",
	    1623900000, 1623900000 + 86400 * 39, add_name, &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "");
	ck_assert_int_eq(mp_store_thread_used(st, "T2"), 1);
	ck_assert_int_eq(mp_store_thread_used(st, "T3"), 0);
	/* a thread whose messages all moved is no longer used; its name
	 * can come back */
	ck_assert_int_eq(mp_store_set_thread_seq(st, 1, "T2", &e), 0);
	ck_assert_int_eq(mp_store_set_thread(st, "b@x", "T2", &e), 0);
	ck_assert_int_eq(mp_store_thread_used(st, "T1"), 0);
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_threads_of_subject(st, "Agenda",
	    1623900000, 1623900050, add_name, &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "T2;");
	ck_assert_int_eq(mp_store_set_thread_seq(st, 2, "T1", &e), 0);
	ck_assert_int_eq(mp_store_thread_used(st, "T1"), 1);
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_each_trow(st, "T1", add_trow, &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "2:b@x:a@x:Agenda:T1;");
	ck_assert_int_eq(mp_store_set_thread_seq(st, 2, NULL, &e), 0);
	ck_assert_int_eq(mp_store_count_unthreaded(st), 1);
	/* reply roots: by subject, meeting the dates asked; each thread
	 * once; cleared by thread, or all */
	ck_assert_int_eq(mp_store_reply_root_add(st, "T1", "Agenda", 100, 200,
	    &e), 0);
	ck_assert_int_eq(mp_store_reply_root_add(st, "T1", "Agenda", 300, 300,
	    &e), 0);
	ck_assert_int_eq(mp_store_reply_root_add(st, "T2", "Agenda", 500, 900,
	    &e), 0);
	ck_assert_int_eq(mp_store_reply_root_add(st, "T3", "Minutes", 100, 200,
	    &e), 0);
	ck_assert_str_eq(near(st, &b, "Agenda", 0, 1000), "T1;T2;");
	ck_assert_str_eq(near(st, &b, "Agenda", 200, 299), "T1;");
	ck_assert_str_eq(near(st, &b, "Agenda", 301, 499), "");
	ck_assert_str_eq(near(st, &b, "Agenda", 600, 700), "T2;");
	ck_assert_int_eq(mp_store_reply_roots_clear(st, "T1", &e), 0);
	ck_assert_str_eq(near(st, &b, "Agenda", 0, 1000), "T2;");
	ck_assert_str_eq(near(st, &b, "Minutes", 0, 1000), "T3;");
	ck_assert_int_eq(mp_store_reply_roots_clear(st, NULL, &e), 0);
	ck_assert_str_eq(near(st, &b, "Minutes", 0, 1000), "");
	/* flags */
	ck_assert_int_eq(mp_store_flag_get(st, "rethread"), 0);
	ck_assert_int_eq(mp_store_flag_set(st, "rethread", 1, &e), 0);
	ck_assert_int_eq(mp_store_flag_get(st, "rethread"), 1);
	ck_assert_int_eq(mp_store_flag_set(st, "rethread", 0, &e), 0);
	ck_assert_int_eq(mp_store_flag_get(st, "rethread"), 0);
	mp_buf_free(&b);
	mp_store_close(st);
	free(path);
}
END_TEST

struct row_pair {
	const struct mp_thread_row *want;
	int n;
};

static int
same_row(const struct mp_thread_row *r, void *ctx)
{
	struct row_pair *p = ctx;
	const struct mp_thread_row *w = p->want;

	ck_assert_str_eq(r->message_id, w->message_id);
	if (w->in_reply_to == NULL)
		ck_assert_ptr_null(r->in_reply_to);
	else
		ck_assert_str_eq(r->in_reply_to, w->in_reply_to);
	ck_assert_str_eq(r->refs, w->refs);
	ck_assert_str_eq(r->subject, w->subject);
	ck_assert_str_eq(r->subject_norm, w->subject_norm);
	ck_assert_int_eq(r->date, w->date);
	ck_assert_str_eq(r->from_name, w->from_name);
	ck_assert_str_eq(r->from_addr, w->from_addr);
	p->n++;
	return 0;
}

/* What threading sees of a message before it is stored is what it reads
 * back afterwards (incremental threading equals a rebuild only so):
 * missing strings, a NULL reference, no In-Reply-To. */
/* Two Message-IDs with the same key (magpie_key is a hash): a row for
 * z@x is written by hand with a@x's key and b@x's thread. a@x is still
 * found as itself alone, stored once, threaded and given actions
 * apart. */
START_TEST(test_shared_key)
{
	char *path = tpath("k.db");
	struct mp_store *st = open_ok(path);
	struct mp_buf b = MP_BUF_INIT;
	struct mp_err e = { 0 };

	ck_assert_int_eq(add(st, "a@x", NULL, NULL, "One", 0), 1);
	ck_assert_int_eq(add(st, "b@x", NULL, NULL, "Two", 1), 1);
	ck_assert_int_eq(mp_store_set_thread(st, "b@x", "TB", &e), 0);
	mp_store_close(st);
	raw_pragma(path, "INSERT INTO msg (message_id, mkey, subject, tid)"
	    " SELECT 'z@x', a.mkey, 'Zed', b.tid FROM msg a, msg b"
	    " WHERE a.message_id = 'a@x' AND b.message_id = 'b@x'", NULL, 0);
	ck_assert_int_eq(raw_pragma(path, "SELECT COUNT(*) FROM msg"
	    " WHERE mkey = (SELECT mkey FROM msg WHERE message_id = 'a@x')",
	    NULL, 0), 2);
	st = open_ok(path);
	ck_assert_int_eq(mp_store_has_msg(st, "a@x"), 1);
	ck_assert_int_eq(add(st, "a@x", NULL, NULL, "One", 2), 0);
	ck_assert_int_eq(mp_store_count_msgs(st), 3);
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_threads_of_id(st, "a@x", 0, add_name, &b,
	    &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "");
	ck_assert_int_eq(mp_store_set_thread(st, "a@x", "TA", &e), 0);
	ck_assert_int_eq(mp_store_threads_of_id(st, "a@x", 0, add_name, &b,
	    &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "TA;");
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_each_trow(st, "TB", add_trow, &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "2:b@x::Two:TB;3:z@x:::TB;");
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_add_action(st, "a@x", "request", NULL,
	    NULL, "Reply", &e), 0);
	ck_assert_int_eq(mp_store_each_action(st, 0, collect_action, &b, &e),
	    0);
	ck_assert_str_eq(mp_buf_str(&b), "1|a@x|TA|request|(null)||Reply|"
	    "One|Ana\n");
	mp_buf_free(&b);
	mp_store_close(st);
	free(path);
}
END_TEST

/* A thread and a subject first numbered in a transaction rolled back
 * are numbered anew after it (the store remembers numbers it gave). */
START_TEST(test_numbers_after_rollback)
{
	char *path = tpath("n.db");
	struct mp_store *st = open_ok(path);
	struct mp_buf b = MP_BUF_INIT;
	struct mp_err e = { 0 };

	ck_assert_int_eq(add(st, "a@x", NULL, NULL, "A", 1), 1);
	ck_assert_int_eq(add(st, "b@x", NULL, NULL, "B", 2), 1);
	ck_assert_int_eq(mp_store_begin(st, &e), 0);
	ck_assert_int_eq(mp_store_set_thread(st, "b@x", "Gone", &e), 0);
	add(st, "e@x", NULL, NULL, "Lost", 5);
	mp_store_rollback(st);
	ck_assert_int_eq(mp_store_begin(st, &e), 0);
	ck_assert_int_eq(mp_store_set_thread(st, "b@x", "Gone", &e), 0);
	add(st, "f@x", NULL, NULL, "Lost", 6);
	ck_assert_int_eq(mp_store_set_thread(st, "f@x", "Gone", &e), 0);
	ck_assert_int_eq(mp_store_commit(st, &e), 0);
	ck_assert_int_eq(mp_store_each_trow(st, "Gone", add_trow, &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "2:b@x::B:Gone;3:f@x::Lost:Gone;");
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_threads_of_subject(st, "Lost", 0,
	    1623999999, add_name, &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "Gone;");
	mp_buf_free(&b);
	mp_store_close(st);
	free(path);
}
END_TEST

/* A Message-ID looked up and found absent in a transaction is not looked
 * up again when added in it, once: adding it twice stores it once. What
 * was absent in a committed transaction is looked up again: another
 * connection may have added it since. */
START_TEST(test_absent_ids)
{
	char *path = tpath("a.db");
	struct mp_store *st = open_ok(path), *other;
	struct mp_err e = { 0 };

	ck_assert_int_eq(mp_store_begin(st, &e), 0);
	ck_assert_int_eq(mp_store_has_msg(st, "a@x"), 0);
	ck_assert_int_eq(add(st, "a@x", NULL, NULL, "A", 1), 1);
	ck_assert_int_eq(add(st, "a@x", NULL, NULL, "A", 2), 0);
	ck_assert_int_eq(mp_store_has_msg(st, "a@x"), 1);
	ck_assert_int_eq(mp_store_has_msg(st, "b@x"), 0);
	ck_assert_int_eq(mp_store_commit(st, &e), 0);
	ck_assert_int_eq(mp_store_count_msgs(st), 1);
	other = open_ok(path);
	ck_assert_int_eq(add(other, "b@x", NULL, NULL, "B", 3), 1);
	mp_store_close(other);
	ck_assert_int_eq(mp_store_begin(st, &e), 0);
	ck_assert_int_eq(add(st, "b@x", NULL, NULL, "B", 4), 0);
	/* absent, then rolled back: looked up again, added once */
	ck_assert_int_eq(mp_store_has_msg(st, "c@x"), 0);
	mp_store_rollback(st);
	ck_assert_int_eq(mp_store_begin(st, &e), 0);
	ck_assert_int_eq(add(st, "c@x", NULL, NULL, "C", 5), 1);
	ck_assert_int_eq(add(st, "c@x", NULL, NULL, "C", 6), 0);
	ck_assert_int_eq(mp_store_commit(st, &e), 0);
	ck_assert_int_eq(mp_store_count_msgs(st), 3);
	mp_store_close(st);
	free(path);
}
END_TEST

START_TEST(test_thread_row_of)
{
	char *path = tpath("r.db");
	struct mp_store *st = open_ok(path);
	struct mp_buf refs = MP_BUF_INIT;
	struct mp_thread_row want;
	struct mp_err e = { 0 };
	struct row_pair p;
	struct mp_msg *m;
	char info[64];
	int added = 0, k;

	for (k = 0; k < 2; k++) {
		char thread[16];

		m = msg_new(k ? "r2@x" : "r1@x", k ? "p@x" : NULL,
		    "a@x b@x p@x", NULL, "Re: Agenda", 1623900000 + k);
		if (k == 0) {
			/* a gap in References, no subject, no name */
			free(m->refs[1]);
			m->refs[1] = NULL;
			free(m->subject);
			free(m->subject_norm);
			m->subject = m->subject_norm = NULL;
		}
		snprintf(thread, sizeof(thread), "T%d", k);
		ck_assert_int_eq(mp_store_add_msg(st, m, thread, "mag", 9,
		    &added, &e), 0);
		ck_assert_int_eq(added, 1);
		mp_store_thread_row_of(m, &refs, &want);
		ck_assert_str_eq(want.refs, k ? "a@x b@x p@x" : "a@x p@x");
		p.want = &want;
		p.n = 0;
		ck_assert_int_eq(mp_store_each_trow(st, thread, same_row, &p,
		    &e), 0);
		ck_assert_int_eq(p.n, 1);
		ck_assert_int_eq(mp_store_has_msg(st, m->message_id), 1);
		mp_msg_free(m);
	}
	ck_assert_int_eq(mp_store_has_msg(st, "r3@x"), 0);
	mp_buf_free(&refs);
	mp_store_close(st);
	/* the subject index carries the thread (version 4), both by
	 * number (version 5) */
	ck_assert_int_eq(raw_pragma(path, "SELECT count(*) FROM"
	    " pragma_index_info('msg_subject')", NULL, 0), 3);
	ck_assert_int_eq(raw_pragma(path, "SELECT name FROM"
	    " pragma_index_info('msg_subject') WHERE seqno = 0", info,
	    sizeof(info)), 0);
	ck_assert_str_eq(info, "sid");
	ck_assert_int_eq(raw_pragma(path, "SELECT name FROM"
	    " pragma_index_info('msg_subject') WHERE seqno = 2", info,
	    sizeof(info)), 0);
	ck_assert_str_eq(info, "tid");
	free(path);
}
END_TEST

/* A packed message keeps every field the store writes, and nothing
 * else. */
START_TEST(test_msg_pack)
{
	struct mp_msg *m = msg_new("p1@x", "a@x", "z@x a@x", NULL, "Re: Plan",
	    1623900000);
	struct mp_msg *p = mp_store_msg_pack(msg_new("p1@x", "a@x",
	    "z@x a@x", NULL, "Re: Plan", 1623900000));
	struct mp_buf b1 = MP_BUF_INIT, b2 = MP_BUF_INIT;
	struct mp_thread_row r1, r2;

	mp_store_thread_row_of(m, &b1, &r1);
	mp_store_thread_row_of(p, &b2, &r2);
	ck_assert_str_eq(r2.message_id, r1.message_id);
	ck_assert_str_eq(r2.in_reply_to, r1.in_reply_to);
	ck_assert_str_eq(r2.refs, "z@x a@x");
	ck_assert_str_eq(r2.subject, r1.subject);
	ck_assert_str_eq(r2.subject_norm, r1.subject_norm);
	ck_assert_str_eq(r2.from_name, "");
	ck_assert_str_eq(r2.from_addr, r1.from_addr);
	ck_assert_int_eq(r2.date, r1.date);
	ck_assert_int_eq(p->date_off, m->date_off);
	ck_assert_str_eq(p->list_id, m->list_id);
	ck_assert_str_eq(p->own, m->own);
	ck_assert_ptr_null(p->body);
	ck_assert_ptr_null(p->quoted);
	ck_assert_ptr_null(p->sig);
	mp_buf_free(&b1);
	mp_buf_free(&b2);
	mp_msg_free(m);
	free(p);
}
END_TEST

/* The tables of version 1 besides msg, as the foundation release made
 * them. */
#define V1_TABLES \
	"CREATE TABLE action (id INTEGER PRIMARY KEY, message_id TEXT NOT" \
	" NULL REFERENCES msg(message_id), kind TEXT, assignee TEXT," \
	" due TEXT, text TEXT, UNIQUE(message_id, kind, text));" \
	"CREATE TABLE source_state (source TEXT PRIMARY KEY," \
	" uidvalidity INTEGER, last_uid INTEGER);" \
	"CREATE TABLE digest_state (member TEXT PRIMARY KEY," \
	" last_seq INTEGER, last_slot INTEGER);" \
	"CREATE TABLE ledger (kind TEXT, item TEXT, off INTEGER," \
	" rcpt TEXT, due INTEGER, state INTEGER, attempts INTEGER," \
	" message_id TEXT, reply TEXT, first_try INTEGER," \
	" updated INTEGER, PRIMARY KEY(kind, item, off, rcpt, due));"

/* A version 1 store (as the foundation release wrote it) is migrated to
 * the current version and keeps its rows. */
START_TEST(test_migrate_from_v1)
{
	char *path = tpath("v1.db");
	struct collect c = { MP_BUF_INIT, 0, 0, NULL, NULL, 0 };
	struct mp_err e = { 0 };
	struct mp_item_state is;
	struct mp_store *st;
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
	    "CREATE TABLE msg (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " message_id TEXT UNIQUE NOT NULL, in_reply_to TEXT, refs TEXT,"
	    " from_name TEXT, from_addr TEXT, subject TEXT, subject_norm TEXT,"
	    " date INTEGER, date_off INTEGER, list_id TEXT, own TEXT,"
	    " body TEXT, thread TEXT, source TEXT, added INTEGER);"
	    "CREATE INDEX msg_thread ON msg(thread);"
	    V1_TABLES
	    "INSERT INTO msg (message_id, subject, own, body, thread)"
	    " VALUES ('old@x', 'Old', 'mine', 'mine\n> theirs', 'old@x');"
	    "PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = open_ok(path);
	ck_assert_int_eq(mp_store_version(st), MP_STORE_VERSION);
	ck_assert_int_eq(mp_store_has_msg(st, "old@x"), 1);
	ck_assert_int_eq(mp_store_item_get(st, "evals", &is), 1);
	/* the texts moved to msg_text; threads are to be rebuilt once */
	ck_assert_int_eq(mp_store_each_msg(st, 0, collect_msg, &c, &e), 0);
	ck_assert_str_eq(mp_buf_str(&c.out), "1|old@x|(null)||||Old||0|0|"
	    "(null)|mine|old@x||0\n");
	ck_assert_int_eq(mp_store_flag_get(st, "rethread"), 1);
	mp_store_close(st);
	mp_buf_free(&c.out);
	free(path);
}
END_TEST

/* A version 4 store (threads and subjects by name in the message rows
 * and indexes) keeps its threads when they get numbers (version 5). */
START_TEST(test_migrate_from_v4)
{
	char *path = tpath("v4.db");
	struct collect c = { MP_BUF_INIT, 0, 0, NULL, NULL, 0 };
	struct mp_buf b = MP_BUF_INIT;
	struct mp_err e = { 0 };
	struct mp_store *st;
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
	    "CREATE TABLE msg (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " message_id TEXT UNIQUE NOT NULL, in_reply_to TEXT, refs TEXT,"
	    " from_name TEXT, from_addr TEXT, subject TEXT, subject_norm TEXT,"
	    " date INTEGER, date_off INTEGER, list_id TEXT, thread TEXT,"
	    " source TEXT, added INTEGER);"
	    "CREATE INDEX msg_thread ON msg(thread);"
	    V1_TABLES
	    "CREATE TABLE skipped (source TEXT, uid INTEGER, size INTEGER,"
	    " reason TEXT, at INTEGER, PRIMARY KEY(source, uid));"
	    "CREATE TABLE item_state (item TEXT PRIMARY KEY, due INTEGER,"
	    " ends INTEGER, sequence INTEGER, title TEXT, updated INTEGER);"
	    "CREATE TABLE thread_ref (id TEXT NOT NULL, thread TEXT NOT NULL,"
	    " PRIMARY KEY(id, thread)) WITHOUT ROWID;"
	    "CREATE INDEX thread_ref_thread ON thread_ref(thread);"
	    "CREATE TABLE store_flag (name TEXT PRIMARY KEY, value INTEGER);"
	    "CREATE TABLE msg_text (seq INTEGER PRIMARY KEY, own TEXT);"
	    "CREATE INDEX msg_subject ON msg(subject_norm, date, thread);"
	    "INSERT INTO msg (message_id, in_reply_to, subject, subject_norm,"
	    " date, thread) VALUES"
	    " ('a@x', NULL, 'Plan', 'Plan', 100, 'a@x'),"
	    " ('c@x', NULL, 'Other', 'Other', 200, 'c@x'),"
	    " ('b@x', 'a@x', 'Re: Plan', 'Plan', 300, 'a@x'),"
	    " ('d@x', NULL, NULL, NULL, 400, NULL);"
	    "INSERT INTO msg_text VALUES (1, 'first'), (2, 'other'),"
	    " (3, 'reply'), (4, '');"
	    "INSERT INTO action (message_id, kind, text)"
	    " VALUES ('b@x', 'request', 'do it');"
	    "INSERT INTO thread_ref VALUES ('gone@x', 'c@x');"
	    "UPDATE sqlite_sequence SET seq = 5 WHERE name = 'msg';"
	    "PRAGMA user_version = 4;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = open_ok(path);
	ck_assert_int_eq(mp_store_version(st), MP_STORE_VERSION);
	/* a store keeps the page size it was made with */
	ck_assert_int_eq(raw_pragma(path, "PRAGMA page_size", NULL, 0), 4096);
	ck_assert_int_eq(mp_store_each_trow(st, "a@x", add_trow, &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "1:a@x::Plan:a@x;3:b@x::Plan:a@x;");
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_threads_of_subject(st, "Plan", 0, 1000,
	    add_name, &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "a@x;");
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_threads_of_id(st, "gone@x", 0, add_name,
	    &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "c@x;");
	ck_assert_int_eq(mp_store_count_unthreaded(st), 1);
	ck_assert_int_eq(mp_store_thread_used(st, "c@x"), 1);
	ck_assert_int_eq(mp_store_each_msg(st, 2, collect_msg, &c, &e), 0);
	ck_assert_str_eq(mp_buf_str(&c.out), "3|b@x|a@x||||Re: Plan|Plan|300|0|"
	    "(null)|reply|a@x||0\n4|d@x|(null)||||||400|0|(null)||(null)||0\n");
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_each_action(st, 0, collect_action, &b, &e),
	    0);
	ck_assert_str_eq(mp_buf_str(&b), "3|b@x|a@x|request|(null)||do it|"
	    "Re: Plan|\n");
	/* seq goes on after the highest ever given (5 was, then lost) */
	ck_assert_int_eq(add(st, "e@x", NULL, NULL, "New", 500), 1);
	ck_assert_int_eq(add(st, "a@x", NULL, NULL, "Plan", 500), 0);
	mp_buf_reset(&c.out);
	ck_assert_int_eq(mp_store_each_msg(st, 4, collect_msg, &c, &e), 0);
	ck_assert_str_eq(mp_buf_str(&c.out), "6|e@x|(null)||Ana|"
	    "someone@example.org|New|New|1623900500|7200|"
	    "mag.intgovforum.org|body text\n|(null)|mag|500\n");
	mp_store_close(st);
	/* the old columns are gone, and no index names a thread by text */
	ck_assert_int_eq(raw_pragma(path, "SELECT COUNT(*) FROM"
	    " pragma_table_info('msg') WHERE name IN ('thread',"
	    " 'subject_norm')", NULL, 0), 0);
	/* no reply roots yet: the threads are made anew once (version 6) */
	ck_assert_int_eq(raw_pragma(path, "SELECT COUNT(*) FROM reply_root",
	    NULL, 0), 0);
	ck_assert_int_eq(raw_pragma(path, "SELECT value FROM store_flag"
	    " WHERE name = 'rethread'", NULL, 0), 1);
	mp_buf_free(&b);
	mp_buf_free(&c.out);
	free(path);
}
END_TEST

static int
count_items(const struct mp_item_state *is, void *ctx)
{
	struct mp_buf *b = ctx;

	mp_buf_printf(b, "%s=%lld/%lld/%d/%s;", is->item, (long long)is->due,
	    (long long)is->ends, is->sequence, is->title != NULL ? is->title :
	    "-");
	return 0;
}

START_TEST(test_skipped_and_items)
{
	char *path = tpath("i.db");
	struct mp_store *st = open_ok(path);
	struct mp_item_state is = { "evals", 100, 0, 0, "Evaluations", 0 }, got;
	struct mp_buf b = MP_BUF_INIT;
	struct mp_err e = { 0 };

	ck_assert_int_eq(mp_store_skip_count(st, "mag"), 0);
	ck_assert_int_eq(mp_store_skip_add(st, "mag", 7, 30000000, "too large",
	    1, &e), 0);
	ck_assert_int_eq(mp_store_skip_add(st, "mag", 7, 30000000, "too large",
	    2, &e), 0);
	ck_assert_int_eq(mp_store_skip_add(st, "mag", 9, 40000000, "too large",
	    2, &e), 0);
	ck_assert_int_eq(mp_store_skip_count(st, "mag"), 2);
	ck_assert_int_eq(mp_store_skip_count(st, "other"), 0);

	ck_assert_int_eq(mp_store_item_get(st, "evals", &got), 1);
	ck_assert_int_eq(mp_store_item_set(st, &is, 5, &e), 0);
	is.item = "call";
	is.due = 200;
	is.ends = 260;
	is.sequence = 3;
	is.title = NULL;
	ck_assert_int_eq(mp_store_item_set(st, &is, 5, &e), 0);
	ck_assert_int_eq(mp_store_item_get(st, "call", &got), 0);
	ck_assert_int_eq(got.due, 200);
	ck_assert_int_eq(got.ends, 260);
	ck_assert_int_eq(got.sequence, 3);
	ck_assert_int_eq(mp_store_item_each(st, count_items, &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "call=200/260/3/-;evals=100/0/0/Evaluations;");
	ck_assert_int_eq(mp_store_item_delete(st, "call", &e), 0);
	ck_assert_int_eq(mp_store_item_get(st, "call", &got), 1);
	mp_buf_free(&b);
	mp_store_close(st);
	free(path);
}
END_TEST

static int
add_rcpt(const char *rcpt, void *ctx)
{
	mp_buf_printf(ctx, "%s;", rcpt);
	return 0;
}

START_TEST(test_ledger_reminded)
{
	char *path = tpath("r.db");
	struct mp_store *st = open_ok(path);
	struct mp_ledger_key k1 = { "reminder", "evals", 600, "B@x.org", 1000 };
	struct mp_ledger_key k2 = { "reminder", "evals", 60, "a@x.org", 1000 };
	struct mp_ledger_key k3 = { "changed", "evals", 0, "c@x.org", 1000 };
	struct mp_ledger_key k4 = { "reminder", "evals", 60, "d@x.org", 1000 };
	struct mp_ledger_key k5 = { "reminder", "evals", 60, "e@x.org", 900 };
	struct mp_ledger_key k6 = { "digest", "", 0, "f@x.org", 1000 };
	struct mp_buf b = MP_BUF_INIT;
	struct mp_err e = { 0 };

	ck_assert_int_eq(mp_store_ledger_sent(st, &k1, "250", 1, &e), 0);
	ck_assert_int_eq(mp_store_ledger_sent(st, &k2, "250", 1, &e), 0);
	ck_assert_int_eq(mp_store_ledger_sent(st, &k3, "250", 1, &e), 0);
	/* pending only: not reminded yet */
	ck_assert_int_eq(mp_store_ledger_pending(st, &k4, "m", 1, &e), 0);
	/* another due */
	ck_assert_int_eq(mp_store_ledger_sent(st, &k5, "250", 1, &e), 0);
	ck_assert_int_eq(mp_store_ledger_sent(st, &k6, "250", 1, &e), 0);
	ck_assert_int_eq(mp_store_ledger_reminded(st, "evals", 1000, add_rcpt,
	    &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "a@x.org;b@x.org;c@x.org;");
	mp_buf_free(&b);
	mp_store_close(st);
	free(path);
}
END_TEST

/* Enough lookups in one transaction for the store to rule ids out by a
 * filter of the stored ones: an id added before or after the filter was
 * made is still found, a new one is not, a duplicate is not added, and
 * an id rolled back is gone. */
START_TEST(test_many_lookups)
{
	char *path = tpath("k.db");
	struct mp_store *st = open_ok(path);
	struct mp_err e = { 0 };
	char id[32];
	int i, round;

	for (round = 0; round < 2; round++) {
		ck_assert_int_eq(mp_store_begin(st, &e), 0);
		for (i = 0; i < 700; i++) {
			snprintf(id, sizeof(id), "k%d.%d@x", round, i);
			ck_assert_int_eq(mp_store_has_msg(st, id), 0);
			ck_assert_int_eq(add(st, id, NULL, NULL, "K", i), 1);
		}
		for (i = 0; i < 700; i++) {
			snprintf(id, sizeof(id), "k%d.%d@x", round, i);
			ck_assert_int_eq(mp_store_has_msg(st, id), 1);
			snprintf(id, sizeof(id), "k0.%d@x", i);
			ck_assert_int_eq(mp_store_has_msg(st, id), 1);
			ck_assert_int_eq(add(st, id, NULL, NULL, "K", i), 0);
			snprintf(id, sizeof(id), "n%d.%d@x", round, i);
			ck_assert_int_eq(mp_store_has_msg(st, id), 0);
		}
		ck_assert_int_eq(mp_store_commit(st, &e), 0);
	}
	ck_assert_int_eq(mp_store_count_msgs(st), 1400);
	ck_assert_int_eq(mp_store_begin(st, &e), 0);
	ck_assert_int_eq(add(st, "gone@x", NULL, NULL, "G", 1), 1);
	for (i = 0; i < 600; i++) {
		snprintf(id, sizeof(id), "k1.%d@x", i);
		ck_assert_int_eq(mp_store_has_msg(st, id), 1);
	}
	ck_assert_int_eq(mp_store_has_msg(st, "gone@x"), 1);
	mp_store_rollback(st);
	ck_assert_int_eq(mp_store_begin(st, &e), 0);
	for (i = 0; i < 600; i++) {
		snprintf(id, sizeof(id), "n9.%d@x", i);
		ck_assert_int_eq(mp_store_has_msg(st, id), 0);
	}
	ck_assert_int_eq(mp_store_has_msg(st, "gone@x"), 0);
	ck_assert_int_eq(add(st, "gone@x", NULL, NULL, "G", 1), 1);
	ck_assert_int_eq(mp_store_commit(st, &e), 0);
	ck_assert_int_eq(mp_store_count_msgs(st), 1401);
	mp_store_close(st);
	free(path);
}
END_TEST

/* Threads of this process (Linux: /proc/self/task). */
static int
task_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* A commit that leaves 1,000 pages in the WAL gets them copied into the
 * database file by a thread of the store's own, not by the committing
 * thread; all of it is there after close (which removes the WAL) and
 * reopening. */
START_TEST(test_background_checkpoint)
{
	char *path = tpath("c.db"), *wal = tpath("c.db-wal");
	char id[32], *text = mp_xmalloc(7001);
	struct mp_store *st = open_ok(path);
	struct mp_err e = { 0 };
	struct stat sb;
	int i, added, tries, before = task_count();

	memset(text, 'x', 7000);
	text[7000] = '\0';
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_lt(sb.st_size, 1 << 20);
	ck_assert_int_eq(mp_store_begin(st, &e), 0);
	for (i = 0; i < 1100; i++) {
		struct mp_msg *m;

		snprintf(id, sizeof(id), "%d@big", i);
		m = msg_new(id, NULL, NULL, "Ana", "Big", 1623900000 + i);
		free(m->own);
		m->own = mp_xstrdup(text);
		ck_assert_int_eq(mp_store_add_msg(st, m, NULL, "mag", i,
		    &added, &e), 0);
		ck_assert_int_eq(added, 1);
		mp_msg_free(m);
	}
	ck_assert_int_eq(task_count(), before);
	ck_assert_int_eq(mp_store_commit(st, &e), 0);
	ck_assert_int_eq(task_count(), before + 1);
	/* 1,100 pages of 7,000 bytes reach the file (within 20 s) */
	for (tries = 0; tries < 200; tries++) {
		ck_assert_int_eq(stat(path, &sb), 0);
		if (sb.st_size >= 1100 * 7000)
			break;
		usleep(100 * 1000);
	}
	ck_assert_int_ge(sb.st_size, 1100 * 7000);
	/* the store goes on in the meantime */
	ck_assert_int_eq(mp_store_begin(st, &e), 0);
	add(st, "after@x", NULL, NULL, "After", 1);
	ck_assert_int_eq(mp_store_commit(st, &e), 0);
	mp_store_close(st);
	ck_assert_int_eq(task_count(), before);
	ck_assert_int_ne(stat(wal, &sb), 0);
	st = open_ok(path);
	ck_assert_int_eq(mp_store_count_msgs(st), 1101);
	mp_store_close(st);
	free(text);
	free(wal);
	free(path);
}
END_TEST

/* Bulk mode: a rollback journal while it lasts, WAL mode again after
 * (or at the next open); not while another connection reads. */
START_TEST(test_bulk)
{
	char *path = tpath("b.db"), *wal = tpath("b.db-wal");
	char *journal = tpath("b.db-journal"), mode[16];
	struct mp_store *st = open_ok(path);
	struct mp_err e = { 0 };
	struct stat sb;
	sqlite3 *db;

	ck_assert_int_eq(mp_store_begin(st, &e), 0);
	add(st, "a@x", NULL, NULL, "A", 1);
	ck_assert_int_eq(mp_store_bulk(st, 1, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_SOFTWARE);
	ck_assert_int_eq(mp_store_commit(st, &e), 0);

	ck_assert_int_eq(mp_store_bulk(st, 1, &e), 1);
	ck_assert_int_ne(stat(wal, &sb), 0);
	ck_assert_int_eq(mp_store_begin(st, &e), 0);
	add(st, "b@x", NULL, NULL, "B", 2);
	ck_assert_int_eq(stat(journal, &sb), 0);        /* a.db's pages */
	ck_assert_int_eq(mp_store_commit(st, &e), 0);
	ck_assert_int_eq(mp_store_bulk(st, 0, &e), 1);
	raw_pragma(path, "PRAGMA journal_mode", mode, sizeof(mode));
	ck_assert_str_eq(mode, "wal");
	ck_assert_int_ne(stat(journal, &sb), 0);

	/* left in bulk mode (a crash): the next open returns to WAL */
	ck_assert_int_eq(mp_store_bulk(st, 1, &e), 1);
	ck_assert_int_eq(mp_store_begin(st, &e), 0);
	add(st, "c@x", NULL, NULL, "C", 3);
	ck_assert_int_eq(mp_store_commit(st, &e), 0);
	mp_store_close(st);
	st = open_ok(path);
	raw_pragma(path, "PRAGMA journal_mode", mode, sizeof(mode));
	ck_assert_str_eq(mode, "wal");
	ck_assert_int_eq(mp_store_count_msgs(st), 3);

	/* another connection reading: the store stays in WAL mode */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN; SELECT COUNT(*) FROM msg",
	    NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(mp_store_bulk(st, 1, &e), 0);
	ck_assert_int_eq(mp_store_begin(st, &e), 0);
	add(st, "d@x", NULL, NULL, "D", 4);
	ck_assert_int_eq(mp_store_commit(st, &e), 0);
	ck_assert_int_ne(stat(journal, &sb), 0);
	ck_assert_int_eq(stat(wal, &sb), 0);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	ck_assert_int_eq(mp_store_count_msgs(st), 4);
	mp_store_close(st);
	free(journal);
	free(wal);
	free(path);
}
END_TEST

/* A process that dies in the middle of a bulk transaction, after its
 * pages went into the store's file: the next open rolls it back from the
 * journal, and the store is whole and in WAL mode again. */
START_TEST(test_bulk_crash)
{
	char *path = tpath("k.db"), *journal = tpath("k.db-journal");
	char id[32], mode[16], *text = mp_xmalloc(7001);
	struct mp_store *st = open_ok(path);
	struct mp_err e = { 0 };
	struct stat sb, before;
	int i, status;
	pid_t pid;

	memset(text, 'x', 7000);
	text[7000] = '\0';
	ck_assert_int_eq(mp_store_begin(st, &e), 0);
	add(st, "kept@x", NULL, NULL, "Kept", 1);
	ck_assert_int_eq(mp_store_commit(st, &e), 0);
	mp_store_close(st);
	ck_assert_int_eq(stat(path, &before), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		st = NULL;
		if (mp_store_open(path, &st, &e) != 0 ||
		    mp_store_bulk(st, 1, &e) != 1 ||
		    mp_store_begin(st, &e) != 0)
			_exit(2);
		/* 14 MB: more than the page cache holds */
		for (i = 0; i < 2000; i++) {
			struct mp_msg *m;
			int added;

			snprintf(id, sizeof(id), "%d@lost", i);
			m = msg_new(id, NULL, NULL, "Ana", "Lost", 1623900000);
			free(m->own);
			m->own = mp_xstrdup(text);
			if (mp_store_add_msg(st, m, NULL, "mag", i, &added,
			    &e) != 0)
				_exit(3);
			mp_msg_free(m);
		}
		/* dies with the transaction open (its own memory freed, for
		 * valgrind; the store's is reachable from st) */
		free(text);
		free(journal);
		free(path);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	/* the transaction's pages reached the file; the journal is hot */
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_gt(sb.st_size, before.st_size + (5 << 20));
	ck_assert_int_eq(stat(journal, &sb), 0);
	ck_assert_int_gt(sb.st_size, 0);
	st = open_ok(path);
	ck_assert_int_eq(mp_store_count_msgs(st), 1);
	mp_store_close(st);
	raw_pragma(path, "PRAGMA integrity_check", mode, sizeof(mode));
	ck_assert_str_eq(mode, "ok");
	raw_pragma(path, "PRAGMA journal_mode", mode, sizeof(mode));
	ck_assert_str_eq(mode, "wal");
	free(text);
	free(journal);
	free(path);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_open_fresh);
	tcase_add_test(tc, test_reopen);
	tcase_add_test(tc, test_newer_refused);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_messages);
	tcase_add_test(tc, test_iteration_stop);
	tcase_add_test(tc, test_actions);
	tcase_add_test(tc, test_source_digest_state);
	tcase_add_test(tc, test_ledger);
	tcase_add_test(tc, test_lock);
	tcase_add_test(tc, test_migrate_from_v1);
	tcase_add_test(tc, test_migrate_from_v4);
	tcase_add_test(tc, test_shared_key);
	tcase_add_test(tc, test_numbers_after_rollback);
	tcase_add_test(tc, test_absent_ids);
	tcase_add_test(tc, test_skipped_and_items);
	tcase_add_test(tc, test_ledger_reminded);
	tcase_add_test(tc, test_transactions);
	tcase_add_test(tc, test_background_checkpoint);
	tcase_add_test(tc, test_bulk);
	tcase_add_test(tc, test_bulk_crash);
	tcase_add_test(tc, test_many_lookups);
	tcase_add_test(tc, test_sql_metachars);
	tcase_add_test(tc, test_thread_lookups);
	tcase_add_test(tc, test_thread_row_of);
	tcase_add_test(tc, test_msg_pack);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(store_suite());
}
