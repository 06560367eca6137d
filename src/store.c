/* store.c - the SQLite store, its migrations, and the run lock. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "mime.h"
#include "store.h"

/*
 * Migrations: entry i takes user_version i to i + 1, inside one
 * transaction together with the user_version bump. Never edit a released
 * entry; append a new one and raise MP_STORE_VERSION.
 */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE msg ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" message_id TEXT UNIQUE NOT NULL,"
	" in_reply_to TEXT, refs TEXT, from_name TEXT, from_addr TEXT,"
	" subject TEXT, subject_norm TEXT, date INTEGER, date_off INTEGER,"
	" list_id TEXT, own TEXT, body TEXT, thread TEXT, source TEXT,"
	" added INTEGER);"
	"CREATE INDEX msg_thread ON msg(thread);"
	"CREATE TABLE action ("
	" id INTEGER PRIMARY KEY,"
	" message_id TEXT NOT NULL REFERENCES msg(message_id),"
	" kind TEXT, assignee TEXT, due TEXT, text TEXT,"
	" UNIQUE(message_id, kind, text));"
	"CREATE TABLE source_state ("
	" source TEXT PRIMARY KEY, uidvalidity INTEGER, last_uid INTEGER);"
	"CREATE TABLE digest_state ("
	" member TEXT PRIMARY KEY, last_seq INTEGER, last_slot INTEGER);"
	"CREATE TABLE ledger ("
	" kind TEXT, item TEXT, off INTEGER, rcpt TEXT, due INTEGER,"
	" state INTEGER, attempts INTEGER, message_id TEXT, reply TEXT,"
	" first_try INTEGER, updated INTEGER,"
	" PRIMARY KEY(kind, item, off, rcpt, due));",
	/* 1 -> 2: messages a source skipped (too large), and the last
	 * known time of each deadline/event (to notice changes). */
	"CREATE TABLE skipped ("
	" source TEXT, uid INTEGER, size INTEGER, reason TEXT, at INTEGER,"
	" PRIMARY KEY(source, uid));"
	"CREATE TABLE item_state ("
	" item TEXT PRIMARY KEY, due INTEGER, ends INTEGER,"
	" sequence INTEGER, title TEXT, updated INTEGER);",
	/* 2 -> 3: incremental threading. thread_ref lists, per thread, the
	 * ids its messages reference that are not messages of that thread
	 * (missing parents, or messages threaded elsewhere), so that a new
	 * message finds every thread it touches. Stores from version 2 get
	 * their threads rebuilt once (flag "rethread"). The author's text
	 * moves to a table of its own, so that reading a thread's headers
	 * does not read texts; whole bodies are no longer kept (nothing
	 * read them, and they doubled the store: the archive has them). */
	"CREATE INDEX msg_subject ON msg(subject_norm, date);"
	"CREATE TABLE thread_ref ("
	" id TEXT NOT NULL, thread TEXT NOT NULL,"
	" PRIMARY KEY(id, thread)) WITHOUT ROWID;"
	"CREATE INDEX thread_ref_thread ON thread_ref(thread);"
	"CREATE TABLE store_flag (name TEXT PRIMARY KEY, value INTEGER);"
	"INSERT INTO store_flag SELECT 'rethread', 1"
	" WHERE EXISTS (SELECT 1 FROM msg);"
	"CREATE TABLE msg_text (seq INTEGER PRIMARY KEY, own TEXT);"
	"INSERT INTO msg_text SELECT seq, own FROM msg;"
	"ALTER TABLE msg DROP COLUMN own;"
	"ALTER TABLE msg DROP COLUMN body;",
	/* 3 -> 4: the subject index carries the thread, so that finding
	 * the threads of a subject does not read message rows. */
	"DROP INDEX msg_subject;"
	"CREATE INDEX msg_subject ON msg(subject_norm, date, thread);",
	/* 4 -> 5: the indexes that an import writes in random order hold
	 * numbers instead of texts, and stay in the page cache (Message-ID,
	 * thread and subject indexes: 32 MB for 100,000 messages in version
	 * 4, 5 MB now, and 1.6 MB for the names' own). Threads and normalised
	 * subjects are numbered (a thread name is a Message-ID: 67 bytes on
	 * average); a Message-ID is found by its key, magpie_key(), an
	 * integer hash (the text is compared too: two ids may share a key).
	 * msg and action are made anew, as SQLite drops no constraint:
	 * the Message-ID is unique because the store adds no message it
	 * has, and an action's message must exist because
	 * mp_store_add_action checks it (no foreign key). */
	"CREATE TABLE thread (id INTEGER PRIMARY KEY,"
	" name TEXT UNIQUE NOT NULL);"
	"INSERT INTO thread (name) SELECT DISTINCT thread FROM msg"
	" WHERE thread IS NOT NULL ORDER BY thread;"
	"CREATE TABLE subject (id INTEGER PRIMARY KEY,"
	" norm TEXT UNIQUE NOT NULL);"
	"INSERT INTO subject (norm) SELECT DISTINCT COALESCE(subject_norm, '')"
	" FROM msg ORDER BY 1;"
	"CREATE TABLE msg5 ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" message_id TEXT NOT NULL, mkey INTEGER NOT NULL,"
	" in_reply_to TEXT, refs TEXT, from_name TEXT, from_addr TEXT,"
	" subject TEXT, sid INTEGER, date INTEGER, date_off INTEGER,"
	" list_id TEXT, tid INTEGER, source TEXT, added INTEGER);"
	"INSERT INTO msg5 SELECT seq, message_id, magpie_key(message_id),"
	" in_reply_to, refs, from_name, from_addr, subject,"
	" (SELECT id FROM subject WHERE norm = COALESCE(msg.subject_norm, '')),"
	" date, date_off, list_id,"
	" (SELECT id FROM thread WHERE name = msg.thread), source, added"
	" FROM msg ORDER BY seq;"
	"UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence"
	" WHERE name = 'msg') WHERE name = 'msg5';"
	"CREATE TABLE action5 (id INTEGER PRIMARY KEY,"
	" message_id TEXT NOT NULL, kind TEXT, assignee TEXT, due TEXT,"
	" text TEXT, UNIQUE(message_id, kind, text));"
	"INSERT INTO action5 SELECT id, message_id, kind, assignee, due, text"
	" FROM action ORDER BY id;"
	"DROP TABLE action;"
	"DROP TABLE msg;"
	"ALTER TABLE msg5 RENAME TO msg;"
	"ALTER TABLE action5 RENAME TO action;"
	"CREATE INDEX msg_key ON msg(mkey);"
	"CREATE INDEX msg_thread ON msg(tid);"
	"CREATE INDEX msg_subject ON msg(sid, date, tid);",
	/* 5 -> 6: the reply roots of every thread (the roots of References
	 * trees that the subject fallback may join to another thread:
	 * replies whose parent never arrived), with their subjects and date
	 * ranges, so that new messages find those near them without reading
	 * every thread of their subjects. Filled by rebuilding the threads
	 * once. */
	"CREATE TABLE reply_root (thread TEXT NOT NULL,"
	" subject TEXT NOT NULL, first INTEGER NOT NULL,"
	" last INTEGER NOT NULL);"
	"CREATE INDEX reply_root_subject ON reply_root(subject, first);"
	"CREATE INDEX reply_root_thread ON reply_root(thread);"
	"INSERT OR REPLACE INTO store_flag SELECT 'rethread', 1"
	" WHERE EXISTS (SELECT 1 FROM msg);",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
    MP_STORE_VERSION, "one migration per store version");

enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_VERSION,
	S_ADD_MSG,
	S_ADD_TEXT,
	S_EACH_MSG,
	S_HAS_MSG,
	S_MAX_SEQ,
	S_ALL_KEYS,
	S_COUNT_MSGS,
	S_COUNT_UNTHREADED,
	S_SET_THREAD,
	S_SET_THREAD_SEQ,
	S_ADD_ACTION,
	S_EACH_ACTION,
	S_SOURCE_GET,
	S_SOURCE_SET,
	S_DIGEST_GET,
	S_DIGEST_SET,
	S_LEDGER_GET,
	S_LEDGER_PENDING,
	S_LEDGER_SENT,
	S_LEDGER_FAILED,
	S_LEDGER_COUNT,
	S_SKIP_ADD,
	S_SKIP_COUNT,
	S_ITEM_GET,
	S_ITEM_SET,
	S_ITEM_EACH,
	S_ITEM_DEL,
	S_LEDGER_RCPTS,
	S_TROWS_ALL,
	S_TROWS,
	S_TROWS_NEW,
	S_THREADS_OF_ID,
	S_THREADS_OF_REF,
	S_THREADS_OF_SUBJECT,
	S_THREAD_USED,
	S_REF_CLEAR,
	S_REF_CLEAR_ALL,
	S_REF_ADD,
	S_RROOT_CLEAR,
	S_RROOT_CLEAR_ALL,
	S_RROOT_ADD,
	S_RROOTS_NEAR,
	S_FLAG_GET,
	S_FLAG_SET,
	S_THREAD_ID,
	S_THREAD_NEW,
	S_SUBJECT_ID,
	S_SUBJECT_NEW,
	S_COUNT
};

