/* check_config.c - the INI configuration model. */
#include <stdarg.h>
#include <sys/stat.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "testutil.h"

static char *dir;

static void
setup(void)
{
	dir = tu_tmpdir();
}

static void
teardown(void)
{
	tu_rmtree(dir);
	free(dir);
	dir = NULL;
}

/* Write dir/name, creating one level of subdirectory when needed. */
static void
wr(const char *name, const char *text)
{
	char path[4096], sub[4096];
	const char *slash = strrchr(name, '/');

	if (slash != NULL) {
		snprintf(sub, sizeof(sub), "%s/%.*s", dir,
		    (int)(slash - name), name);
		mkdir(sub, 0755);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	tu_write(path, text);
}

/* "{D}" in a template stands for the temporary directory. */
static char *
at(const char *tmpl)
{
	static char out[8192];
	size_t n = 0;

	for (; *tmpl && n + strlen(dir) + 2 < sizeof(out); tmpl++) {
		if (strncmp(tmpl, "{D}", 3) == 0) {
			memcpy(out + n, dir, strlen(dir));
			n += strlen(dir);
			tmpl += 2;
		} else {
			out[n++] = *tmpl;
		}
	}
	out[n] = '\0';
	return out;
}

static int
load(const char *name, struct mp_config **c, struct mp_diag *d)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	memset(d, 0, sizeof(*d));
	return mp_config_load(path, c, d);
}

static void
dump(const struct mp_diag *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		fprintf(stderr, "  diag: %s\n", d->lines[i]);
}

/* A valid [delivery] and three members, for configs that need them. */
static const char base_ini[] =
    "[delivery]\n"
    "transport = smtp://smtp.example.org:587\n"
    "from = Secretariat <sec@example.org>\n"
    "[member ana]\n"
    "email = ana@example.org\n"
    "groups = mag, chair\n"
    "[member ben]\n"
    "email = ben@example.org\n"
    "groups = mag, wg\n"
    "[member cleo]\n"
    "email = cleo@example.org\n"
    "groups = wg\n";

/* ---- the embedded default ---------------------------------------------- */

