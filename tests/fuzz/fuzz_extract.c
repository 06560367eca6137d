/* fuzz_extract.c - libFuzzer target for action-item extraction over a
 * message's own text (the input, NUL-terminated). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"
#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mp_extract_opts o = { 0, NULL };
	struct mp_action *a;
	struct mp_msg m;
	size_t n, i;
	char *own;

	if (size < 2 || size > 65536)
		return 0;
	own = malloc(size);
	if (own == NULL)
		return 0;
	memcpy(own, data + 1, size - 1);
	own[size - 1] = '\0';
	memset(&m, 0, sizeof(m));
	m.message_id = "fuzz@example.org";
	m.date = 1623654300;
	m.date_off = ((long)data[0] % 105 - 48) * 900;
	m.own = own;
	o.month_first = data[0] & 1;
	if (mp_extract(&m, &o, &a, &n) != 0)
		__builtin_trap();
	for (i = 0; i < n; i++)
		if (a[i].text == NULL || strlen(a[i].due) >= sizeof(a[i].due))
			__builtin_trap();
	mp_actions_free(a, n);
	free(own);
	return 0;
}