#define LEDGER_KEY "kind = ?1 AND item = ?2 AND off = ?3 AND rcpt = ?4" \
	" AND due = ?5"

/* add_msg looks the Message-ID up (HAS_MSG) before ADD_MSG: that check
 * is what keeps Message-IDs unique (version 5). (Not as INSERT ...
 * SELECT ... WHERE NOT EXISTS: an INSERT that reads its own table goes
 * through a temporary table, a tenth of the cost of storing a
 * message.) */
static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_VERSION] = "PRAGMA user_version",
	[S_ADD_MSG] = "INSERT INTO msg (message_id, mkey, in_reply_to,"
	    " refs, from_name, from_addr, subject, sid, date,"
	    " date_off, list_id, source, added, tid)"
	    " VALUES (?1, ?16, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
	    " ?10, ?13, ?14, ?15)",
	[S_ADD_TEXT] = "INSERT INTO msg_text (seq, own) VALUES (?1, ?2)",
	[S_EACH_MSG] = "SELECT m.seq, message_id, in_reply_to, refs,"
	    " from_name, from_addr, subject, s.norm, date, date_off,"
	    " list_id, x.own, t.name, source, added"
	    " FROM msg m LEFT JOIN msg_text x ON x.seq = m.seq"
	    " LEFT JOIN subject s ON s.id = m.sid"
	    " LEFT JOIN thread t ON t.id = m.tid"
	    " WHERE m.seq > ?1 ORDER BY m.seq",
#define BY_ID(m) m "mkey = magpie_key(?1) AND " m "message_id = ?1"
	[S_HAS_MSG] = "SELECT 1 FROM msg WHERE " BY_ID(""),
	[S_MAX_SEQ] = "SELECT COALESCE(MAX(seq), 0) FROM msg",
	[S_ALL_KEYS] = "SELECT mkey FROM msg",
	[S_COUNT_MSGS] = "SELECT COUNT(*) FROM msg",
	[S_COUNT_UNTHREADED] = "SELECT COUNT(*) FROM msg WHERE tid IS NULL",
	[S_SET_THREAD] = "UPDATE msg SET tid = ?2 WHERE " BY_ID(""),
	[S_SET_THREAD_SEQ] = "UPDATE msg SET tid = ?2 WHERE seq = ?1",
	[S_ADD_ACTION] = "INSERT OR IGNORE INTO action (message_id, kind,"
	    " assignee, due, text) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_EACH_ACTION] = "SELECT m.seq, a.message_id, t.name, a.kind,"
	    " a.assignee, a.due, a.text, m.subject, m.from_name, m.date"
	    " FROM action a JOIN msg m ON m.mkey = magpie_key(a.message_id)"
	    " AND m.message_id = a.message_id"
	    " LEFT JOIN thread t ON t.id = m.tid"
	    " WHERE m.seq > ?1 ORDER BY m.seq, a.id",
	[S_SOURCE_GET] = "SELECT uidvalidity, last_uid FROM source_state"
	    " WHERE source = ?1",
	[S_SOURCE_SET] = "INSERT INTO source_state (source, uidvalidity,"
	    " last_uid) VALUES (?1, ?2, ?3) ON CONFLICT (source) DO UPDATE"
	    " SET uidvalidity = excluded.uidvalidity,"
	    " last_uid = excluded.last_uid",
	[S_DIGEST_GET] = "SELECT last_seq, last_slot FROM digest_state"
	    " WHERE member = ?1",
	[S_DIGEST_SET] = "INSERT INTO digest_state (member, last_seq,"
	    " last_slot) VALUES (?1, ?2, ?3) ON CONFLICT (member) DO UPDATE"
	    " SET last_seq = excluded.last_seq,"
	    " last_slot = excluded.last_slot",
	[S_LEDGER_GET] = "SELECT state, attempts FROM ledger WHERE "
	    LEDGER_KEY,
	/* A key already sent is never turned back into pending: the
	 * WHERE makes the upsert a no-op, which the caller sees. */
	[S_LEDGER_PENDING] = "INSERT INTO ledger (kind, item, off, rcpt, due,"
	    " state, attempts, message_id, reply, first_try, updated)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, 1, 1, ?6, NULL, ?7, ?7)"
	    " ON CONFLICT (kind, item, off, rcpt, due) DO UPDATE"
	    " SET state = 1, attempts = attempts + 1,"
	    " message_id = excluded.message_id, updated = excluded.updated"
	    " WHERE state <> 2",
	/* Recording a send must not fail for want of a pending row: a lost
	 * "sent" means a duplicate email on the next run. */
	[S_LEDGER_SENT] = "INSERT INTO ledger (kind, item, off, rcpt, due,"
	    " state, attempts, message_id, reply, first_try, updated)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, 2, 1, NULL, ?6, ?7, ?7)"
	    " ON CONFLICT (kind, item, off, rcpt, due) DO UPDATE"
	    " SET state = 2, reply = excluded.reply,"
	    " updated = excluded.updated",
	[S_LEDGER_FAILED] = "INSERT INTO ledger (kind, item, off, rcpt, due,"
	    " state, attempts, message_id, reply, first_try, updated)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, 3, 1, NULL, ?6, ?7, ?7)"
	    " ON CONFLICT (kind, item, off, rcpt, due) DO UPDATE"
	    " SET state = 3, reply = excluded.reply,"
	    " updated = excluded.updated WHERE state <> 2",
	[S_LEDGER_COUNT] = "SELECT COUNT(*) FROM ledger WHERE state = ?1",
	[S_SKIP_ADD] = "INSERT OR REPLACE INTO skipped (source, uid, size,"
	    " reason, at) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_SKIP_COUNT] = "SELECT COUNT(*) FROM skipped WHERE source = ?1",
	[S_ITEM_GET] = "SELECT due, ends, sequence, updated FROM item_state"
	    " WHERE item = ?1",
	[S_ITEM_SET] = "INSERT INTO item_state (item, due, ends, sequence,"
	    " title, updated) VALUES (?1, ?2, ?3, ?4, ?6, ?5)"
	    " ON CONFLICT (item) DO UPDATE SET due = excluded.due,"
	    " ends = excluded.ends, sequence = excluded.sequence,"
	    " title = excluded.title, updated = excluded.updated",
	[S_ITEM_EACH] = "SELECT item, due, ends, sequence, title"
	    " FROM item_state"
	    " ORDER BY item",
	[S_ITEM_DEL] = "DELETE FROM item_state WHERE item = ?1",
	[S_LEDGER_RCPTS] = "SELECT DISTINCT rcpt FROM ledger WHERE item = ?1"
	    " AND due = ?2 AND state = 2 AND kind IN ('reminder', 'changed')"
	    " ORDER BY rcpt",
#define TROW_COLS "SELECT m.seq, message_id, in_reply_to, refs, subject," \
	" s.norm, date, t.name, from_name, from_addr FROM msg m" \
	" LEFT JOIN subject s ON s.id = m.sid" \
	" LEFT JOIN thread t ON t.id = m.tid"
	[S_TROWS_ALL] = TROW_COLS " ORDER BY m.seq",
	[S_TROWS] = TROW_COLS " WHERE m.tid = (SELECT id FROM thread"
	    " WHERE name = ?1) ORDER BY m.seq",
	[S_TROWS_NEW] = TROW_COLS " WHERE m.tid IS NULL ORDER BY m.seq"
	    " LIMIT ?1",
#undef TROW_COLS
	[S_THREADS_OF_ID] = "SELECT t.name FROM msg m"
	    " JOIN thread t ON t.id = m.tid WHERE " BY_ID("m.")
	    " UNION ALL SELECT thread FROM thread_ref WHERE id = ?1",
	[S_THREADS_OF_REF] = "SELECT thread FROM thread_ref WHERE id = ?1",
	[S_THREADS_OF_SUBJECT] = "SELECT t.name FROM thread t WHERE t.id IN"
	    " (SELECT tid FROM msg WHERE sid = (SELECT id FROM subject"
	    " WHERE norm = ?1) AND date BETWEEN ?2 AND ?3)",
	[S_THREAD_USED] = "SELECT 1 FROM msg WHERE tid = (SELECT id"
	    " FROM thread WHERE name = ?1) LIMIT 1",
	[S_REF_CLEAR] = "DELETE FROM thread_ref WHERE thread = ?1",
	[S_REF_CLEAR_ALL] = "DELETE FROM thread_ref",
	[S_RROOT_CLEAR] = "DELETE FROM reply_root WHERE thread = ?1",
	[S_RROOT_CLEAR_ALL] = "DELETE FROM reply_root",
	[S_RROOT_ADD] = "INSERT INTO reply_root (thread, subject, first, last)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[S_RROOTS_NEAR] = "SELECT DISTINCT thread FROM reply_root"
	    " WHERE subject = ?1 AND first <= ?3 AND last >= ?2",
	[S_REF_ADD] = "INSERT OR IGNORE INTO thread_ref (id, thread)"
	    " VALUES (?1, ?2)",