START_TEST(test_example)
{
	struct mp_diag d = { 0 };
	struct mp_config *c = NULL;
	const struct mp_member *m;
	const struct mp_item *it;
	struct mp_rcpt *r;
	size_t n;
	int rc;

	rc = mp_config_load("etc/example.ini", &c, &d);
	dump(&d);
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_uint_eq(c->nfiles, 3);
	ck_assert_str_eq(c->files[0], "etc/example.ini");
	ck_assert_str_eq(c->files[1], "etc/members.ini");
	ck_assert_str_eq(c->files[2], "etc/deadlines.d/igf2021.ini");
	ck_assert_str_eq(c->store_path, "etc/../var/magpie.db");
	ck_assert_uint_eq(c->nlists, 1);
	ck_assert_str_eq(c->lists[0].id, "mag");
	ck_assert_str_eq(c->lists[0].name, "IGF MAG");
	ck_assert_str_eq(c->lists[0].source,
	    "mbox:etc/sample/mag-2021-06.mbox");
	ck_assert_str_eq(c->lists[0].list_id, "mag.intgovforum.org");
	ck_assert_str_eq(c->delivery.transport, "maildir:etc/../var/outbox");
	ck_assert_str_eq(c->delivery.from_name, "IGF MAG Secretariat");
	ck_assert_str_eq(c->delivery.from_addr, "mag-secretariat@example.org");
	ck_assert_str_eq(c->delivery.bounce, "mag-secretariat@example.org");
	ck_assert_int_eq(c->digest.minute, 7 * 60);
	ck_assert_int_eq(c->digest.send_empty, 0);
	ck_assert_str_eq(c->digest.template, "etc/templates/digest");

	ck_assert_uint_eq(c->nmembers, 12);
	m = mp_config_member(c, "anriette");
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->tz, "Africa/Johannesburg");
	ck_assert_str_eq(m->email, "chair@example.org");
	ck_assert_uint_eq(m->ngroups, 2);
	ck_assert_str_eq(m->groups[1], "chair");
	ck_assert_str_eq(m->where.file, "etc/members.ini");
	m = mp_config_member(c, "ZOE@example.org");
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->name, "Zo\xc3\xab Ndlovu");
	ck_assert_int_eq(mp_config_member(c, "paul")->digest,
	    MP_DIGEST_DAILY);
	ck_assert_int_eq(mp_config_member(c, "lukas")->digest, MP_DIGEST_OFF);
	ck_assert_str_eq(mp_config_member(c, "lukas")->tz, "Europe/Zurich");

	ck_assert_uint_eq(c->nitems, 7);
	it = mp_config_item(c, "workshop-evaluations");
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(it->kind, MP_ITEM_DEADLINE);
	ck_assert_int_eq(it->due, 1623974340);
	ck_assert_str_eq(it->zone, "UTC");
	ck_assert_uint_eq(it->nremind, 4);
	ck_assert_int_eq(it->remind[0], 7 * 86400);
	ck_assert_int_eq(it->remind[1], 3 * 86400);
	ck_assert_int_eq(it->remind[2], 86400);
	ck_assert_int_eq(it->remind[3], 6 * 3600);
	ck_assert_str_eq(it->note,
	    "There is no room to extend the deadline this year.");
	ck_assert_uint_eq(it->npending, 2);
	ck_assert_int_eq(it->where.line, 7);
	ck_assert_int_eq(mp_config_is_pending(c, it, "paul@example.org"), 1);
	ck_assert_int_eq(mp_config_is_pending(c, it, "chair@example.org"), 0);
	ck_assert_int_eq(mp_config_recipients(c, it, &r, &n), 0);
	ck_assert_uint_eq(n, 12);
	ck_assert_int_eq(mp_config_is_recipient(c, it, "CHAIR@example.org"), 1);
	ck_assert_int_eq(mp_config_is_recipient(c, it, "x@example.net"), 0);
	ck_assert_str_eq(mp_config_item_kind_name(it->kind), "deadline");
	ck_assert_str_eq(mp_config_item_kind_name(MP_ITEM_EVENT), "event");
	ck_assert_str_eq(mp_config_item_kind_name(MP_ITEM_REMINDER),
	    "reminder");
	ck_assert_str_eq(r[0].email, "chair@example.org");
	free(r);

	it = mp_config_item(c, "open-consultations");
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(it->kind, MP_ITEM_EVENT);
	ck_assert_int_eq(it->due, 1624366800);
	ck_assert_int_eq(it->ends, 1624366800 + 3 * 3600);
	ck_assert_uint_eq(it->nremind, 2);
	ck_assert_int_eq(it->remind[1], 3600);
	ck_assert_int_eq(mp_config_item(c, "mag-meeting-day-2")->due,
	    1625058000);

	it = mp_config_item(c, "wg-hybrid-call");
	ck_assert_int_eq(mp_config_recipients(c, it, &r, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(r[0].email, "amrita@example.org");
	ck_assert_str_eq(r[0].tz, "Asia/Kolkata");
	ck_assert_str_eq(r[3].email, "piotr@example.org");
	free(r);

	it = mp_config_item(c, "summer-meetings");
	ck_assert_int_eq(it->kind, MP_ITEM_REMINDER);
	ck_assert_int_eq(it->due, 1624525200);
	ck_assert_str_eq(it->title, "Poll: MAG meetings in July and August");
	ck_assert_str_eq(it->subject, it->title);
	ck_assert_ptr_null(mp_config_item(c, "nope"));
	mp_config_free(c);
	mp_diag_free(&d);
}
END_TEST

/* ---- a valid config with every key --------------------------------------- */

START_TEST(test_every_key)
{
	struct mp_diag d;
	struct mp_config *c = NULL;
	const struct mp_list_cfg *l;
	const struct mp_delivery_cfg *dl;
	const struct mp_member *m;
	const struct mp_item *it;
	char path[4096];

	wr("secret/imap.pass", "x\n");
	snprintf(path, sizeof(path), "%s/secret/imap.pass", dir);
	ck_assert_int_eq(chmod(path, 0600), 0);
	wr("ca.pem", "-----BEGIN CERTIFICATE-----\n");
	wr("main.ini",
	    "; every key\n"
	    "[store]\n"
	    "path = /var/lib/magpie/magpie.db\n"
	    "[list mag]\n"
	    "name = IGF MAG\n"
	    "source = imaps://mag-archive@imap.example.org:993/INBOX\n"
	    "user = mag-archive\n"
	    "password_file = secret/imap.pass\n"
	    "ca_file = ca.pem\n"
	    "list_id = mag.intgovforum.org\n"
	    "archive_url = https://mail.example.org/mag/{{message_id}}\n"
	    "tls = auto\n"
	    "batch = 50\n"
	    "max_size = 10M\n"
	    "timeout = 30\n"
	    "[list local]\n"
	    "source = imap://localhost:1143/INBOX\n"
	    "password_command = pass show imap\n"
	    "tls = none\n"
	    "max_size = 512k\n"
	    "[delivery]\n"
	    "transport = smtps://smtp.example.org:465\n"
	    "user = magpie\n"
	    "password_command = cat /dev/null\n"
	    "ca_file = ca.pem\n"
	    "from = \"Secretariat, IGF\" <sec@example.org>\n"
	    "bounce = bounces@example.org\n"
	    "tls = auto\n"
	    "timeout = 20\n"
	    "max_attempts = 5\n"
	    "max_age = 1d12h\n"
	    "[digest]\n"
	    "time = 6:30\n"
	    "weekday = Fri\n"
	    "send_empty = yes\n"
	    "days_ahead = 30\n"
	    "template = tpl/digest\n"
	    "[calendar]\n"
	    "quiet = 2021-12-24..2022-01-02, 2021-07-01\n"
	    "skip_weekends = on\n"
	    "[extract]\n"
	    "date_order = mdy\n"
	    "[threads]\n"
	    "subject_window = 2w\n"
	    "[member ana]\n"
	    "name = Ana Souza   ; inline comment\n"
	    "email = ana@example.org\n"
	    "tz = America/Sao_Paulo\n"
	    "digest = weekly\n"
	    "groups = mag, chair\n"
	    "[deadline report]\n"
	    "title = Annual report\n"
	    "due = 2021-06-22 13:00 Europe/Warsaw\n"
	    "remind = 1d, 2w, 1d, 90m\n"
	    "to = group:mag,\n"
	    "  x@example.org\n"
	    "url = https://example.org/report\n"
	    "note = First line.\n"
	    "  Second line.\n"
	    "pending = ana\n"
	    "overdue = 2h\n"
	    "[event call]\n"
	    "title = Call\n"
	    "starts = 2021-06-18T14:00:00Z\n"
	    "ends = 2021-06-18 16:00 +01:00\n"
	    "remind = 1h\n"
	    "to = ana\n"
	    "url = https://example.org/call\n"
	    "note = Bring notes.\n"
	    "location = Room 1\n"
	    "pending = ana@example.org\n"
	    "overdue = 30m\n"
	    "[reminder poll]\n"
	    "at = 2021-06-24 09:00 UTC\n"
	    "to = group:chair\n"
	    "subject = Poll\n"
	    "body = Please answer.\n"
	    "url = https://example.org/poll\n"
	    "repeat = weekly\n"
	    "until = 2021-07-24 09:00 UTC\n"
	    "[digest]\n");
	ck_assert_int_eq(load("main.ini", &c, &d), 0);
	dump(&d);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_str_eq(c->store_path, "/var/lib/magpie/magpie.db");
	ck_assert_uint_eq(c->nlists, 2);
	l = &c->lists[0];
	ck_assert_str_eq(l->name, "IGF MAG");
	ck_assert_str_eq(l->source,
	    "imaps://mag-archive@imap.example.org:993/INBOX");
	ck_assert_str_eq(l->user, "mag-archive");
	ck_assert_str_eq(l->password_file, at("{D}/secret/imap.pass"));
	ck_assert_ptr_null(l->password_command);
	ck_assert_str_eq(l->ca_file, at("{D}/ca.pem"));
	ck_assert_str_eq(l->list_id, "mag.intgovforum.org");
	ck_assert_str_eq(l->archive_url,
	    "https://mail.example.org/mag/{{message_id}}");
	ck_assert_int_eq(l->tls, MP_TLS_AUTO);
	ck_assert_int_eq(l->batch, 50);
	ck_assert_int_eq(l->max_size, 10 * 1024 * 1024);
	ck_assert_int_eq(l->timeout, 30);
	ck_assert_int_eq(l->where.line, 4);
	l = &c->lists[1];
	ck_assert_str_eq(l->name, "local");
	ck_assert_str_eq(l->password_command, "pass show imap");
	ck_assert_int_eq(l->tls, MP_TLS_NONE);
	ck_assert_int_eq(l->max_size, 512 * 1024);

	dl = &c->delivery;
	ck_assert_str_eq(dl->transport, "smtps://smtp.example.org:465");
	ck_assert_str_eq(dl->user, "magpie");
	ck_assert_str_eq(dl->password_command, "cat /dev/null");
	ck_assert_str_eq(dl->ca_file, at("{D}/ca.pem"));
	ck_assert_str_eq(dl->from, "\"Secretariat, IGF\" <sec@example.org>");
	ck_assert_str_eq(dl->from_name, "Secretariat, IGF");
	ck_assert_str_eq(dl->from_addr, "sec@example.org");
	ck_assert_str_eq(dl->bounce, "bounces@example.org");
	ck_assert_int_eq(dl->timeout, 20);
	ck_assert_int_eq(dl->max_attempts, 5);
	ck_assert_int_eq(dl->max_age, 36 * 3600);

	ck_assert_int_eq(c->digest.minute, 6 * 60 + 30);
	ck_assert_int_eq(c->digest.weekday, 5);
	ck_assert_int_eq(c->digest.send_empty, 1);
	ck_assert_int_eq(c->digest.days_ahead, 30);
	ck_assert_str_eq(c->digest.template, at("{D}/tpl/digest"));
	ck_assert_int_eq(c->digest.where.line, 32);
	ck_assert_uint_eq(c->calendar.nquiet, 2);
	ck_assert_int_eq(c->calendar.quiet[0].first_day, 18985);
	ck_assert_int_eq(c->calendar.quiet[0].last_day, 18994);
	ck_assert_int_eq(c->calendar.quiet[1].first_day, 18809);
	ck_assert_int_eq(c->calendar.quiet[1].last_day, 18809);
	ck_assert_int_eq(c->calendar.skip_weekends, 1);
	ck_assert_int_eq(c->extract.date_order, MP_DATE_MDY);
	ck_assert_int_eq(c->threads.subject_window, 14 * 86400);

	ck_assert_uint_eq(c->nmembers, 1);
	m = &c->members[0];
	ck_assert_str_eq(m->name, "Ana Souza");
	ck_assert_str_eq(m->tz, "America/Sao_Paulo");
	ck_assert_int_eq(m->digest, MP_DIGEST_WEEKLY);

	ck_assert_uint_eq(c->nitems, 3);
	it = &c->items[0];
	ck_assert_str_eq(it->id, "report");
	ck_assert_str_eq(it->title, "Annual report");
	ck_assert_int_eq(it->due, 1624359600);
	ck_assert_str_eq(it->zone, "Europe/Warsaw");
	ck_assert_uint_eq(it->nremind, 3);
	ck_assert_int_eq(it->remind[0], 14 * 86400);
	ck_assert_int_eq(it->remind[1], 86400);
	ck_assert_int_eq(it->remind[2], 90 * 60);
	ck_assert_uint_eq(it->nto, 2);
	ck_assert_str_eq(it->to[0], "group:mag");
	ck_assert_str_eq(it->to[1], "x@example.org");
	ck_assert_str_eq(it->url, "https://example.org/report");
	ck_assert_str_eq(it->note, "First line.\nSecond line.");
	ck_assert_uint_eq(it->npending, 1);
	ck_assert_str_eq(it->pending[0], "ana");
	ck_assert_int_eq(it->overdue, 7200);
	it = &c->items[1];
	ck_assert_int_eq(it->due, 1624024800);
	ck_assert_str_eq(it->zone, "Z");
	ck_assert_int_eq(it->ends, 1624024800 + 3600);
	ck_assert_str_eq(it->location, "Room 1");
	ck_assert_str_eq(it->note, "Bring notes.");
	ck_assert_int_eq(it->overdue, 1800);
	it = &c->items[2];
	ck_assert_int_eq(it->kind, MP_ITEM_REMINDER);
	ck_assert_str_eq(it->title, "Poll");
	ck_assert_str_eq(it->subject, "Poll");
	ck_assert_str_eq(it->body, "Please answer.");
	ck_assert_str_eq(it->url, "https://example.org/poll");
	ck_assert_int_eq(it->repeat, 7 * 86400);
	ck_assert_int_eq(it->until, 1624525200 + 30 * 86400);
	mp_config_free(c);
	mp_diag_free(&d);
}
END_TEST

START_TEST(test_defaults)
{
	struct mp_diag d;
	struct mp_config *c = NULL;
	const struct mp_item *it;
	const struct mp_member *m;

	wr("conf/main.ini",
	    "[delivery]\n"
	    "transport = maildir:out\n"
	    "from = sec@example.org\n"
	    "[list l]\n"
	    "source = maildir:/srv/mail/l\n"
	    "[member bo]\n"
	    "email = bo@example.org\n"
	    "[deadline d]\n"
	    "due = 2021-06-22 UTC\n"
	    "to = bo\n"
	    "[reminder r]\n"
	    "at = 2021-06-22 10:00 UTC\n"
	    "to = bo\n"
	    "subject = Hello\n"
	    "repeat = 36h\n");
	ck_assert_int_eq(load("conf/main.ini", &c, &d), 0);
	dump(&d);
	ck_assert_str_eq(c->path, at("{D}/conf/main.ini"));
	ck_assert_str_eq(c->store_path, at("{D}/conf/var/magpie.db"));
	ck_assert_str_eq(c->delivery.transport, at("maildir:{D}/conf/out"));
	ck_assert_str_eq(c->delivery.from_name, "");
	ck_assert_str_eq(c->delivery.from_addr, "sec@example.org");
	ck_assert_str_eq(c->delivery.bounce, "sec@example.org");
	ck_assert_int_eq(c->delivery.tls, MP_TLS_AUTO);
	ck_assert_int_eq(c->delivery.timeout, 60);
	ck_assert_int_eq(c->delivery.max_attempts, 10);
	ck_assert_int_eq(c->delivery.max_age, 3 * 86400);
	ck_assert_ptr_null(c->delivery.password_file);
	ck_assert_int_eq(c->digest.minute, 420);
	ck_assert_int_eq(c->digest.weekday, 1);
	ck_assert_int_eq(c->digest.send_empty, 0);
	ck_assert_int_eq(c->digest.days_ahead, 14);
	ck_assert_str_eq(c->digest.template, at("{D}/conf/templates/digest"));
	ck_assert_uint_eq(c->calendar.nquiet, 0);
	ck_assert_int_eq(c->calendar.skip_weekends, 0);
	ck_assert_int_eq(c->extract.date_order, MP_DATE_DMY);
	ck_assert_int_eq(c->threads.subject_window, 30 * 86400);
	ck_assert_str_eq(c->lists[0].name, "l");
	ck_assert_str_eq(c->lists[0].source, "maildir:/srv/mail/l");
	ck_assert_int_eq(c->lists[0].batch, 200);
	ck_assert_int_eq(c->lists[0].max_size, 25 * 1024 * 1024);
	ck_assert_int_eq(c->lists[0].timeout, 60);
	ck_assert_ptr_null(c->lists[0].list_id);
	m = mp_config_member(c, "bo");
	ck_assert_str_eq(m->name, "bo");
	ck_assert_str_eq(m->tz, "UTC");
	ck_assert_int_eq(m->digest, MP_DIGEST_DAILY);
	ck_assert_uint_eq(m->ngroups, 0);
	it = mp_config_item(c, "d");
	ck_assert_str_eq(it->title, "d");
	ck_assert_int_eq(it->due, 1624320000);
	ck_assert_uint_eq(it->nremind, 0);
	ck_assert_int_eq(it->overdue, 0);
	ck_assert_int_eq(it->ends, 0);
	ck_assert_ptr_null(it->pending);
	ck_assert_int_eq(mp_config_is_pending(c, it, "anyone@example.org"),
	    1);
	it = mp_config_item(c, "r");
	ck_assert_int_eq(it->repeat, 36 * 3600);
	ck_assert_int_eq(it->until, 0);
	mp_config_free(c);
	mp_diag_free(&d);
}
END_TEST

/* ---- includes ---------------------------------------------------------- */

START_TEST(test_include)
{
	struct mp_diag d;
	struct mp_config *c = NULL;

	wr("main.ini",
	    "include = people/*.ini, nothing/*.ini,\n"
	    "   base.ini\n"
	    "[store]\n"
	    "path = db\n");
	wr("base.ini", base_ini);
	wr("people/b.ini", "[member bea]\nemail = bea@example.org\n");
	wr("people/a.ini",
	    "include = ../more/x.ini\n"
	    "[member al]\nemail = al@example.org\n"
	    "[list a]\nsource = mbox:box\n");
	wr("people/notes.txt", "[bogus]\n");
	wr("more/x.ini",
	    "include = ../base.ini, ../main.ini\n"
	    "[member xu]\nemail = xu@example.org\n");
	ck_assert_int_eq(load("main.ini", &c, &d), 0);
	dump(&d);
	ck_assert_uint_eq(c->nfiles, 5);
	ck_assert_str_eq(c->files[0], at("{D}/main.ini"));
	ck_assert_str_eq(c->files[1], at("{D}/people/a.ini"));
	ck_assert_str_eq(c->files[2], at("{D}/people/../more/x.ini"));
	ck_assert_str_eq(c->files[3], at("{D}/people/../more/../base.ini"));
	ck_assert_str_eq(c->files[4], at("{D}/people/b.ini"));
	ck_assert_str_eq(c->store_path, at("{D}/db"));
	ck_assert_str_eq(c->lists[0].source, at("mbox:{D}/people/box"));
	ck_assert_uint_eq(c->nmembers, 6);
	ck_assert_str_eq(c->members[0].id, "ana");
	ck_assert_str_eq(c->members[3].id, "xu");
	ck_assert_str_eq(c->members[4].id, "al");
	ck_assert_str_eq(c->members[5].id, "bea");
	ck_assert_ptr_eq(c->members[5].where.file, c->files[4]);
	ck_assert_int_eq(c->members[5].where.line, 1);
	mp_config_free(c);
	mp_diag_free(&d);
}
END_TEST

START_TEST(test_include_depth)
{
	struct mp_diag d;
	struct mp_config *c = NULL;
	char name[32], text[64];
	int i;

	wr("main.ini", "include = f1.ini, base.ini\n");
	wr("base.ini", base_ini);
	for (i = 1; i <= 9; i++) {
		snprintf(name, sizeof(name), "f%d.ini", i);
		snprintf(text, sizeof(text), "include = f%d.ini\n", i + 1);
		wr(name, text);
	}
	wr("f10.ini", "");
	ck_assert_int_eq(load("main.ini", &c, &d), -1);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.lines[0], at("{D}/f8.ini:1: cannot include "
	    "'f9.ini': includes nested more than 8 deep"));
	mp_diag_free(&d);
}
END_TEST

