/* buf.c - growable buffers and allocation helpers. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "buf.h"

uint64_t
mp_hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, s, n);
	h = (h ^ w) * 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

static void
oom(void)
{
	fputs("magpie: out of memory\n", stderr);
	abort();
}

void *
mp_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
mp_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
mp_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

char *
mp_xstrdup(const char *s)
{
	return s == NULL ? NULL : mp_xstrndup(s, strlen(s));
}

char *
mp_xstrndup(const char *s, size_t n)
{
	char *p = mp_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Room for extra more bytes and the NUL: doubling, or exactly. */
static void
grow(struct mp_buf *b, size_t extra, int exact)
{
	size_t need = b->len + extra + 1;

	if (need < b->len)
		oom();
	if (need <= b->cap)
		return;
	if (exact) {
		b->cap = need;
	} else {
		if (b->cap == 0)
			b->cap = 64;
		while (b->cap < need)
			b->cap *= 2;
	}
	b->data = mp_xrealloc(b->data, b->cap);
	b->data[b->len] = '\0';
}

void
mp_buf_reserve(struct mp_buf *b, size_t n)
{
	grow(b, n, 1);
}

void
mp_buf_add(struct mp_buf *b, const void *p, size_t n)
{
	if (n >= b->cap - b->len)       /* room for n and the NUL */
		grow(b, n, 0);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
mp_buf_adds(struct mp_buf *b, const char *s)
{
	mp_buf_add(b, s, strlen(s));
}

void
mp_buf_addc(struct mp_buf *b, char c)
{
	if (b->len + 1 >= b->cap)
		grow(b, 1, 0);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void
mp_buf_printf(struct mp_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	grow(b, (size_t)n, 0);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
mp_buf_reset(struct mp_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

char *
mp_buf_detach(struct mp_buf *b)
{
	char *s = b->data;

	if (s == NULL)
		s = mp_xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

const char *
mp_buf_str(const struct mp_buf *b)
{
	return b->data != NULL ? b->data : "";
}

void
mp_buf_free(struct mp_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int
mp_read_file(const char *path, size_t max, char **out, size_t *len)
{
	return mp_read_file_time(path, max, out, len, NULL);
}

int
mp_read_file_time(const char *path, size_t max, char **out, size_t *len,
    int64_t *mtime)
{
	struct mp_buf b = MP_BUF_INIT;
	struct stat st;
	size_t want;
	ssize_t r;
	int fd;

	*out = NULL;
	if (len != NULL)
		*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		goto fail;
	/* A regular file is read into a buffer of its size, to its size:
	 * usually one read call (a file that grows meanwhile is read as it
	 * was); anything else to its end, 64 KB at a time. */
	want = S_ISREG(st.st_mode) ? (size_t)st.st_size : 0;
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	for (;;) {
		if (want > 0 && b.len == want)
			break;
		grow(&b, want > 0 ? want - b.len : 65536, want > 0);
		r = read(fd, b.data + b.len, want > 0 ? want - b.len : 65536);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		if (b.len + (size_t)r > max) {
			errno = EFBIG;
			goto fail;
		}
		b.len += (size_t)r;
	}
	close(fd);
	if (len != NULL)
		*len = b.len;
	if (mtime != NULL)
		*mtime = (int64_t)st.st_mtime;
	if (b.data != NULL)
		b.data[b.len] = '\0';
	*out = mp_buf_detach(&b);
	return 0;
fail:
	{
		int saved = errno;

		close(fd);
		mp_buf_free(&b);
		errno = saved;
	}
	return -1;
}

void
mp_buf_json_str(struct mp_buf *b, const char *s)
{
	const unsigned char *p;

	if (s == NULL) {
		mp_buf_adds(b, "null");
		return;
	}
	mp_buf_addc(b, '"');
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': mp_buf_adds(b, "\\\""); break;
		case '\\': mp_buf_adds(b, "\\\\"); break;
		case '\n': mp_buf_adds(b, "\\n"); break;
		case '\r': mp_buf_adds(b, "\\r"); break;
		case '\t': mp_buf_adds(b, "\\t"); break;
		default:
			if (*p < 0x20)
				mp_buf_printf(b, "\\u%04x", *p);
			else
				mp_buf_addc(b, (char)*p);
		}
	}
	mp_buf_addc(b, '"');
}