#undef BY_ID
	[S_FLAG_GET] = "SELECT value FROM store_flag WHERE name = ?1",
	[S_FLAG_SET] = "INSERT INTO store_flag (name, value) VALUES (?1, ?2)"
	    " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
	[S_THREAD_ID] = "SELECT id FROM thread WHERE name = ?1",
	[S_THREAD_NEW] = "INSERT INTO thread (name) VALUES (?1)",
	[S_SUBJECT_ID] = "SELECT id FROM subject WHERE norm = ?1",
	[S_SUBJECT_NEW] = "INSERT INTO subject (norm) VALUES (?1)",
};

/* Numbers of thread names and subjects looked up lately (each message
 * stored needs both: two statements, a quarter of the import's): one per
 * slot of a text's hash. A number given in a transaction that is rolled
 * back is no longer valid, so the cache lives for one transaction. */
#define NUMCACHE 4096           /* power of two */

struct numcache {
	uint64_t h;
	char *text;                     /* owned, or NULL: empty slot */
	int64_t id;
};

/* Message-IDs found absent in the open transaction and not added since:
 * an import looks each new message up before threading it, and adding
 * it would look it up again (100,000 statements per 100,000 messages).
 * Within a transaction nothing else adds to msg (another writer would
 * make ours fail). One per slot of the id's hash, enough for a thread
 * batch; an id that lost its slot is looked up again. */
#define ABSENT 16384            /* power of two */

struct absent {
	uint64_t h;
	char *id;                       /* owned, or NULL: empty slot */
};

struct mp_store {
	sqlite3 *db;
	char *path;                     /* owned */
	sqlite3_stmt *stmt[S_COUNT];    /* owned, prepared on first use */
	int in_tx;
	struct numcache *nc[2];         /* thread names, subjects */
	struct absent *absent;          /* ABSENT slots, or NULL */
	struct bloom *bloom;            /* stored ids' keys, or NULL */
	long lookups;                   /* ids looked up, until bloom made */
	struct ckpt *ck;                /* the checkpointer, once started */
};

struct mp_lock {
	int fd;
	char *path;                     /* owned */
};

/*
 * The keys (magpie_key) of the stored Message-IDs, in a Bloom filter made
 * once a transaction has looked up BLOOM_AFTER ids: an import looks up
 * every message it reads, and on a new archive all of them miss, each an
 * index search (5,000 instructions; 6% of the store thread's work). An
 * id the filter rules out needs no query. Ids added since are set too;
 * one rolled back stays set, which only costs a query. It lives for the
 * transaction (no other connection can add ids meanwhile) and is made
 * anew, larger, when it fills.
 */
#define BLOOM_AFTER 512
#define BLOOM_BITS 16           /* per key; 4 probes: 0.2% pass wrongly */
#define BLOOM_MIN_KEYS 65536    /* room made for keys yet to come */

struct bloom {
	uint64_t *w;
	uint64_t mask;                  /* bits - 1 */
	size_t n, cap;                  /* keys set; most before made anew */
};

static void
bloom_free(struct mp_store *st)
{
	if (st->bloom != NULL)
		free(st->bloom->w);
	free(st->bloom);
	st->bloom = NULL;
}

/* What is known for the open transaction only: numbers, absent ids. */
static void
tx_caches_clear(struct mp_store *st)
{
	size_t k, i;

	for (k = 0; k < 2; k++) {
		if (st->nc[k] == NULL)
			continue;
		for (i = 0; i < NUMCACHE; i++)
			free(st->nc[k][i].text);
		free(st->nc[k]);
		st->nc[k] = NULL;
	}
	if (st->absent != NULL) {
		for (i = 0; i < ABSENT; i++)
			free(st->absent[i].id);
		free(st->absent);
		st->absent = NULL;
	}
	bloom_free(st);
	st->lookups = 0;
}

/* ---- helpers ---- */

static int
db_err(struct mp_store *st, struct mp_err *e, const char *what)
{
	int rc = sqlite3_extended_errcode(st->db);
	int code = MP_EX_IOERR;

	/* A constraint (a foreign key, NOT NULL) is bad input from the
	 * caller, not a broken disk. */
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		code = MP_EX_DATAERR;
	return mp_err_set(e, code, "%s: %s: %s", st->path, what,
	    sqlite3_errmsg(st->db));
}