START_TEST(test_missing_main)
{
	struct mp_diag d;
	struct mp_config *c = (struct mp_config *)&d;

	ck_assert_int_eq(load("absent.ini", &c, &d), -1);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.lines[0],
	    at("{D}/absent.ini: cannot read: No such file or directory"));
	mp_diag_free(&d);
}
END_TEST

/* ---- one mistake at a time --------------------------------------------- */

/*
 * main.ini is "include = base.ini\n" followed by text, so text starts on
 * line 2. Each case must yield exactly the one diagnostic (or, with a
 * trailing '*', a diagnostic starting with it).
 */
static const struct {
	const char *text;
	const char *want;
} bad[] = {
	{ "[store]\nbogus = 1\n",
	  "{D}/main.ini:3: unknown key 'bogus' in [store]" },
	{ "[stor]\npath = x\n", "{D}/main.ini:2: unknown section [stor]" },
	{ "[deadline x]\ndue = 2021-02-30 23:59 UTC\nto = ana\n",
	  "{D}/main.ini:3: bad time '2021-02-30 23:59 UTC' for 'due': *" },
	{ "[deadline x]\ndue = 2021-06-17 23:59\nto = ana\n",
	  "{D}/main.ini:3: bad time '2021-06-17 23:59' for 'due': *" },
	{ "[member zed]\nemail = zed@example.org\ntz = Mars/Olympus\n",
	  "{D}/main.ini:4: unknown time zone 'Mars/Olympus'" },
	{ "[deadline x]\ndue = 2021-06-17 23:59 UTC\nto = group:mag, "
	  "group:nope\n", "{D}/main.ini:4: unknown group 'nope'" },
	{ "[deadline x]\ndue = 2021-06-17 23:59 UTC\nto = ana\n"
	  "pending = bob\n", "{D}/main.ini:5: unknown member 'bob'" },
	{ "[deadline x]\ndue = 2021-06-17 23:59 UTC\nto = ana\n"
	  "[deadline x]\n",
	  "{D}/main.ini:5: duplicate [deadline x] (first defined at "
	  "{D}/main.ini:2)" },
	{ "[member ana]\nemail = a2@example.org\n",
	  "{D}/main.ini:2: duplicate [member ana] (first defined at "
	  "{D}/base.ini:4)" },
	{ "[deadline x]\ndue = 2021-06-17 23:59 UTC\nto = ana\n"
	  "[event x]\n",
	  "{D}/main.ini:5: duplicate name 'x': [event x] clashes with "
	  "[deadline x] (at {D}/main.ini:2)" },
	{ "[deadline x]\ndue = 2021-06-17 23:59 UTC\nto = ana\n"
	  "due = 2021-06-18 23:59 UTC\n",
	  "{D}/main.ini:5: duplicate key 'due' (first at {D}/main.ini:3)" },
	{ "[delivery]\ntimeout = 5\n[digest]\n[delivery]\ntimeout = 6\n",
	  "{D}/main.ini:6: duplicate key 'timeout' (first at {D}/main.ini:3)" },
	{ "[deadline x]\nto = ana\n",
	  "{D}/main.ini:2: [deadline x] has no 'due'" },
	{ "[event x]\nstarts = 2021-06-17 13:00 UTC\n",
	  "{D}/main.ini:2: [event x] has no 'to'" },
	{ "[member zed]\n", "{D}/main.ini:2: [member zed] has no 'email'" },
	{ "[reminder r]\nat = 2021-06-17 13:00 UTC\nto = ana\n",
	  "{D}/main.ini:2: [reminder r] has no 'subject'" },
	{ "[list l]\nname = L\n", "{D}/main.ini:2: [list l] has no 'source'" },
	{ "[list l]\nsource = mbox:x\npassword_file = pw\n"
	  "password_command = echo\n",
	  "{D}/main.ini:5: give password_file or password_command, not both" },
	{ "[list l]\nsource = imap://imap.example.org/INBOX\ntls = none\n",
	  "{D}/main.ini:4: tls = none is only allowed for a loopback host "
	  "(127.0.0.1, ::1 or localhost), not 'imap.example.org'" },
	{ "[delivery]\ntls = none\n",
	  "{D}/main.ini:3: tls = none is only allowed for a loopback host "
	  "(127.0.0.1, ::1 or localhost), not 'smtp.example.org'" },
	{ "[deadline x]\ndue = 2021-06-17 23:59 UTC\nto = ana\n"
	  "remind = 7d, 3x\n",
	  "{D}/main.ini:5: bad duration '3x' in 'remind'" },
	{ "[event x]\nstarts = 2021-06-17 13:00 UTC\n"
	  "ends = 2021-06-17 12:59 UTC\nto = ana\n",
	  "{D}/main.ini:4: 'ends' is before 'starts'" },
	{ "[reminder r]\nat = 2021-06-17 13:00 UTC\nto = ana\nsubject = S\n"
	  "until = 2021-07-17 13:00 UTC\n",
	  "{D}/main.ini:6: 'until' needs 'repeat'" },
	{ "[reminder r]\nat = 2021-06-17 13:00 UTC\nto = ana\nsubject = S\n"
	  "repeat = fortnightly\n",
	  "{D}/main.ini:6: bad duration 'fortnightly' for 'repeat'" },
	{ "[store]\ninclude = x.ini\n",
	  "{D}/main.ini:3: 'include' must come before the first section" },
	{ "name = x\n", "{D}/main.ini:2: unknown key 'name' before the first "
	  "section (only 'include' may be there)" },
	{ "[member bad/name]\n", "{D}/main.ini:2: bad name 'bad/name' in "
	  "[member bad/name]: use letters, digits, '.', '_' and '-'" },
	{ "[member]\n", "{D}/main.ini:2: section [member] needs a name, as in "
	  "[member NAME]" },
	{ "[store x]\n", "{D}/main.ini:2: section [store] takes no name" },
	{ "[member zed]\nemail = zed at example.org\n",
	  "{D}/main.ini:3: bad address 'zed at example.org' for 'email'" },
	{ "[member zed]\nemail = zed@example.org\n",
	  NULL },
	{ "[member zed]\nemail = ANA@example.org\n",
	  "{D}/main.ini:3: email 'ANA@example.org' already belongs to "
	  "[member ana] (at {D}/base.ini:4)" },
	{ "[member zed]\nemail = zed@example.org\ndigest = hourly\n",
	  "{D}/main.ini:4: bad value 'hourly' for 'digest' (daily, weekly or "
	  "off)" },
	{ "[digest]\nsend_empty = maybe\n",
	  "{D}/main.ini:3: bad value 'maybe' for 'send_empty' (yes or no)" },
	{ "[digest]\nweekday = funday\n",
	  "{D}/main.ini:3: bad weekday 'funday' (sunday..saturday)" },
	{ "[digest]\ntime = 25:00\n",
	  "{D}/main.ini:3: bad time '25:00' for 'time' (HH:MM)" },
	{ "[list l]\nsource = mbox:x\nbatch = 0\n",
	  "{D}/main.ini:4: bad number '0' for 'batch' (1..10000)" },
	{ "[list l]\nsource = mbox:x\nmax_size = 10Q\n",
	  "{D}/main.ini:4: bad size '10Q' for 'max_size' (bytes, or with a k, "
	  "M or G suffix)" },
	{ "[list l]\nsource = pop3://mail.example.org\n",
	  "{D}/main.ini:3: bad source 'pop3://mail.example.org' (imaps://"
	  "[USER@]HOST[:PORT]/FOLDER, imap://..., mbox:PATH or "
	  "maildir:PATH)" },
	{ "[list l]\nsource = imaps://:993/INBOX\n",
	  "{D}/main.ini:3: bad source 'imaps://:993/INBOX' (imaps://"
	  "[USER@]HOST[:PORT]/FOLDER, imap://..., mbox:PATH or "
	  "maildir:PATH)" },
	{ "[delivery]\nbounce = nobody\n",
	  "{D}/main.ini:3: bad address 'nobody' for 'bounce'" },
	{ "[calendar]\nquiet = 2021-07-10..2021-07-01\n",
	  "{D}/main.ini:3: bad date range '2021-07-10..2021-07-01' in 'quiet': "
	  "it ends before it starts" },
	{ "[calendar]\nquiet = 2021-02-29\n",
	  "{D}/main.ini:3: bad date '2021-02-29' in 'quiet' (YYYY-MM-DD)" },
	{ "[extract]\ndate_order = ymd\n",
	  "{D}/main.ini:3: bad value 'ymd' for 'date_order' (dmy or mdy)" },
	{ "[threads]\nsubject_window = forever\n",
	  "{D}/main.ini:3: bad duration 'forever' for 'subject_window'" },
	{ "[threads]\nsubject_window = -3d\n",
	  "{D}/main.ini:3: bad duration '-3d' for 'subject_window'" },
	{ "[deadline x]\ndue = 2021-06-17 23:59 UTC\nto = ana, x@@y\n",
	  "{D}/main.ini:4: bad address 'x@@y' in 'to'" },
	{ "[deadline x]\ntitle = One\n  two\ndue = 2021-06-17 23:59 UTC\n"
	  "to = ana\n", "{D}/main.ini:3: 'title' must be on one line" },
	{ "[store]\nthis is not a key\n",
	  "{D}/main.ini:3: expected 'key = value', '[section]' or a comment" },
	{ "[member ann\n",
	  "{D}/main.ini:2: expected a section header like [member NAME]" },
	{ "[member ann]\nemail = x@example.org\n[store\npath = x\n",
	  "{D}/main.ini:4: expected a section header like [member NAME]" },
	{ "[store]\npath = a" "0123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789\n",
	  "{D}/main.ini:3: line too long (more than 198 characters); continue "
	  "the value on an indented line" },
	{ "[store]\n= x\n", "{D}/main.ini:3: no key name before '='" },
};

