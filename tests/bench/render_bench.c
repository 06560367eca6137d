/*
 * render_bench.c - render (and compose) N personalised digests from the
 * data in a JSON file with magpie's template engine; see render.sh.
 *
 * usage: render_bench TEMPLATE_DIR DATA.json N
 * Prints "NAME N SECONDS BYTES" for: render-parse (the template text
 * parsed for every digest), render (parsed once, mp_template_compile)
 * and render+compose (compiled, then the whole MIME message).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "compose.h"
#include "err.h"
#include "template.h"
#include "val.h"

static const char *zones[] = { "Europe/Warsaw", "Asia/Tokyo",
	"America/Sao_Paulo", "Africa/Johannesburg", "Asia/Kolkata", "UTC" };

struct parts {
	char *header, *footer;
};

static char *
load(const char *dir, const char *name)
{
	char path[4096], *s;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (mp_read_file(path, 1 << 20, &s, NULL) != 0) {
		perror(path);
		exit(1);
	}
	return s;
}

static char *
partial(const char *name, void *ctx)
{
	const struct parts *p = ctx;

	if (strcmp(name, "header") == 0)
		return mp_xstrdup(p->header);
	if (strcmp(name, "footer") == 0)
		return mp_xstrdup(p->footer);
	return NULL;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
personalise(struct mp_val *d, int i)
{
	struct mp_val *who = mp_val_map();
	char s[128];

	snprintf(s, sizeof(s), "Member %d Łukasz-Ωmega", i);
	mp_val_set_str(who, "name", s);
	snprintf(s, sizeof(s), "m%d@example.org", i);
	mp_val_set_str(who, "email", s);
	mp_val_set_str(who, "tz", zones[i % 6]);
	mp_val_set(d, "member", who);
	snprintf(s, sizeof(s), "[IGF MAG] Digest Mon 14 Jun 2021: %d "
	    "messages", 40 + i % 7);
	mp_val_set_str(d, "subject", s);
}

int
main(int argc, char **argv)
{
	struct parts ht, hh;
	struct mp_buf text = MP_BUF_INIT, html = MP_BUF_INIT, mail = MP_BUF_INIT;
	struct mp_err e = { 0 };
	struct mp_val *d;
	struct mp_template *ct, *ch;
	char *json, *tt, *th, id[128], key[128];
	size_t len, bytes = 0;
	double t0, t1;
	int i, n;

	if (argc != 4) {
		fprintf(stderr, "usage: render_bench TEMPLATE_DIR DATA.json N\n");
		return 64;
	}
	n = atoi(argv[3]);
	tt = load(argv[1], "digest.txt");
	th = load(argv[1], "digest.html");
	ht.header = load(argv[1], "header.txt");
	ht.footer = load(argv[1], "footer.txt");
	hh.header = load(argv[1], "header.html");
	hh.footer = load(argv[1], "footer.html");
	if (mp_read_file(argv[2], 16 << 20, &json, &len) != 0) {
		perror(argv[2]);
		return 66;
	}
	d = mp_val_from_json(json, len, &e);
	if (d == NULL) {
		fprintf(stderr, "%s: %s\n", argv[2], e.msg);
		return 65;
	}

	t0 = now();
	for (i = 0; i < n; i++) {
		personalise(d, i);
		mp_buf_reset(&text);
		mp_buf_reset(&html);
		if (mp_template_render("digest.txt", tt, d, 0, partial, &ht,
		    &text, &e) != 0 || mp_template_render("digest.html", th,
		    d, 1, partial, &hh, &html, &e) != 0) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
		bytes += text.len + html.len;
	}
	t1 = now();
	printf("render-parse %d %.6f %zu\n", n, t1 - t0, bytes);

	if (mp_template_compile("digest.txt", tt, 0, partial, &ht, &ct,
	    &e) != 0 || mp_template_compile("digest.html", th, 1, partial,
	    &hh, &ch, &e) != 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	bytes = 0;
	t0 = now();
	for (i = 0; i < n; i++) {
		personalise(d, i);
		mp_buf_reset(&text);
		mp_buf_reset(&html);
		if (mp_template_apply(ct, d, &text, &e) != 0 ||
		    mp_template_apply(ch, d, &html, &e) != 0) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
		bytes += text.len + html.len;
	}
	t1 = now();
	printf("render %d %.6f %zu\n", n, t1 - t0, bytes);

	bytes = 0;
	t0 = now();
	for (i = 0; i < n; i++) {
		struct mp_mail m;
		char name[64], addr[64];

		personalise(d, i);
		mp_buf_reset(&text);
		mp_buf_reset(&html);
		mp_buf_reset(&mail);
		if (mp_template_apply(ct, d, &text, &e) != 0 ||
		    mp_template_apply(ch, d, &html, &e) != 0)
			return 1;
		snprintf(key, sizeof(key), "digest//0/m%d@example.org/1", i);
		mp_compose_message_id(key, "sec@example.org", id, sizeof(id));
		snprintf(name, sizeof(name), "Member %d Łukasz-Ωmega", i);
		snprintf(addr, sizeof(addr), "m%d@example.org", i);
		memset(&m, 0, sizeof(m));
		m.from_name = "IGF MAG Secretariat";
		m.from_addr = "sec@example.org";
		m.to_name = name;
		m.to_addr = addr;
		m.subject = mp_val_get_str(mp_val_get(d, "subject"));
		m.date = 1623657600;
		m.zone = zones[i % 6];
		m.message_id = id;
		m.list_id = "IGF MAG <mag.intgovforum.org>";
		m.kind = "digest";
		m.text = mp_buf_str(&text);
		m.html = mp_buf_str(&html);
		if (mp_compose(&m, &mail, &e) != 0) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
		bytes += mail.len;
	}
	t1 = now();
	printf("render+compose %d %.6f %zu\n", n, t1 - t0, bytes);

	mp_template_free(ct);
	mp_template_free(ch);
	mp_val_free(d);
	mp_buf_free(&text);
	mp_buf_free(&html);
	mp_buf_free(&mail);
	free(json);
	free(tt);
	free(th);
	free(ht.header);
	free(ht.footer);
	free(hh.header);
	free(hh.footer);
	return 0;
}
