/*
 * fuzz_template.c - libFuzzer target for the Mustache engine.
 *
 * Input: one flag byte (bit 0: HTML escaping), then the template, a NUL,
 * the text of every partial, a NUL, and JSON data (any of them may be
 * missing). The partial loader returns the same text for every name, so
 * recursion, indentation and delimiter changes inside partials are all
 * reachable. Build (from the repository root):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *     $(pkg-config --cflags json-c) tests/fuzz/fuzz_template.c \
 *     src/template.c src/val.c src/buf.c src/err.c \
 *     $(pkg-config --libs json-c) -o build/fuzz_template
 *   ./build/fuzz_template -max_total_time=120 -max_len=4096 CORPUS_DIR
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "template.h"
#include "val.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
partial(const char *name, void *ctx)
{
	const char *text = ctx;

	(void)name;
	return text != NULL ? mp_xstrdup(text) : NULL;
}

/* Data that exercises every value type when the input brings none. */
static struct mp_val *
default_data(void)
{
	struct mp_val *d = mp_val_map(), *l = mp_val_list(), *m = mp_val_map();

	mp_val_set_str(d, "s", "<b>&\"'</b>");
	mp_val_set_num(d, "n", 1.5);
	mp_val_set_bool(d, "t", 1);
	mp_val_set_bool(d, "f", 0);
	mp_val_set(d, "z", mp_val_null());
	mp_val_set_str(m, "a", "x");
	mp_val_set(m, "self", mp_val_map());
	mp_val_push(l, mp_val_str("one"));
	mp_val_push(l, mp_val_num(2));
	mp_val_push(l, m);
	mp_val_push(l, mp_val_list());
	mp_val_set(d, "l", l);
	return d;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mp_buf out = MP_BUF_INIT;
	struct mp_err e;
	struct mp_val *v = NULL;
	char *copy, *tmpl, *part = NULL, *json = NULL, *z;
	int html;

	if (size == 0)
		return 0;
	html = data[0] & 1;
	copy = mp_xmalloc(size + 1);
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	tmpl = copy;
	z = copy + strlen(copy);
	if (z < copy + size - 1) {
		part = z + 1;
		z = part + strlen(part);
		if (z < copy + size - 1)
			json = z + 1;
	}
	if (json != NULL)
		v = mp_val_from_json(json, strlen(json), &e);
	if (v == NULL)
		v = default_data();
	memset(&e, 0, sizeof(e));
	if (mp_template_render("fuzz", tmpl, v, html, partial, part, &out,
	    &e) != 0 && strncmp(e.msg, "fuzz:", 5) != 0 && part == NULL)
		abort();        /* errors in the top template name it */
	mp_buf_free(&out);
	mp_val_free(v);
	free(copy);
	return 0;
}