START_TEST(test_bad)
{
	struct mp_diag d;
	struct mp_config *c = NULL;
	struct mp_buf b = MP_BUF_INIT;
	char want[4096];
	size_t len;

	wr("base.ini", base_ini);
	wr("pw", "secret\n");
	ck_assert_int_eq(chmod(at("{D}/pw"), 0600), 0);
	mp_buf_adds(&b, "include = base.ini\n");
	mp_buf_adds(&b, bad[_i].text);
	wr("main.ini", mp_buf_str(&b));
	mp_buf_free(&b);
	if (bad[_i].want == NULL) {
		ck_assert_int_eq(load("main.ini", &c, &d), 0);
		ck_assert_ptr_nonnull(c);
		mp_config_free(c);
		return;
	}
	ck_assert_int_eq(load("main.ini", &c, &d), -1);
	ck_assert_ptr_null(c);
	if (d.n != 1)
		dump(&d);
	ck_assert_uint_eq(d.n, 1);
	snprintf(want, sizeof(want), "%s", at(bad[_i].want));
	len = strlen(want);
	if (len > 0 && want[len - 1] == '*') {
		ck_assert_msg(strncmp(d.lines[0], want, len - 1) == 0 &&
		    strlen(d.lines[0]) > len + 3, "got '%s', want '%s'",
		    d.lines[0], want);
	} else {
		ck_assert_str_eq(d.lines[0], want);
	}
	mp_diag_free(&d);
}
END_TEST

