/* check_template.c - Mustache rendering: the spec's required modules,
 * file partials, syntax errors and the check command's diagnostics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "err.h"
#include "template.h"
#include "testutil.h"
#include "val.h"

/* ---- the Mustache spec (shared/testdata/mustache-spec) ---- */

static const char *spec_files[] = {"comments", "delimiters", "interpolation",
                                   "inverted", "partials",   "sections"};

/* Numbers of tests in the spec v1.4 files, so a truncated file fails. */
static const int spec_counts[] = {12, 14, 42, 22, 12, 34};

static char *
spec_partial(const char *name, void *ctx)
{
	const char *s = mp_val_get_str(mp_val_get(ctx, name));

	return s != NULL ? strdup(s) : NULL;
}

START_TEST(test_spec)
{
	const char *shared = tu_shared(), *file = spec_files[_i];
	const struct mp_val *tests, *t;
	struct mp_val *spec;
	struct mp_err e;
	char path[4200], *text;
	size_t len, i, n;
	int passed = 0, failed = 0;

	if (shared == NULL) {
		printf("spec %s: skipped (no shared/ directory)\n", file);
		return;
	}
	snprintf(path, sizeof(path), "%s/testdata/mustache-spec/%s.json",
	         shared, file);
	ck_assert_msg(mp_read_file(path, 1 << 20, &text, &len) == 0,
	              "cannot read %s", path);
	spec = mp_val_from_json(text, len, &e);
	free(text);
	ck_assert_msg(spec != NULL, "%s: %s", path, e.msg);
	tests = mp_val_get(spec, "tests");
	ck_assert_int_eq(mp_val_type(tests), MP_V_LIST);
	n = mp_val_len(tests);
	for (i = 0; i < n; i++) {
		struct mp_buf out = MP_BUF_INIT;
		const char *expected;
		int rc;

		t = mp_val_at(tests, i);
		expected = mp_val_get_str(mp_val_get(t, "expected"));
		ck_assert_ptr_nonnull(expected);
		mp_err_clear(&e);
		rc = mp_template_render(
		    mp_val_get_str(mp_val_get(t, "name")),
		    mp_val_get_str(mp_val_get(t, "template")),
		    mp_val_get(t, "data"), 1, spec_partial,
		    (void *)mp_val_get(t, "partials"), &out, &e);
		if (rc == 0 && strcmp(mp_buf_str(&out), expected) == 0) {
			passed++;
		} else {
			failed++;
			fprintf(stderr,
			        "spec %s: FAILED '%s': rc %d (%s) "
			        "got [%s] expected [%s]\n",
			        file, mp_val_get_str(mp_val_get(t, "name")), rc,
			        rc == 0 ? "" : e.msg, mp_buf_str(&out),
			        expected);
		}
		mp_buf_free(&out);
	}
	printf("spec %s: %d passed, %d failed\n", file, passed, failed);
	mp_val_free(spec);
	ck_assert_int_eq(failed, 0);
	ck_assert_int_eq(passed, spec_counts[_i]);
}
END_TEST

/* ---- helpers ---- */

/* Render text with data given as JSON; returns the output (freed by the
 * caller) or NULL with e filled. */
static char *
render_json(const char *tmpl, const char *json, int html, mp_partial_fn fn,
            void *ctx, struct mp_err *e)
{
	struct mp_buf out = MP_BUF_INIT;
	struct mp_val *data = NULL;
	int rc;

	if (json != NULL) {
		data = mp_val_from_json(json, strlen(json), e);
		ck_assert_msg(data != NULL, "bad test JSON: %s", e->msg);
	}
	rc = mp_template_render("t", tmpl, data, html, fn, ctx, &out, e);
	mp_val_free(data);
	if (rc < 0) {
		ck_assert_int_eq(out.len, 0);
		mp_buf_free(&out);
		return NULL;
	}
	return mp_buf_detach(&out);
}

static void
assert_render(const char *tmpl, const char *json, int html,
              const char *expected)
{
	struct mp_err e;
	char *s = render_json(tmpl, json, html, NULL, NULL, &e);

	ck_assert_msg(s != NULL, "render failed: %s", e.msg);
	ck_assert_str_eq(s, expected);
	free(s);
}

static void
assert_error(const char *tmpl, const char *msg)
{
	struct mp_err e;
	char *s;

	mp_err_clear(&e);
	s = render_json(tmpl, "{\"a\":1}", 0, NULL, NULL, &e);
	ck_assert_msg(s == NULL, "no error for [%s]: got [%s]", tmpl, s);
	ck_assert_str_eq(e.msg, msg);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
}

