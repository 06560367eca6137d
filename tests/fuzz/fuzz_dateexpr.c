/* fuzz_dateexpr.c - libFuzzer target for the date-expression parser.
 * The first 5 bytes choose the reference (day offset, zone, order). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dateexpr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mp_dateexpr x[16];
	struct mp_dateref ref;
	char due[32];
	size_t n, i;

	if (size < 5)
		return 0;
	/* 2021-01-01 plus up to ~2 years, zones -12h..+14h */
	ref.t = 1609459200 + (int64_t)(data[0] | data[1] << 8) * 1200;
	ref.off = ((long)data[2] % 105 - 48) * 900;
	ref.month_first = data[3] & 1;
	data += 5;
	size -= 5;
	n = mp_dateexpr_scan((const char *)data, size, &ref, x, 16);
	for (i = 0; i < n; i++) {
		if (x[i].start > x[i].end || x[i].end > size)
			__builtin_trap();
		mp_dateexpr_due(&x[i], due, sizeof(due));
		if (i > 0)
			mp_dateexpr_combine(&x[0], &x[i], &ref);
	}
	if (mp_dateexpr_parse((const char *)data, size, &ref, x) > size)
		__builtin_trap();
	return 0;
}