START_TEST(test_password_file_mode)
{
	struct mp_diag d;
	struct mp_config *c = NULL;
	char path[4096];

	wr("base.ini", base_ini);
	wr("pw", "secret\n");
	snprintf(path, sizeof(path), "%s/pw", dir);
	wr("main.ini",
	    "include = base.ini\n"
	    "[list l]\n"
	    "source = imaps://imap.example.org/INBOX\n"
	    "password_file = pw\n");
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(load("main.ini", &c, &d), -1);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.lines[0], at("{D}/main.ini:4: password file {D}/pw "
	    "is readable by group or others (chmod 600 it)"));
	mp_diag_free(&d);

	ck_assert_int_eq(chmod(path, 0620), 0);
	ck_assert_int_eq(load("main.ini", &c, &d), -1);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.lines[0], at("{D}/main.ini:4: password file {D}/pw "
	    "is writable by group or others (chmod 600 it)"));
	mp_diag_free(&d);

	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(load("main.ini", &c, &d), 0);
	ck_assert_str_eq(c->lists[0].password_file, path);
	mp_config_free(c);
	mp_diag_free(&d);

	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(load("main.ini", &c, &d), -1);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.lines[0], at("{D}/main.ini:4: cannot read password "
	    "file {D}/pw: No such file or directory"));
	mp_diag_free(&d);
}
END_TEST