/* ---- rendering without shared/ ---- */

START_TEST(test_text_does_not_escape)
{
	assert_render("{{x}}|{{{x}}}|{{&x}}", "{\"x\":\"a<b> & \\\"c\\\"\"}", 0,
	              "a<b> & \"c\"|a<b> & \"c\"|a<b> & \"c\"");
	assert_render("{{x}}|{{{x}}}", "{\"x\":\"a<b> & \\\"c\\\" 'd'\"}", 1,
	              "a&lt;b&gt; &amp; &quot;c&quot; 'd'|a<b> & \"c\" 'd'");
}
END_TEST

START_TEST(test_basics)
{
	assert_render("Hi {{name}}, {{#items}}[{{.}}]{{/items}}{{^items}}"
	              "none{{/items}}!",
	              "{\"name\":\"Ann\",\"items\":[\"a\",\"b\"]}", 0,
	              "Hi Ann, [a][b]!");
	assert_render("{{^items}}none{{/items}}", "{\"items\":[]}", 0, "none");
	assert_render("{{#m}}{{k}}{{/m}}{{#m}}{{/m}}", "{\"m\":{\"k\":7}}", 0,
	              "7");
	/* Empty strings are falsy, numbers (even 0) and maps truthy. */
	assert_render("{{#s}}S{{/s}}{{^s}}s{{/s}}{{#z}}Z{{/z}}{{#m}}M{{/m}}",
	              "{\"s\":\"\",\"z\":0,\"m\":{}}", 0, "sZM");
	assert_render("{{b}} {{f}} [{{n}}] [{{l}}] [{{m}}]",
	              "{\"b\":true,\"f\":false,\"n\":null,\"l\":[1],\"m\":{}}",
	              0, "true false [] [] []");
	/* No data at all: everything misses. */
	assert_render("[{{x}}{{#x}}y{{/x}}]", NULL, 0, "[]");
	/* Standalone section lines vanish; CRLF is kept elsewhere. */
	assert_render("a\r\n  {{#x}}  \r\nb\r\n{{/x}}\r\nc", "{\"x\":1}", 0,
	              "a\r\nb\r\nc");
}
END_TEST

START_TEST(test_numbers)
{
	assert_render("{{a}} {{b}} {{c}} {{d}} {{e}} {{f}} {{g}} {{h}}",
	              "{\"a\":85,\"b\":1.21,\"c\":-3,\"d\":0.1,\"e\":2.5,"
	              "\"f\":1e20,\"g\":-0.0,\"h\":1234567890123}",
	              0, "85 1.21 -3 0.1 2.5 1e+20 0 1234567890123");
	assert_render("{{x}}", "{\"x\":0.30000000000000004}", 0,
	              "0.30000000000000004");
}
END_TEST

START_TEST(test_syntax_errors)
{
	assert_error("x\n\n{{#a}}\nfoo\n", "t:3: unclosed section 'a'");
	assert_error("{{#a}}\n{{#b}}\n{{/b}}", "t:1: unclosed section 'a'");
	assert_error(
	    "{{#a}}\n{{/b}}",
	    "t:2: mismatched close 'b' for section 'a' opened on line 1");
	assert_error("ok\n{{/a}}", "t:2: close of section 'a' that is not "
	                           "open");
	assert_error("ok\nfine {{a}}\n{{oops\n\n", "t:3: unclosed tag");
	assert_error("{{{a}}", "t:1: unclosed tag");
	assert_error("{{!\n\n}}\n{{ }}", "t:4: empty tag");
	assert_error("{{=<% %>}}", "t:1: unclosed tag");
	assert_error("{{=<%=}}", "t:1: invalid delimiters in set-delimiter "
	                         "tag");
	assert_error("{{=a b c=}}", "t:1: invalid delimiters in "
	                            "set-delimiter tag");
	/* The error comes before any output, even after good text. */
	assert_error("{{a}} lots of text {{#a}}", "t:1: unclosed section 'a'");
	/* Line numbers count newlines inside tags too. */
	assert_error("{{!\nmulti\nline}}\n<%x%>{{=<% %>=}}\n<%#s%>",
	             "t:5: unclosed section 's'");
}
END_TEST