static sqlite3_stmt *
stmt_get(struct mp_store *st, enum stmt_id id, struct mp_err *e)
{
	sqlite3_stmt *s = st->stmt[id];

	if (s == NULL) {
		if (sqlite3_prepare_v3(st->db, stmt_sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
			db_err(st, e, "prepare");
			return NULL;
		}
		st->stmt[id] = s;
	} else if (sqlite3_stmt_busy(s)) {
		/* e.g. mp_store_each_msg() called from its own callback */
		mp_err_set(e, MP_EX_SOFTWARE, "%s: statement already in use",
		    st->path);
		return NULL;
	}
	return s;
}

static void
stmt_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static void
bind_str(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Columns that the header promises are never NULL. */
static const char *
col_str(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	return v != NULL ? (const char *)v : "";
}

static const char *
col_opt(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* Run a statement that returns no rows; the caller has bound it. */
static int
stmt_exec(struct mp_store *st, sqlite3_stmt *s, struct mp_err *e,
    const char *what)
{
	int rc = sqlite3_step(s);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		db_err(st, e, what);
		stmt_done(s);
		return -1;
	}
	stmt_done(s);
	return 0;
}

/* A single integer from a one-row query without parameters; -1 on error. */
static int64_t
query_int(struct mp_store *st, enum stmt_id id)
{
	sqlite3_stmt *s = stmt_get(st, id, NULL);
	int64_t v = -1;

	if (s == NULL)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	stmt_done(s);
	return v;
}

/* Addresses are compared case-insensitively in practice (RFC 5321 allows
 * a case-sensitive local part, but no real server uses one). */
static char *
lower_ascii(const char *s)
{
	char *r = mp_xstrdup(s != NULL ? s : "");
	char *p;

	for (p = r; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return r;
}

/* mkdir -p for the directory part of path; new directories are 0700. */
static int
make_parent(const char *path, struct mp_err *e)
{
	char *dir = mp_xstrdup(path);
	char *slash = strrchr(dir, '/');
	char *p;
	struct stat sb;
	char c;

	if (slash == NULL || slash == dir) {
		free(dir);
		return 0;
	}
	*slash = '\0';
	for (p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			mp_err_set(e, MP_EX_CANTCREAT, "cannot create %s: %s",
			    dir, strerror(errno));
			free(dir);
			return -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		mp_err_set(e, MP_EX_CANTCREAT, "%s: not a directory", dir);
		free(dir);
		return -1;
	}
	free(dir);
	return 0;
}

/* ---- the run lock ---- */

int
mp_lock_acquire(const char *store_path, struct mp_lock **out,
    struct mp_err *e)
{
	struct mp_lock *l;
	struct mp_buf b = MP_BUF_INIT;
	char pid[32];
	int fd, n;

	*out = NULL;
	mp_buf_printf(&b, "%s.lock", store_path);
	if (make_parent(mp_buf_str(&b), e) != 0) {
		mp_buf_free(&b);
		return -1;
	}
	fd = open(mp_buf_str(&b), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		mp_err_set(e, MP_EX_CANTCREAT, "cannot open %s: %s",
		    mp_buf_str(&b), strerror(errno));
		mp_buf_free(&b);
		return -1;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK) {
			close(fd);
			mp_buf_free(&b);
			return 1;
		}
		mp_err_set(e, MP_EX_IOERR, "cannot lock %s: %s",
		    mp_buf_str(&b), strerror(errno));
		close(fd);
		mp_buf_free(&b);
		return -1;
	}
	/* The pid is only for a human wondering who holds the lock; the
	 * lock itself is the flock, so failing to write it is harmless. */
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		mp_info("cannot write the pid to %s", mp_buf_str(&b));
	l = mp_xmalloc(sizeof(*l));
	l->fd = fd;
	l->path = mp_buf_detach(&b);
	*out = l;
	return 0;
}

void
mp_lock_release(struct mp_lock *l)
{
	if (l == NULL)
		return;
	flock(l->fd, LOCK_UN);
	close(l->fd);
	free(l->path);
	free(l);
}

/* ---- open, migrate, close ---- */

static int
too_new(struct mp_store *st, int64_t v, struct mp_err *e)
{
	return mp_err_set(e, MP_EX_DATAERR, "%s: store version %lld is newer "
	    "than this magpie supports (%d): upgrade magpie", st->path,
	    (long long)v, MP_STORE_VERSION);
}

static int
migrate(struct mp_store *st, struct mp_err *e)
{
	char sql[64];
	char *msg = NULL;
	int64_t v;

	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) !=
	    SQLITE_OK)
		goto fail;
	/* Read again under the write lock: another process opening the
	 * same new store may have migrated it meanwhile. */
	v = query_int(st, S_VERSION);
	if (v < 0 || v > MP_STORE_VERSION) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		if (v < 0)
			return db_err(st, e, "reading the version");
		return too_new(st, v, e);
	}
	for (; v < MP_STORE_VERSION; v++) {
		/* PRAGMA takes no bound parameters; v is our own integer. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    (int)v + 1);
		if (sqlite3_exec(st->db, migrations[v], NULL, NULL,
		    &msg) != SQLITE_OK ||
		    sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			goto fail;
		}
	}
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		goto fail;
	}
	return 0;
fail:
	mp_err_set(e, MP_EX_IOERR, "%s: upgrading the store: %s", st->path,
	    msg != NULL ? msg : "failed");
	sqlite3_free(msg);
	return -1;
}

/*
 * magpie_key(text): the key by which a Message-ID is found, FNV-1a (64
 * bits) of its bytes. Stores keep it: never change it.
 */
static uint64_t
id_key(const unsigned char *p, size_t n)
{
	uint64_t h = 14695981039346656037u;

	while (n-- > 0)
		h = (h ^ *p++) * 1099511628211u;
	return h;
}

static void
key_fn(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	const unsigned char *p = sqlite3_value_text(argv[0]);
	int n = sqlite3_value_bytes(argv[0]);

	(void)argc;
	if (p == NULL) {
		sqlite3_result_null(cx);
		return;
	}
	sqlite3_result_int64(cx, (sqlite3_int64)id_key(p, (size_t)n));
}

/*
 * Checkpoints in the background. A commit leaves its pages in the WAL;
 * a checkpoint copies them into the database file and syncs both (with
 * synchronous NORMAL, a commit itself does not sync). SQLite runs it in
 * the committing thread once the WAL holds 1,000 pages: each commit of
 * an import then waited for about 30 MB to be copied and synced (0.2 s
 * of the store thread's time per commit; the workers stood still). Here
 * a thread of the store's own, on a connection of its own, runs a
 * passive checkpoint when a commit leaves that many pages: the writer
 * goes on meanwhile (WAL readers and one checkpointer never block it).
 * The last connection to close checkpoints what remains, as before.
 */
#define CKPT_FRAMES 1000        /* SQLite's own default */

struct ckpt {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int want, stop;
	char *path;                     /* borrowed from the store */
};

static void *
ckpt_main(void *arg)
{
	struct ckpt *c = arg;
	sqlite3 *db = NULL;
	int rc;

	if (sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK || sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL,
	    NULL, NULL) != SQLITE_OK) {
		mp_warnx("%s: cannot open for checkpoints: %s", c->path,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		db = NULL;
	}
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->want && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		c->want = 0;
		pthread_mutex_unlock(&c->mu);
		if (db != NULL) {
			rc = sqlite3_wal_checkpoint_v2(db, NULL,
			    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
			/* BUSY: another checkpoint runs; the next commit asks
			 * again. */
			if (rc != SQLITE_OK && rc != SQLITE_BUSY)
				mp_warnx("%s: checkpoint: %s", c->path,
				    sqlite3_errmsg(db));
		}
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	sqlite3_close(db);
	return NULL;
}

/* After each commit (the committing thread): ask for a checkpoint when
 * the WAL holds CKPT_FRAMES pages; start the thread the first time. If it
 * cannot start, checkpoint here, as SQLite would. */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct mp_store *st = arg;
	struct ckpt *c = st->ck;

	if (frames < CKPT_FRAMES)
		return SQLITE_OK;
	if (c == NULL) {
		c = mp_xcalloc(1, sizeof(*c));
		c->path = st->path;
		pthread_mutex_init(&c->mu, NULL);
		pthread_cond_init(&c->cv, NULL);
		if (pthread_create(&c->th, NULL, ckpt_main, c) != 0) {
			pthread_cond_destroy(&c->cv);
			pthread_mutex_destroy(&c->mu);
			free(c);
			sqlite3_wal_checkpoint_v2(db, name,
			    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
			return SQLITE_OK;
		}
		st->ck = c;
	}
	pthread_mutex_lock(&c->mu);
	c->want = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return SQLITE_OK;
}

/* Waits for a checkpoint under way, then ends the thread. */
static void
ckpt_stop(struct mp_store *st)
{
	struct ckpt *c = st->ck;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->th, NULL);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
	st->ck = NULL;
}

static int
configure(struct mp_store *st, struct mp_err *e)
{
	char *msg = NULL;
	int64_t v;

	if (sqlite3_busy_timeout(st->db, 5000) != SQLITE_OK)
		return db_err(st, e, "busy timeout");
	if (sqlite3_create_function(st->db, "magpie_key", 1, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL, key_fn, NULL,
	    NULL) != SQLITE_OK)
		return db_err(st, e, "registering magpie_key");
	v = query_int(st, S_VERSION);
	if (v < 0)
		return db_err(st, e, "reading the version");
	/* Refuse before changing anything in a newer magpie's store. */
	if (v > MP_STORE_VERSION)
		return too_new(st, v, e);
	/* A page cache of 8 MB (SQLite's default is 2): the indexes an
	 * import writes in random order (version 5: 5 MB per 100,000
	 * messages) stay in it beside the pages it appends, which an
	 * import's long transaction must otherwise write out early and read
	 * back (with 4 MB, 89,000 page reads and 79,000 writes for 100,000
	 * messages; 57,000 and 64,000 with 8 MB, and 0.6 s less CPU). 12 MB
	 * took a Maildir import to 60 MB of the 64 it may use. Pages of
	 * 8 KB (for a new store; one made before keeps its size): 127,000
	 * page reads and 78,000 writes instead of 180,000 and 152,000 with
	 * 4 KB. */
	if (sqlite3_exec(st->db, "PRAGMA page_size = 8192;"
	    "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = NORMAL;"
	    "PRAGMA cache_size = -8192;"
	    "PRAGMA foreign_keys = ON;", NULL, NULL, &msg) != SQLITE_OK) {
		mp_err_set(e, MP_EX_IOERR, "%s: %s", st->path,
		    msg != NULL ? msg : "cannot configure");
		sqlite3_free(msg);
		return -1;
	}
	sqlite3_wal_hook(st->db, wal_hook, st);
	return v < MP_STORE_VERSION ? migrate(st, e) : 0;
}

/*
 * A connection is used by one thread at a time (the store thread of an
 * import, or the calling thread before and after it; the checkpointer
 * has its own), so SQLite need not lock it on every call, and nothing
 * reads SQLite's memory statistics, which take a global lock on every
 * allocation: 3.7 million lock pairs for 45,000 messages; without
 * them the store thread does 10.8% fewer instructions. The statistics can
 * only be turned off before SQLite starts: where something else started
 * it first (a test), they stay on, which changes nothing else.
 */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void
sqlite_setup(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int
mp_store_open(const char *path, struct mp_store **out, struct mp_err *e)
{
	struct mp_store *st;

	*out = NULL;
	if (make_parent(path, e) != 0)
		return -1;
	st = mp_xcalloc(1, sizeof(*st));
	st->path = mp_xstrdup(path);
	pthread_once(&sqlite_once, sqlite_setup);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		mp_err_set(e, MP_EX_CANTCREAT, "cannot open %s: %s", path,
		    st->db != NULL ? sqlite3_errmsg(st->db) :
		    "out of memory");
		mp_store_close(st);
		return -1;
	}
	sqlite3_extended_result_codes(st->db, 1);
	if (configure(st, e) != 0) {
		mp_store_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

void
mp_store_close(struct mp_store *st)
{
	int i;

	if (st == NULL)
		return;
	if (st->db != NULL && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	ckpt_stop(st);
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	tx_caches_clear(st);
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		mp_warnx("%s: %s", st->path, sqlite3_errmsg(st->db));
	free(st->path);
	free(st);
}

int
mp_store_version(struct mp_store *st)
{
	int64_t v = query_int(st, S_VERSION);

	return v < 0 || v > INT_MAX ? -1 : (int)v;
}

/* ---- bulk writes ---- */

/* PRAGMA journal_mode = mode; 1 when the store is then in it, 0 when it
 * stayed as it was (another connection has it open), -1 on error. */
static int
journal_mode(struct mp_store *st, const char *mode, struct mp_err *e)
{
	char sql[64];
	sqlite3_stmt *s;
	const unsigned char *now;
	int r = -1;

	/* PRAGMA takes no bound parameters; mode is one of our own words */
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode = %s", mode);
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_err(st, e, "journal mode");
	if (sqlite3_step(s) == SQLITE_ROW &&
	    (now = sqlite3_column_text(s, 0)) != NULL)
		r = strcasecmp((const char *)now, mode) == 0;
	else if (sqlite3_errcode(st->db) == SQLITE_BUSY)
		r = 0;
	if (r < 0)
		db_err(st, e, "journal mode");
	sqlite3_finalize(s);
	return r;
}

int
mp_store_bulk(struct mp_store *st, int on, struct mp_err *e)
{
	if (st->in_tx)
		return mp_err_set(e, MP_EX_SOFTWARE,
		    "%s: journal mode changed inside a transaction", st->path);
	if (on) {
		/* the checkpointer's connection would keep the WAL open */
		ckpt_stop(st);
		return journal_mode(st, "truncate", e);
	}
	return journal_mode(st, "wal", e);
}

/* ---- transactions ---- */

int
mp_store_begin(struct mp_store *st, struct mp_err *e)
{
	sqlite3_stmt *s;

	if (st->in_tx)
		return mp_err_set(e, MP_EX_SOFTWARE,
		    "%s: a transaction is already open", st->path);
	tx_caches_clear(st);
	if ((s = stmt_get(st, S_BEGIN, e)) == NULL ||
	    stmt_exec(st, s, e, "begin") != 0)
		return -1;
	st->in_tx = 1;
	return 0;
}

int
mp_store_commit(struct mp_store *st, struct mp_err *e)
{
	sqlite3_stmt *s;

	if (!st->in_tx)
		return mp_err_set(e, MP_EX_SOFTWARE,
		    "%s: commit without a transaction", st->path);
	if ((s = stmt_get(st, S_COMMIT, e)) == NULL ||
	    stmt_exec(st, s, e, "commit") != 0) {
		mp_store_rollback(st);
		return -1;
	}
	st->in_tx = 0;
	return 0;
}

void
mp_store_rollback(struct mp_store *st)
{
	sqlite3_stmt *s;

	st->in_tx = 0;
	tx_caches_clear(st);
	/* SQLite rolls back by itself after some errors (SQLITE_FULL...). */
	if (sqlite3_get_autocommit(st->db))
		return;
	if ((s = stmt_get(st, S_ROLLBACK, NULL)) != NULL)
		stmt_exec(st, s, NULL, "rollback");
}

/* ---- messages ---- */

/* Bytes of s with its NUL, 0 for NULL. */
static size_t
str_room(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

static char *
str_put(char **at, const char *s)
{
	char *r = *at;

	if (s == NULL)
		return NULL;
	*at = stpcpy(*at, s) + 1;
	return r;
}

struct mp_msg *
mp_store_msg_pack(struct mp_msg *m)
{
	size_t need = sizeof(*m) + m->nrefs * sizeof(char *), i;
	struct mp_msg *c;
	char *at;

	need += str_room(m->message_id) + str_room(m->in_reply_to) +
	    str_room(m->from.name) + str_room(m->from.addr) +
	    str_room(m->subject) + str_room(m->subject_norm) +
	    str_room(m->list_id) + str_room(m->own);
	for (i = 0; i < m->nrefs; i++)
		need += str_room(m->refs[i]);
	c = mp_xmalloc(need);
	memset(c, 0, sizeof(*c));
	c->nrefs = m->nrefs;
	c->date = m->date;
	c->date_off = m->date_off;
	c->date_fallback = m->date_fallback;
	c->warnings = m->warnings;
	c->refs = m->nrefs > 0 ? (char **)(c + 1) : NULL;
	at = (char *)(c + 1) + m->nrefs * sizeof(char *);
	c->message_id = str_put(&at, m->message_id);
	c->in_reply_to = str_put(&at, m->in_reply_to);
	for (i = 0; i < m->nrefs; i++)
		c->refs[i] = str_put(&at, m->refs[i]);
	c->from.name = str_put(&at, m->from.name);
	c->from.addr = str_put(&at, m->from.addr);
	c->subject = str_put(&at, m->subject);
	c->subject_norm = str_put(&at, m->subject_norm);
	c->list_id = str_put(&at, m->list_id);
	c->own = str_put(&at, m->own);
	mp_msg_free(m);
	return c;
}

void
mp_store_thread_row_of(const struct mp_msg *m, struct mp_buf *refs,
    struct mp_thread_row *r)
{
	size_t i;

	mp_buf_reset(refs);
	for (i = 0; i < m->nrefs; i++) {
		if (m->refs[i] == NULL)
			continue;
		if (refs->len > 0)
			mp_buf_addc(refs, ' ');
		mp_buf_adds(refs, m->refs[i]);
	}
	memset(r, 0, sizeof(*r));
	r->message_id = m->message_id;
	r->in_reply_to = m->in_reply_to;
	r->refs = mp_buf_str(refs);
	r->subject = m->subject != NULL ? m->subject : "";
	r->subject_norm = m->subject_norm != NULL ? m->subject_norm : "";
	r->date = m->date;
	r->from_name = m->from.name != NULL ? m->from.name : "";
	r->from_addr = m->from.addr != NULL ? m->from.addr : "";
}

/* number_of, from the store. */
static int
number_lookup(struct mp_store *st, enum stmt_id get, enum stmt_id ins,
    const char *text, int64_t *id, struct mp_err *e)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt_get(st, get, e)) == NULL)
		return -1;
	bind_str(s, 1, text);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	stmt_done(s);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return db_err(st, e, "reading");
	if ((s = stmt_get(st, ins, e)) == NULL)
		return -1;
	bind_str(s, 1, text);
	if (stmt_exec(st, s, e, "numbering a thread or subject") != 0)
		return -1;
	*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

/* The number of a thread name or normalised subject (statement get, and
 * ins to add it when new); 0 for NULL. */
static int
number_of(struct mp_store *st, enum stmt_id get, enum stmt_id ins,
    const char *text, int64_t *id, struct mp_err *e)
{
	struct numcache **cache = &st->nc[get == S_SUBJECT_ID], *c;
	uint64_t h;

	*id = 0;
	if (text == NULL)
		return 0;
	h = mp_hash(text, strlen(text));
	if (*cache == NULL)
		*cache = mp_xcalloc(NUMCACHE, sizeof(**cache));
	c = &(*cache)[h & (NUMCACHE - 1)];
	if (c->text != NULL && c->h == h && strcmp(c->text, text) == 0) {
		*id = c->id;
		return 0;
	}
	if (number_lookup(st, get, ins, text, id, e) != 0)
		return -1;
	free(c->text);
	c->h = h;
	c->text = mp_xstrdup(text);
	c->id = *id;
	return 0;
}

static void
bind_number(sqlite3_stmt *s, int i, int64_t id)
{
	if (id == 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, id);
}

/* Four probes from one key, mixed (splitmix64's finaliser). */
static uint64_t
bloom_mix(uint64_t k)
{
	k = (k ^ (k >> 30)) * 0xbf58476d1ce4e5b9ULL;
	k = (k ^ (k >> 27)) * 0x94d049bb133111ebULL;
	return k ^ (k >> 31);
}

static void
bloom_set(struct bloom *b, uint64_t key)
{
	uint64_t h = bloom_mix(key), d = (h >> 32) | 1, i;

	for (i = 0; i < 4; i++, h += d)
		b->w[(h & b->mask) >> 6] |= (uint64_t)1 << (h & 63);
	b->n++;
}

static int
bloom_may_have(const struct bloom *b, uint64_t key)
{
	uint64_t h = bloom_mix(key), d = (h >> 32) | 1, i;

	for (i = 0; i < 4; i++, h += d)
		if (!(b->w[(h & b->mask) >> 6] & ((uint64_t)1 << (h & 63))))
			return 0;
	return 1;
}

/* Made from every stored key; -1 (no filter) on a database error. */
static int
bloom_make(struct mp_store *st)
{
	struct bloom *b;
	sqlite3_stmt *s;
	int64_t most = query_int(st, S_MAX_SEQ);
	uint64_t bits = 4096;
	int rc;

	if (most < 0 || (s = stmt_get(st, S_ALL_KEYS, NULL)) == NULL)
		return -1;
	while (bits / BLOOM_BITS < (uint64_t)most + BLOOM_MIN_KEYS)
		bits *= 2;
	b = mp_xcalloc(1, sizeof(*b));
	b->w = mp_xcalloc(bits / 64, sizeof(*b->w));
	b->mask = bits - 1;
	b->cap = bits / BLOOM_BITS * 2;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		bloom_set(b, (uint64_t)sqlite3_column_int64(s, 0));
	stmt_done(s);
	if (rc != SQLITE_DONE) {
		free(b->w);
		free(b);
		return -1;
	}
	st->bloom = b;
	return 0;
}

static uint64_t
msg_key(const char *message_id)
{
	return id_key((const unsigned char *)message_id, strlen(message_id));
}

/* 1 when the id of key is surely not stored (in a transaction, with the
 * filter made), else 0: ask the database. */
static int
bloom_rules_out(struct mp_store *st, uint64_t key)
{
	if (!st->in_tx)
		return 0;
	if (st->bloom == NULL) {
		if (st->lookups < 0 || ++st->lookups < BLOOM_AFTER)
			return 0;
		if (bloom_make(st) != 0) {
			st->lookups = -1;       /* not again in this one */
			return 0;
		}
	}
	return !bloom_may_have(st->bloom, key);
}

/* After an id was added: set its key, or drop a full filter. */
static void
bloom_add(struct mp_store *st, uint64_t key)
{
	if (st->bloom == NULL)
		return;
	if (st->bloom->n >= st->bloom->cap) {
		bloom_free(st);
		return;
	}
	bloom_set(st->bloom, key);
}

/* The slot of message_id in st->absent (made when NULL). */
static struct absent *
absent_slot(struct mp_store *st, const char *message_id, uint64_t *h)
{
	*h = mp_hash(message_id, strlen(message_id));
	if (st->absent == NULL)
		st->absent = mp_xcalloc(ABSENT, sizeof(*st->absent));
	return &st->absent[*h & (ABSENT - 1)];
}

/* Whether message_id was found absent in this transaction and not added
 * since; it is forgotten (the caller adds it). */
static int
absent_take(struct mp_store *st, const char *message_id)
{
	struct absent *a;
	uint64_t h;

	if (!st->in_tx || st->absent == NULL)
		return 0;
	a = absent_slot(st, message_id, &h);
	if (a->id == NULL || a->h != h || strcmp(a->id, message_id) != 0)
		return 0;
	free(a->id);
	a->id = NULL;
	return 1;
}

/* 1 when stored, 0 when not, -1 on a database error. */
static int
lookup_msg(struct mp_store *st, const char *message_id)
{
	sqlite3_stmt *s = stmt_get(st, S_HAS_MSG, NULL);
	int rc;

	if (s == NULL)
		return -1;
	if (message_id == NULL)
		return 0;
	bind_str(s, 1, message_id);
	rc = sqlite3_step(s);
	stmt_done(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int
add_msg(struct mp_store *st, const struct mp_msg *m, const char *thread,
    const char *source, int64_t now, int64_t *seq,
    struct mp_err *e)
{
	struct mp_buf refs = MP_BUF_INIT;
	struct mp_thread_row r;
	sqlite3_stmt *s;
	int64_t row, tid, sid;
	uint64_t key;
	int rc;

	*seq = 0;
	if (m->message_id == NULL || *m->message_id == '\0')
		return mp_err_set(e, MP_EX_DATAERR,
		    "%s: message without a Message-ID", st->path);
	key = msg_key(m->message_id);
	if (!absent_take(st, m->message_id) && !bloom_rules_out(st, key) &&
	    (rc = lookup_msg(st, m->message_id)) != 0)
		return rc < 0 ? db_err(st, e, "reading") : 0;
	mp_store_thread_row_of(m, &refs, &r);
	if (number_of(st, S_THREAD_ID, S_THREAD_NEW, thread, &tid, e) != 0 ||
	    number_of(st, S_SUBJECT_ID, S_SUBJECT_NEW, r.subject_norm, &sid,
	    e) != 0 || (s = stmt_get(st, S_ADD_MSG, e)) == NULL) {
		mp_buf_free(&refs);
		return -1;
	}
	bind_str(s, 1, r.message_id);
	bind_str(s, 2, r.in_reply_to);
	bind_str(s, 3, r.refs);
	bind_str(s, 4, r.from_name);
	bind_str(s, 5, r.from_addr);
	bind_str(s, 6, r.subject);
	sqlite3_bind_int64(s, 7, sid);
	sqlite3_bind_int64(s, 8, r.date);
	sqlite3_bind_int64(s, 9, m->date_off);
	bind_str(s, 10, m->list_id);
	bind_str(s, 13, source != NULL ? source : "");
	sqlite3_bind_int64(s, 14, now);
	bind_number(s, 15, tid);
	sqlite3_bind_int64(s, 16, (sqlite3_int64)key);
	rc = stmt_exec(st, s, e, "storing a message");
	mp_buf_free(&refs);
	if (rc != 0 || sqlite3_changes(st->db) != 1)
		return rc;
	row = sqlite3_last_insert_rowid(st->db);
	bloom_add(st, key);
	if ((s = stmt_get(st, S_ADD_TEXT, e)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, row);
	bind_str(s, 2, m->own != NULL ? m->own : "");
	if (stmt_exec(st, s, e, "storing a message's text") != 0)
		return -1;
	*seq = row;
	return 0;
}

int
mp_store_add_msg(struct mp_store *st, const struct mp_msg *m,
    const char *thread, const char *source, int64_t now, int *added,
    struct mp_err *e)
{
	int64_t seq;
	int rc = add_msg(st, m, thread, source, now, &seq, e);

	*added = seq != 0;
	return rc;
}

int
mp_store_add_new_msg(struct mp_store *st, const struct mp_msg *m,
    const char *thread, const char *source, int64_t now, int64_t *seq,
    struct mp_err *e)
{
	return add_msg(st, m, thread, source, now, seq, e);
}

/* Returns -1 either on an SQL error or when the callback stopped (then e
 * keeps what the callback put there, or says "stopped by the caller"). */
static int
each_row(struct mp_store *st, sqlite3_stmt *s, int (*row)(sqlite3_stmt *,
    void *, void *), void *cb, void *ctx, struct mp_err *e)
{
	int rc;

	mp_err_clear(e);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (row(s, cb, ctx) < 0) {
			stmt_done(s);
			if (e != NULL && e->code == 0)
				mp_err_set(e, MP_EX_SOFTWARE,
				    "iteration stopped by the caller");
			return -1;
		}
	}
	if (rc != SQLITE_DONE) {
		db_err(st, e, "reading");
		stmt_done(s);
		return -1;
	}
	stmt_done(s);
	return 0;
}

static int
msg_row(sqlite3_stmt *s, void *cb, void *ctx)
{
	struct mp_stored_msg m;
	mp_store_msg_cb f = *(mp_store_msg_cb *)cb;

	m.seq = sqlite3_column_int64(s, 0);
	m.message_id = col_str(s, 1);
	m.in_reply_to = col_opt(s, 2);
	m.refs = col_str(s, 3);
	m.from_name = col_str(s, 4);
	m.from_addr = col_str(s, 5);
	m.subject = col_str(s, 6);
	m.subject_norm = col_str(s, 7);
	m.date = sqlite3_column_int64(s, 8);
	m.date_off = (long)sqlite3_column_int64(s, 9);
	m.list_id = col_opt(s, 10);
	m.own = col_str(s, 11);
	m.thread = col_opt(s, 12);
	m.source = col_str(s, 13);
	m.added = sqlite3_column_int64(s, 14);
	return f(&m, ctx);
}

int
mp_store_each_msg(struct mp_store *st, int64_t after_seq, mp_store_msg_cb cb,
    void *ctx, struct mp_err *e)
{
	sqlite3_stmt *s = stmt_get(st, S_EACH_MSG, e);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, after_seq);
	return each_row(st, s, msg_row, &cb, ctx, e);
}

int
mp_store_has_msg(struct mp_store *st, const char *message_id)
{
	struct absent *a;
	uint64_t h;
	int rc;

	/* storing it asks the filter again: nothing to remember */
	if (message_id != NULL && bloom_rules_out(st, msg_key(message_id)))
		return 0;
	rc = lookup_msg(st, message_id);
	if (rc == 0 && message_id != NULL && st->in_tx) {
		a = absent_slot(st, message_id, &h);
		free(a->id);
		a->h = h;
		a->id = mp_xstrdup(message_id);
	}
	return rc;
}

int64_t
mp_store_max_seq(struct mp_store *st)
{
	return query_int(st, S_MAX_SEQ);
}

int64_t
mp_store_count_msgs(struct mp_store *st)
{
	return query_int(st, S_COUNT_MSGS);
}

int64_t
mp_store_count_unthreaded(struct mp_store *st)
{
	return query_int(st, S_COUNT_UNTHREADED);
}

int
mp_store_set_thread_seq(struct mp_store *st, int64_t seq, const char *thread,
    struct mp_err *e)
{
	sqlite3_stmt *s;
	int64_t tid;

	if (number_of(st, S_THREAD_ID, S_THREAD_NEW, thread, &tid, e) != 0 ||
	    (s = stmt_get(st, S_SET_THREAD_SEQ, e)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, seq);
	bind_number(s, 2, tid);
	if (stmt_exec(st, s, e, "setting a thread") != 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return mp_err_set(e, MP_EX_DATAERR, "%s: no message %lld",
		    st->path, (long long)seq);
	return 0;
}

int
mp_store_set_thread(struct mp_store *st, const char *message_id,
    const char *thread, struct mp_err *e)
{
	sqlite3_stmt *s;
	int64_t tid;

	if (number_of(st, S_THREAD_ID, S_THREAD_NEW, thread, &tid, e) != 0 ||
	    (s = stmt_get(st, S_SET_THREAD, e)) == NULL)
		return -1;
	bind_str(s, 1, message_id);
	bind_number(s, 2, tid);
	if (stmt_exec(st, s, e, "setting a thread") != 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return mp_err_set(e, MP_EX_DATAERR, "%s: no message <%s>",
		    st->path, message_id != NULL ? message_id : "");
	return 0;
}

/* ---- threading ---- */

static int
trow_row(sqlite3_stmt *s, void *cb, void *ctx)
{
	struct mp_thread_row r;
	mp_store_trow_cb f = *(mp_store_trow_cb *)cb;

	r.seq = sqlite3_column_int64(s, 0);
	r.message_id = col_str(s, 1);
	r.in_reply_to = col_opt(s, 2);
	r.refs = col_str(s, 3);
	r.subject = col_str(s, 4);
	r.subject_norm = col_str(s, 5);
	r.date = sqlite3_column_int64(s, 6);
	r.thread = col_opt(s, 7);
	r.from_name = col_str(s, 8);
	r.from_addr = col_str(s, 9);
	return f(&r, ctx);
}

int
mp_store_each_trow(struct mp_store *st, const char *thread,
    mp_store_trow_cb cb, void *ctx, struct mp_err *e)
{
	sqlite3_stmt *s = stmt_get(st, thread != NULL ? S_TROWS : S_TROWS_ALL,
	    e);

	if (s == NULL)
		return -1;
	if (thread != NULL)
		bind_str(s, 1, thread);
	return each_row(st, s, trow_row, &cb, ctx, e);
}

int
mp_store_each_unthreaded(struct mp_store *st, int64_t limit,
    mp_store_trow_cb cb, void *ctx, struct mp_err *e)
{
	sqlite3_stmt *s = stmt_get(st, S_TROWS_NEW, e);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, limit);
	return each_row(st, s, trow_row, &cb, ctx, e);
}

static int
name_row(sqlite3_stmt *s, void *cb, void *ctx)
{
	mp_store_name_cb f = *(mp_store_name_cb *)cb;

	return f(col_str(s, 0), ctx);
}

int
mp_store_threads_of_id(struct mp_store *st, const char *id, int refs_only,
    mp_store_name_cb cb, void *ctx, struct mp_err *e)
{
	sqlite3_stmt *s = stmt_get(st, refs_only ? S_THREADS_OF_REF :
	    S_THREADS_OF_ID, e);

	if (s == NULL)
		return -1;
	bind_str(s, 1, id);
	return each_row(st, s, name_row, &cb, ctx, e);
}

/* The thread names statement id gives for a subject and dates. */
static int
names_near(struct mp_store *st, enum stmt_id id, const char *subject_norm,
    int64_t from, int64_t to, mp_store_name_cb cb, void *ctx,
    struct mp_err *e)
{
	sqlite3_stmt *s = stmt_get(st, id, e);

	if (s == NULL)
		return -1;
	bind_str(s, 1, subject_norm);
	sqlite3_bind_int64(s, 2, from);
	sqlite3_bind_int64(s, 3, to);
	return each_row(st, s, name_row, &cb, ctx, e);
}

int
mp_store_threads_of_subject(struct mp_store *st, const char *subject_norm,
    int64_t from, int64_t to, mp_store_name_cb cb, void *ctx,
    struct mp_err *e)
{
	return names_near(st, S_THREADS_OF_SUBJECT, subject_norm, from, to,
	    cb, ctx, e);
}

int
mp_store_thread_used(struct mp_store *st, const char *thread)
{
	sqlite3_stmt *s = stmt_get(st, S_THREAD_USED, NULL);
	int rc;

	if (s == NULL)
		return -1;
	bind_str(s, 1, thread);
	rc = sqlite3_step(s);
	stmt_done(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Statement one for a thread, or all (thread NULL). */
static int
clear_thread(struct mp_store *st, enum stmt_id one, enum stmt_id all,
    const char *thread, const char *what, struct mp_err *e)
{
	sqlite3_stmt *s = stmt_get(st, thread != NULL ? one : all, e);

	if (s == NULL)
		return -1;
	if (thread != NULL)
		bind_str(s, 1, thread);
	return stmt_exec(st, s, e, what);
}

int
mp_store_thread_refs_clear(struct mp_store *st, const char *thread,
    struct mp_err *e)
{
	return clear_thread(st, S_REF_CLEAR, S_REF_CLEAR_ALL, thread,
	    "clearing thread references", e);
}

int
mp_store_thread_ref_add(struct mp_store *st, const char *thread,
    const char *id, struct mp_err *e)
{
	sqlite3_stmt *s = stmt_get(st, S_REF_ADD, e);

	if (s == NULL)
		return -1;
	bind_str(s, 1, id);
	bind_str(s, 2, thread);
	return stmt_exec(st, s, e, "storing a thread reference");
}

int
mp_store_reply_roots_clear(struct mp_store *st, const char *thread,
    struct mp_err *e)
{
	return clear_thread(st, S_RROOT_CLEAR, S_RROOT_CLEAR_ALL, thread,
	    "clearing reply roots", e);
}

int
mp_store_reply_root_add(struct mp_store *st, const char *thread,
    const char *subject_norm, int64_t first, int64_t last, struct mp_err *e)
{
	sqlite3_stmt *s = stmt_get(st, S_RROOT_ADD, e);

	if (s == NULL)
		return -1;
	bind_str(s, 1, thread);
	bind_str(s, 2, subject_norm);
	sqlite3_bind_int64(s, 3, first);
	sqlite3_bind_int64(s, 4, last);
	return stmt_exec(st, s, e, "storing a reply root");
}

int
mp_store_reply_roots_near(struct mp_store *st, const char *subject_norm,
    int64_t from, int64_t to, mp_store_name_cb cb, void *ctx,
    struct mp_err *e)
{
	return names_near(st, S_RROOTS_NEAR, subject_norm, from, to, cb, ctx,
	    e);
}

/* ---- flags ---- */

int64_t
mp_store_flag_get(struct mp_store *st, const char *name)
{
	sqlite3_stmt *s = stmt_get(st, S_FLAG_GET, NULL);
	int64_t v = 0;
	int rc;

	if (s == NULL)
		return -1;
	bind_str(s, 1, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		v = -1;
	stmt_done(s);
	return v;
}

int
mp_store_flag_set(struct mp_store *st, const char *name, int64_t value,
    struct mp_err *e)
{
	sqlite3_stmt *s = stmt_get(st, S_FLAG_SET, e);

	if (s == NULL)
		return -1;
	bind_str(s, 1, name);
	sqlite3_bind_int64(s, 2, value);
	return stmt_exec(st, s, e, "setting a flag");
}

/* ---- action items ---- */

int
mp_store_add_action(struct mp_store *st, const char *message_id,
    const char *kind, const char *assignee, const char *due,
    const char *text, struct mp_err *e)
{
	sqlite3_stmt *s;

	int rc;

	if (message_id == NULL || kind == NULL)
		return mp_err_set(e, MP_EX_DATAERR,
		    "%s: action item without a message or kind", st->path);
	if ((rc = mp_store_has_msg(st, message_id)) <= 0)
		return rc < 0 ? db_err(st, e, "reading") :
		    mp_err_set(e, MP_EX_DATAERR, "%s: action item of an "
		    "unknown message", st->path);
	if ((s = stmt_get(st, S_ADD_ACTION, e)) == NULL)
		return -1;
	bind_str(s, 1, message_id);
	bind_str(s, 2, kind);
	bind_str(s, 3, assignee);
	bind_str(s, 4, due != NULL ? due : "");
	bind_str(s, 5, text != NULL ? text : "");
	return stmt_exec(st, s, e, "storing an action item");
}

static int
action_row(sqlite3_stmt *s, void *cb, void *ctx)
{
	struct mp_stored_action a;
	mp_store_action_cb f = *(mp_store_action_cb *)cb;

	a.seq = sqlite3_column_int64(s, 0);
	a.message_id = col_str(s, 1);
	a.thread = col_opt(s, 2);
	a.kind = col_str(s, 3);
	a.assignee = col_opt(s, 4);
	a.due = col_str(s, 5);
	a.text = col_str(s, 6);
	a.subject = col_str(s, 7);
	a.from_name = col_str(s, 8);
	a.date = sqlite3_column_int64(s, 9);
	return f(&a, ctx);
}

int
mp_store_each_action(struct mp_store *st, int64_t after_seq,
    mp_store_action_cb cb, void *ctx, struct mp_err *e)
{
	sqlite3_stmt *s = stmt_get(st, S_EACH_ACTION, e);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, after_seq);
	return each_row(st, s, action_row, &cb, ctx, e);
}

/* ---- two-integer state rows (sources, digests) ---- */

static int
pair_get(struct mp_store *st, enum stmt_id id, const char *key, int64_t *a,
    int64_t *b)
{
	sqlite3_stmt *s = stmt_get(st, id, NULL);
	int rc;

	*a = 0;
	*b = 0;
	if (s == NULL)
		return -1;
	bind_str(s, 1, key != NULL ? key : "");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*a = sqlite3_column_int64(s, 0);
		*b = sqlite3_column_int64(s, 1);
	}
	stmt_done(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int
pair_set(struct mp_store *st, enum stmt_id id, const char *key, int64_t a,
    int64_t b, struct mp_err *e)
{
	sqlite3_stmt *s = stmt_get(st, id, e);

	if (s == NULL)
		return -1;
	bind_str(s, 1, key != NULL ? key : "");
	sqlite3_bind_int64(s, 2, a);
	sqlite3_bind_int64(s, 3, b);
	return stmt_exec(st, s, e, "saving state");
}

int
mp_store_source_get(struct mp_store *st, const char *source,
    uint32_t *uidvalidity, uint32_t *last_uid)
{
	int64_t a, b;
	int rc = pair_get(st, S_SOURCE_GET, source, &a, &b);

	*uidvalidity = (uint32_t)a;
	*last_uid = (uint32_t)b;
	return rc;
}

int
mp_store_source_set(struct mp_store *st, const char *source,
    uint32_t uidvalidity, uint32_t last_uid, struct mp_err *e)
{
	return pair_set(st, S_SOURCE_SET, source, uidvalidity, last_uid, e);
}

int
mp_store_digest_get(struct mp_store *st, const char *member,
    int64_t *last_seq, int64_t *last_slot)
{
	char *key = lower_ascii(member);
	int rc = pair_get(st, S_DIGEST_GET, key, last_seq, last_slot);

	free(key);
	return rc;
}

int
mp_store_digest_set(struct mp_store *st, const char *member,
    int64_t last_seq, int64_t last_slot, struct mp_err *e)
{
	char *key = lower_ascii(member);
	int rc = pair_set(st, S_DIGEST_SET, key, last_seq, last_slot, e);

	free(key);
	return rc;
}

/* ---- the ledger ---- */

/* Binds ?1..?5; *rcpt receives the lower-cased copy to free after the
 * statement has run. */
static void
bind_key(sqlite3_stmt *s, const struct mp_ledger_key *k, char **rcpt)
{
	*rcpt = lower_ascii(k->rcpt);
	bind_str(s, 1, k->kind != NULL ? k->kind : "");
	bind_str(s, 2, k->item != NULL ? k->item : "");
	sqlite3_bind_int64(s, 3, k->offset);
	bind_str(s, 4, *rcpt);
	sqlite3_bind_int64(s, 5, k->due);
}

int
mp_store_ledger_get(struct mp_store *st, const struct mp_ledger_key *k,
    enum mp_ledger_state *state, int *attempts)
{
	sqlite3_stmt *s = stmt_get(st, S_LEDGER_GET, NULL);
	char *rcpt;
	int rc;

	*state = MP_LEDGER_NONE;
	*attempts = 0;
	if (s == NULL)
		return -1;
	bind_key(s, k, &rcpt);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		int64_t v = sqlite3_column_int64(s, 0);

		if (v >= MP_LEDGER_PENDING && v <= MP_LEDGER_FAILED)
			*state = (enum mp_ledger_state)v;
		*attempts = sqlite3_column_int(s, 1);
	}
	stmt_done(s);
	free(rcpt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int
ledger_write(struct mp_store *st, enum stmt_id id,
    const struct mp_ledger_key *k, const char *text, int64_t now,
    struct mp_err *e)
{
	sqlite3_stmt *s = stmt_get(st, id, e);
	char *rcpt;
	int rc;

	if (s == NULL)
		return -1;
	bind_key(s, k, &rcpt);
	bind_str(s, 6, text);
	sqlite3_bind_int64(s, 7, now);
	rc = stmt_exec(st, s, e, "writing the ledger");
	free(rcpt);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		return mp_err_set(e, MP_EX_SOFTWARE,
		    "%s: %s %s to %s was already sent", st->path,
		    k->kind != NULL ? k->kind : "",
		    k->item != NULL ? k->item : "",
		    k->rcpt != NULL ? k->rcpt : "");
	return rc;
}

int
mp_store_ledger_pending(struct mp_store *st, const struct mp_ledger_key *k,
    const char *message_id, int64_t now, struct mp_err *e)
{
	return ledger_write(st, S_LEDGER_PENDING, k, message_id, now, e);
}

int
mp_store_ledger_sent(struct mp_store *st, const struct mp_ledger_key *k,
    const char *reply, int64_t now, struct mp_err *e)
{
	return ledger_write(st, S_LEDGER_SENT, k, reply, now, e);
}

int
mp_store_ledger_failed(struct mp_store *st, const struct mp_ledger_key *k,
    const char *reply, int64_t now, struct mp_err *e)
{
	return ledger_write(st, S_LEDGER_FAILED, k, reply, now, e);
}

int64_t
mp_store_ledger_count(struct mp_store *st, enum mp_ledger_state state)
{
	sqlite3_stmt *s = stmt_get(st, S_LEDGER_COUNT, NULL);
	int64_t v = -1;

	if (s == NULL)
		return -1;
	sqlite3_bind_int(s, 1, (int)state);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	stmt_done(s);
	return v;
}

/* ---- skipped messages ---- */

int
mp_store_skip_add(struct mp_store *st, const char *source, uint32_t uid,
    int64_t size, const char *reason, int64_t now, struct mp_err *e)
{
	sqlite3_stmt *s = stmt_get(st, S_SKIP_ADD, e);

	if (s == NULL)
		return -1;
	bind_str(s, 1, source != NULL ? source : "");
	sqlite3_bind_int64(s, 2, uid);
	sqlite3_bind_int64(s, 3, size);
	bind_str(s, 4, reason != NULL ? reason : "");
	sqlite3_bind_int64(s, 5, now);
	return stmt_exec(st, s, e, "recording a skipped message");
}

int64_t
mp_store_skip_count(struct mp_store *st, const char *source)
{
	sqlite3_stmt *s = stmt_get(st, S_SKIP_COUNT, NULL);
	int64_t n = -1;

	if (s == NULL)
		return -1;
	bind_str(s, 1, source != NULL ? source : "");
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	stmt_done(s);
	return n;
}

/* ---- item state ---- */

int
mp_store_item_get(struct mp_store *st, const char *item,
    struct mp_item_state *out)
{
	sqlite3_stmt *s = stmt_get(st, S_ITEM_GET, NULL);
	int rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	bind_str(s, 1, item != NULL ? item : "");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->due = sqlite3_column_int64(s, 0);
		out->ends = sqlite3_column_int64(s, 1);
		out->sequence = sqlite3_column_int(s, 2);
		out->updated = sqlite3_column_int64(s, 3);
	}
	stmt_done(s);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? 1 : -1;
}

int
mp_store_item_set(struct mp_store *st, const struct mp_item_state *is,
    int64_t now, struct mp_err *e)
{
	sqlite3_stmt *s = stmt_get(st, S_ITEM_SET, e);

	if (s == NULL)
		return -1;
	bind_str(s, 1, is->item != NULL ? is->item : "");
	sqlite3_bind_int64(s, 2, is->due);
	sqlite3_bind_int64(s, 3, is->ends);
	sqlite3_bind_int(s, 4, is->sequence);
	sqlite3_bind_int64(s, 5, now);
	bind_str(s, 6, is->title);
	return stmt_exec(st, s, e, "saving an item's state");
}

int
mp_store_item_delete(struct mp_store *st, const char *item,
    struct mp_err *e)
{
	sqlite3_stmt *s = stmt_get(st, S_ITEM_DEL, e);

	if (s == NULL)
		return -1;
	bind_str(s, 1, item != NULL ? item : "");
	return stmt_exec(st, s, e, "forgetting an item");
}

static int
item_row(sqlite3_stmt *s, void *cb, void *ctx)
{
	struct mp_item_state is;
	mp_store_item_cb f = *(mp_store_item_cb *)cb;

	is.item = col_str(s, 0);
	is.due = sqlite3_column_int64(s, 1);
	is.ends = sqlite3_column_int64(s, 2);
	is.sequence = sqlite3_column_int(s, 3);
	is.title = col_opt(s, 4);
	return f(&is, ctx);
}

int
mp_store_item_each(struct mp_store *st, mp_store_item_cb cb, void *ctx,
    struct mp_err *e)
{
	sqlite3_stmt *s = stmt_get(st, S_ITEM_EACH, e);

	if (s == NULL)
		return -1;
	return each_row(st, s, item_row, &cb, ctx, e);
}

static int
rcpt_row(sqlite3_stmt *s, void *cb, void *ctx)
{
	mp_store_rcpt_cb f = *(mp_store_rcpt_cb *)cb;

	return f(col_str(s, 0), ctx);
}

int
mp_store_ledger_reminded(struct mp_store *st, const char *item, int64_t due,
    mp_store_rcpt_cb cb, void *ctx, struct mp_err *e)
{
	sqlite3_stmt *s = stmt_get(st, S_LEDGER_RCPTS, e);

	if (s == NULL)
		return -1;
	bind_str(s, 1, item != NULL ? item : "");
	sqlite3_bind_int64(s, 2, due);
	return each_row(st, s, rcpt_row, &cb, ctx, e);
}