START_TEST(test_include_errors)
{
	struct mp_diag d;
	struct mp_config *c = NULL;

	wr("base.ini", base_ini);
	wr("main.ini",
	    "include = base.ini, nope.ini, none/*.ini\n"
	    "include = sub\n");
	mkdir(at("{D}/sub"), 0755);
	ck_assert_int_eq(load("main.ini", &c, &d), -1);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_str_eq(d.lines[0], at("{D}/main.ini:1: cannot include "
	    "'nope.ini': No such file or directory"));
	ck_assert_str_eq(d.lines[1], at("{D}/main.ini:2: cannot read {D}/sub: "
	    "Is a directory"));
	mp_diag_free(&d);
}
END_TEST

START_TEST(test_no_delivery)
{
	struct mp_diag d;
	struct mp_config *c = NULL;

	wr("main.ini", "[store]\npath = x\n");
	ck_assert_int_eq(load("main.ini", &c, &d), -1);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.lines[0], at("{D}/main.ini: no [delivery] section "
	    "(it needs 'transport' and 'from')"));
	mp_diag_free(&d);
	wr("main.ini", "[delivery]\nuser = x\n");
	ck_assert_int_eq(load("main.ini", &c, &d), -1);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_str_eq(d.lines[0],
	    at("{D}/main.ini:1: [delivery] has no 'transport'"));
	ck_assert_str_eq(d.lines[1],
	    at("{D}/main.ini:1: [delivery] has no 'from'"));
	mp_diag_free(&d);
}
END_TEST