static char *
self_partial(const char *name, void *ctx)
{
	(void)ctx;
	if (strcmp(name, "self") == 0)
		return strdup("x{{>self}}");
	if (strcmp(name, "bad") == 0)
		return strdup("\n{{#open}}");
	/* e0 includes e1 twice, e1 e2 twice, ... e60 is "x": 2^60 x's */
	if (name[0] == 'e' && name[1] >= '0' && name[1] <= '9') {
		char buf[64];
		int k = atoi(name + 1);

		if (k >= 60)
			return strdup("x");
		snprintf(buf, sizeof(buf), "{{>e%d}}{{>e%d}}", k + 1, k + 1);
		return strdup(buf);
	}
	if (strcmp(name, "big") == 0)
		return strdup("{{#l}}{{#l}}{{#l}}{{#l}}{{s}}{{/l}}{{/l}}{{/l}}"
		    "{{/l}}");
	if (strcmp(name, "list") == 0)
		return strdup("<{{#kids}}{{>list}}{{/kids}}>");
	return NULL;
}

START_TEST(test_partials)
{
	struct mp_err e;
	char *s;

	s = render_json("a{{>self}}b", NULL, 0, self_partial, NULL, &e);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(e.msg, "self:1: partial recursion too deep");

	s = render_json("a\n{{>bad}}", NULL, 0, self_partial, NULL, &e);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(e.msg, "bad:2: unclosed section 'open'");

	/* Data-driven recursion is fine while it stays under the limit. */
	s = render_json("{{>list}}",
	                "{\"kids\":[{\"kids\":[{\"kids\":[]}]},{\"kids\":[]}]}",
	                0, self_partial, NULL, &e);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "<<<>><>>");
	free(s);

	/* Partials that each include the next twice would take 2^60 steps:
	 * the render stops at its budget instead of hanging. */
	s = render_json("a\n{{>e0}}", NULL, 0, self_partial, NULL, &e);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(e.msg, ":1: template too costly to render "
	    "(recursive partials?)") != NULL && e.msg[0] == 'e', "%s", e.msg);
	/* So does output that would grow past 16 MiB: 100^4 copies of a
	 * 10 KiB string. */
	{
		struct mp_buf json = MP_BUF_INIT;
		int i;

		mp_buf_adds(&json, "{\"s\":\"");
		for (i = 0; i < 10240; i++)
			mp_buf_addc(&json, 'x');
		mp_buf_adds(&json, "\",\"l\":[");
		for (i = 0; i < 100; i++)
			mp_buf_adds(&json, i ? ",1" : "1");
		mp_buf_adds(&json, "]}");
		s = render_json("{{>big}}", json.data, 0, self_partial, NULL,
		    &e);
		ck_assert_ptr_null(s);
		ck_assert_str_eq(e.msg, "big:1: template too costly to render "
		    "(recursive partials?)");
		mp_buf_free(&json);
	}

	/* No loader: partials are empty. */
	s = render_json("[{{>list}}]", NULL, 0, NULL, NULL, &e);
	ck_assert_str_eq(s, "[]");
	free(s);
}
END_TEST

/* ---- files ---- */

static char *
path_in(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	ck_assert_ptr_nonnull(p);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static void
write_in(const char *dir, const char *name, const char *text)
{
	char *p = path_in(dir, name);

	tu_write(p, text);
	free(p);
}

static char *
render_path(const char *dir, const char *name, const char *json,
            struct mp_err *e)
{
	struct mp_buf out = MP_BUF_INIT;
	struct mp_val *data = mp_val_from_json(json, strlen(json), e);
	char *p = path_in(dir, name);
	int rc;

	ck_assert_ptr_nonnull(data);
	mp_buf_adds(&out, "pre:");
	rc = mp_template_render_file(p, data, &out, e);
	free(p);
	mp_val_free(data);
	if (rc < 0) {
		ck_assert_str_eq(mp_buf_str(&out), "pre:");
		mp_buf_free(&out);
		return NULL;
	}
	return mp_buf_detach(&out);
}

START_TEST(test_render_file)
{
	char *dir = tu_tmpdir(), *s, *sub, *x;
	const char *data = "{\"title\":\"A & B\",\"x\":\"<i>\"}";
	struct mp_err e;

	write_in(dir, "digest.html",
	         "{{>header}}|{{x}}|{{>footer}}|"
	         "{{>../up}}|{{>sub/inner}}\n");
	write_in(dir, "header.html", "<h1>{{title}}</h1>");
	write_in(dir, "header", "plain {{title}}");
	write_in(dir, "footer", "foot {{x}}");
	write_in(dir, "digest.txt", "{{>header}}|{{x}}\n");
	write_in(dir, "digest.de.txt", "{{>header}}\n  {{>footer}}\n");
	write_in(dir, "header.de.txt", "Kopf\n{{title}}\n");
	sub = path_in(dir, "sub");
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	write_in(sub, "inner", "INNER");
	write_in(sub, "inner.html", "INNER");

	s = render_path(dir, "digest.html", data, &e);
	ck_assert_msg(s != NULL, "%s", e.msg);
	ck_assert_str_eq(s, "pre:<h1>A &amp; B</h1>|&lt;i&gt;|foot &lt;i&gt;"
	                    "||\n");
	free(s);

	s = render_path(dir, "digest.txt", data, &e);
	ck_assert_msg(s != NULL, "%s", e.msg);
	ck_assert_str_eq(s, "pre:plain A & B|<i>\n");
	free(s);

	/* Everything from the first dot is the extension; standalone
	 * partials are indented. */
	s = render_path(dir, "digest.de.txt", data, &e);
	ck_assert_msg(s != NULL, "%s", e.msg);
	ck_assert_str_eq(s, "pre:Kopf\nA & B\n  foot <i>");
	free(s);

	s = render_path(dir, "missing.txt", data, &e);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(e.code, MP_EX_NOINPUT);
	ck_assert_ptr_nonnull(strstr(e.msg, "missing.txt: No such file"));

	write_in(dir, "broken.txt", "ok\n{{>bad}}\n");
	write_in(dir, "bad.txt", "\n\n{{#x}}{{/y}}");
	s = render_path(dir, "broken.txt", data, &e);
	ck_assert_ptr_null(s);
	x = path_in(dir, "bad.txt");
	ck_assert_ptr_nonnull(strstr(e.msg, x));
	ck_assert_ptr_nonnull(strstr(e.msg,
	                             "bad.txt:3: mismatched close "
	                             "'y' for section 'x' opened on line 3"));
	free(x);

	free(sub);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_render_file_too_big)
{
	char *dir = tu_tmpdir(), *big, *s;
	struct mp_err e;

	big = malloc(1024 * 1024 + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 1024 * 1024 + 1);
	big[1024 * 1024 + 1] = '\0';
	write_in(dir, "big.txt", big);
	free(big);
	s = render_path(dir, "big.txt", "{}", &e);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	ck_assert_ptr_nonnull(strstr(e.msg, "template larger than"));
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_check)
{
	char *dir = tu_tmpdir(), *p, want[4096];
	struct mp_diag d = {NULL, 0, 0};
	int n;

	write_in(dir, "main.html",
	         "{{>head}}\n{{#a}}\n{{>nope}}\n{{/a}}\n"
	         "{{>bad}}{{>bad}}\n{{>../etc}}\n");
	write_in(dir, "head.html", "{{>nope2}}{{>main}}");
	write_in(dir, "bad", "ok\n\n{{#open}}\n");
	p = path_in(dir, "main.html");
	n = mp_template_check(p, &d);
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(d.n, 4);
	snprintf(want, sizeof(want),
	         "%s/head.html:1: unknown partial "
	         "'nope2'",
	         dir);
	ck_assert_str_eq(d.lines[0], want);
	snprintf(want, sizeof(want), "%s/main.html:3: unknown partial 'nope'",
	         dir);
	ck_assert_str_eq(d.lines[1], want);
	/* bad exists but is broken: reported once, not as unknown. */
	snprintf(want, sizeof(want), "%s/bad:3: unclosed section 'open'", dir);
	ck_assert_str_eq(d.lines[2], want);
	snprintf(want, sizeof(want),
	         "%s/main.html:6: unknown partial "
	         "'../etc'",
	         dir);
	ck_assert_str_eq(d.lines[3], want);
	mp_diag_free(&d);
	free(p);

	/* A clean template has no problems. */
	write_in(dir, "ok.txt", "{{#a}}{{>head}}{{/a}}");
	write_in(dir, "head.txt", "{{b}}");
	p = path_in(dir, "ok.txt");
	ck_assert_int_eq(mp_template_check(p, &d), 0);
	ck_assert_int_eq(d.n, 0);
	free(p);

	/* The main file's own syntax error, and a missing file. */
	write_in(dir, "err.txt", "a\n{{x");
	p = path_in(dir, "err.txt");
	ck_assert_int_eq(mp_template_check(p, &d), 1);
	snprintf(want, sizeof(want), "%s:2: unclosed tag", p);
	ck_assert_str_eq(d.lines[0], want);
	mp_diag_free(&d);
	free(p);
	p = path_in(dir, "absent.txt");
	ck_assert_int_eq(mp_template_check(p, &d), 1);
	snprintf(want, sizeof(want), "%s: No such file or directory", p);
	ck_assert_str_eq(d.lines[0], want);
	mp_diag_free(&d);
	free(p);

	tu_rmtree(dir);
	free(dir);
}
END_TEST

static int loads;

static char *
counting_partial(const char *name, void *ctx)
{
	(void)ctx;
	loads++;
	if (strcmp(name, "p") == 0)
		return strdup("<{{x}}>");
	return NULL;
}

/* Parsed once, rendered many times; partials loaded once; an error
 * leaves out as it was. */
START_TEST(test_compiled)
{
	struct mp_template *t = NULL;
	struct mp_buf out = MP_BUF_INIT;
	struct mp_err e;
	struct mp_val *d = mp_val_map();
	char *dir = tu_tmpdir();
	int i;

	loads = 0;
	ck_assert_int_eq(mp_template_compile("t", "{{x}}{{>p}}\n{{>p}}", 1,
	    counting_partial, NULL, &t, &e), 0);
	for (i = 0; i < 3; i++) {
		mp_val_set_str(d, "x", i == 1 ? "&" : "a");
		mp_buf_reset(&out);
		ck_assert_int_eq(mp_template_apply(t, d, &out, &e), 0);
		ck_assert_str_eq(mp_buf_str(&out), i == 1 ?
		    "&amp;<&amp;>\n<&amp;>" : "a<a>\n<a>");
	}
	ck_assert_int_eq(loads, 1);
	mp_template_free(t);
	mp_template_free(NULL);

	ck_assert_int_eq(mp_template_compile("bad", "x\n{{#a}}", 0, NULL,
	    NULL, &t, &e), -1);
	ck_assert_ptr_null(t);
	ck_assert_str_eq(e.msg, "bad:2: unclosed section 'a'");

	/* from a file, partials from its folder; failures keep out */
	write_in(dir, "m.html", "{{x}}{{>f}}");
	write_in(dir, "f.html", "[{{>g}}]");
	write_in(dir, "g.html", "{{#x}}");
	ck_assert_int_eq(mp_template_load(dir, &t, &e), -1);
	ck_assert_ptr_null(t);
	{
		char *p = path_in(dir, "m.html");

		ck_assert_int_eq(mp_template_load(p, &t, &e), 0);
		free(p);
	}
	mp_buf_reset(&out);
	mp_buf_adds(&out, "kept");
	ck_assert_int_eq(mp_template_apply(t, d, &out, &e), -1);
	ck_assert_msg(strstr(e.msg, "g.html:1: unclosed section 'x'") !=
	    NULL, "%s", e.msg);
	ck_assert_str_eq(mp_buf_str(&out), "kept");
	write_in(dir, "g.html", "ok");
	mp_template_free(t);
	{
		char *p = path_in(dir, "m.html");

		ck_assert_int_eq(mp_template_load(p, &t, &e), 0);
		free(p);
	}
	ck_assert_int_eq(mp_template_apply(t, d, &out, &e), 0);
	ck_assert_str_eq(mp_buf_str(&out), "kepta[ok]");
	mp_template_free(t);
	mp_buf_free(&out);
	mp_val_free(d);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* Every template magpie ships parses and names only partials it has. */
START_TEST(test_shipped_templates)
{
	static const char *const names[] = { "digest", "reminder", "adhoc",
		"changed", "cancelled" };
	struct mp_diag d = { 0 };
	char path[4096];
	size_t i, k;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (k = 0; k < 2; k++) {
			snprintf(path, sizeof(path), "%s/etc/templates/%s%s",
			    tu_srcdir(), names[i], k ? ".html" : ".txt");
			ck_assert_msg(mp_template_check(path, &d) == 0, "%s",
			    d.n ? d.lines[0] : path);
		}
	mp_diag_free(&d);
}
END_TEST

static Suite *
template_suite(void)
{
	Suite *s = suite_create("template");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_spec, 0,
	                    (int)(sizeof(spec_files) / sizeof(spec_files[0])));
	tcase_add_test(tc, test_text_does_not_escape);
	tcase_add_test(tc, test_basics);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_syntax_errors);
	tcase_add_test(tc, test_partials);
	tcase_add_test(tc, test_render_file);
	tcase_add_test(tc, test_render_file_too_big);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_shipped_templates);
	tcase_add_test(tc, test_compiled);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(template_suite());
}