/* Every mistake is reported, sorted by file (reading order) and line. */
START_TEST(test_many)
{
	struct mp_diag d;
	struct mp_config *c = NULL;
	static const char *const want[] = {
		"{D}/main.ini:2: unknown section [bogus]",
		"{D}/main.ini:5: unknown group 'staff'",
		"{D}/main.ini:7: unknown key 'colour' in [event e]",
		"{D}/main.ini:8: [event f] has no 'starts'",
		"{D}/main.ini:9: unknown member 'nobody'",
		"{D}/main.ini:10: [member ana] has no 'email'",
		"{D}/main.ini:11: unknown time zone 'Mars/Olympus'",
		"{D}/main.ini:12: duplicate key 'tz' "
		    "(first at {D}/main.ini:11)",
		"{D}/more.ini:2: bad time 'tomorrow' for 'due': *",
		"{D}/more.ini:3: unknown member 'zed'",
		"{D}/more.ini:4: bad duration '1y' in 'remind'",
	};
	size_t i, len;

	wr("main.ini",
	    "include = more.ini, base.ini\n"
	    "[bogus]\n"
	    "[event e]\n"
	    "starts = 2021-06-23 13:00 UTC\n"
	    "to = group:staff\n"
	    "ends = 2021-06-23 16:00 UTC\n"
	    "colour = red\n"
	    "[event f]\n"
	    "to = nobody\n"
	    "[member ana]\n"
	    "tz = Mars/Olympus\n"
	    "tz = UTC\n");
	wr("base.ini",
	    "[delivery]\ntransport = sendmail:/usr/sbin/sendmail\n"
	    "from = s@example.org\n");
	wr("more.ini",
	    "[deadline d]\n"
	    "due = tomorrow\n"
	    "to = zed\n"
	    "remind = 1y\n");
	ck_assert_int_eq(load("main.ini", &c, &d), -1);
	ck_assert_ptr_null(c);
	if (d.n != sizeof(want) / sizeof(want[0]))
		dump(&d);
	ck_assert_uint_eq(d.n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < d.n; i++) {
		const char *w = at(want[i]);

		len = strlen(w);
		if (w[len - 1] == '*')
			ck_assert_msg(strncmp(d.lines[i], w, len - 1) == 0,
			    "line %zu: got '%s'", i, d.lines[i]);
		else
			ck_assert_str_eq(d.lines[i], w);
	}
	mp_diag_free(&d);
}
END_TEST

START_TEST(test_loopback_none)
{
	struct mp_diag d;
	struct mp_config *c = NULL;

	wr("main.ini",
	    "[delivery]\ntransport = smtp://[::1]:2525\ntls = none\n"
	    "from = s@example.org\n"
	    "[list a]\nsource = imap://u@127.0.0.1:1143/INBOX\ntls = none\n"
	    "[list b]\nsource = imap://LOCALHOST/INBOX\ntls = none\n"
	    "[list c]\nsource = maildir:m\ntls = none\n");
	ck_assert_int_eq(load("main.ini", &c, &d), 0);
	dump(&d);
	ck_assert_int_eq(c->delivery.tls, MP_TLS_NONE);
	ck_assert_int_eq(c->lists[2].tls, MP_TLS_NONE);
	mp_config_free(c);
	mp_diag_free(&d);
}
END_TEST

/* ---- recipients -------------------------------------------------------- */

START_TEST(test_recipients)
{
	struct mp_diag d;
	struct mp_config *c = NULL;
	const struct mp_item *it;
	struct mp_rcpt *r;
	size_t n;

	wr("main.ini",
	    "include = base.ini\n"
	    "[member dan]\n"
	    "name = Dan\n"
	    "email = dan@example.org\n"
	    "tz = Asia/Tokyo\n"
	    "[deadline x]\n"
	    "due = 2021-06-17 23:59 UTC\n"
	    "to = out@example.org, DAN@example.org, group:wg, ana,\n"
	    "  OUT@example.org, other@example.org, cleo\n"
	    "pending = ben, group:chair, out@example.org\n"
	    "[deadline all]\n"
	    "due = 2021-06-17 23:59 UTC\n"
	    "to = group:all\n");
	wr("base.ini", base_ini);
	ck_assert_int_eq(load("main.ini", &c, &d), 0);
	dump(&d);
	it = mp_config_item(c, "x");
	ck_assert_int_eq(mp_config_recipients(c, it, &r, &n), 0);
	ck_assert_uint_eq(n, 6);
	ck_assert_ptr_eq(r[0].member, mp_config_member(c, "ana"));
	ck_assert_str_eq(r[0].email, "ana@example.org");
	ck_assert_str_eq(r[0].name, "ana");
	ck_assert_str_eq(r[0].tz, "UTC");
	ck_assert_str_eq(r[1].email, "ben@example.org");
	ck_assert_str_eq(r[2].email, "cleo@example.org");
	ck_assert_str_eq(r[3].email, "dan@example.org");
	ck_assert_str_eq(r[3].name, "Dan");
	ck_assert_str_eq(r[3].tz, "Asia/Tokyo");
	ck_assert_ptr_null(r[4].member);
	ck_assert_str_eq(r[4].email, "out@example.org");
	ck_assert_str_eq(r[4].name, "");
	ck_assert_str_eq(r[4].tz, "UTC");
	ck_assert_str_eq(r[5].email, "other@example.org");
	free(r);

	ck_assert_int_eq(mp_config_is_pending(c, it, "ben@example.org"), 1);
	ck_assert_int_eq(mp_config_is_pending(c, it, "BEN@EXAMPLE.ORG"), 1);
	ck_assert_int_eq(mp_config_is_pending(c, it, "ben"), 1);
	ck_assert_int_eq(mp_config_is_pending(c, it, "ana@example.org"), 1);
	ck_assert_int_eq(mp_config_is_pending(c, it, "Out@Example.org"), 1);
	ck_assert_int_eq(mp_config_is_pending(c, it, "cleo@example.org"), 0);
	ck_assert_int_eq(mp_config_is_pending(c, it, "dan@example.org"), 0);
	ck_assert_int_eq(mp_config_is_pending(c, it, "other@example.org"), 0);

	it = mp_config_item(c, "all");
	ck_assert_int_eq(mp_config_recipients(c, it, &r, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(r[3].email, "dan@example.org");
	free(r);

	ck_assert_ptr_eq(mp_config_member(c, "Cleo@Example.ORG"),
	    &c->members[2]);
	ck_assert_ptr_eq(mp_config_member(c, "ben"), &c->members[1]);
	ck_assert_ptr_null(mp_config_member(c, "BEN"));
	ck_assert_ptr_null(mp_config_member(c, "zed@example.org"));
	ck_assert_ptr_eq(mp_config_item(c, "all"), &c->items[1]);
	mp_config_free(c);
	mp_diag_free(&d);
}
END_TEST

START_TEST(test_free_null)
{
	mp_config_free(NULL);
	ck_assert_ptr_null(mp_config_member(NULL, "x"));
	ck_assert_ptr_null(mp_config_item(NULL, "x"));
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_example);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_include);
	tcase_add_test(tc, test_include_depth);
	tcase_add_test(tc, test_include_errors);
	tcase_add_test(tc, test_missing_main);
	tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof(bad) /
	    sizeof(bad[0])));
	tcase_add_test(tc, test_password_file_mode);
	tcase_add_test(tc, test_no_delivery);
	tcase_add_test(tc, test_many);
	tcase_add_test(tc, test_loopback_none);
	tcase_add_test(tc, test_recipients);
	tcase_add_test(tc, test_free_null);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(config_suite());
}
