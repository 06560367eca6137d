/*
 * wordset.c - membership in fixed word lists (extraction and the date
 * grammar look up every word of every sentence): each list gets an
 * open-addressing hash set, built on first use under a lock and never
 * changed after; each thread remembers the sets it found.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "wordset.h"

#define SLOTS 1024              /* power of two, over twice any list */

_Static_assert(SLOTS > 2 * MP_WORDSET_WORDS, "room in every set");

struct wset {
	const char *const *list;
	const char *slot[SLOTS];
	unsigned hash[SLOTS];   /* mp_word_hash(slot[k]): most lookups
	                           miss, and a miss needs no strcmp */
	unsigned lens;          /* bit min(length, 31) of every word */
};

static unsigned
len_bit(size_t n)
{
	return 1u << (n < 31 ? n : 31);
}

static struct wset sets[MP_WORDSET_LISTS];
static size_t nsets;
static pthread_mutex_t sets_lock = PTHREAD_MUTEX_INITIALIZER;

unsigned
mp_word_hash(const char *s)
{
	unsigned h = MP_WORD_HASH_INIT;

	while (*s)
		h = mp_word_hash_add(h, (unsigned char)*s++);
	return h;
}

static _Thread_local const struct wset *memo[64];

/* The set of list, built on its first lookup by any thread. */
static const struct wset *
set_find(const char *const *list)
{
	struct wset *h = NULL;
	unsigned wh;
	size_t i, k;

	pthread_mutex_lock(&sets_lock);
	for (i = 0; i < nsets && h == NULL; i++)
		if (sets[i].list == list)
			h = &sets[i];
	if (h == NULL) {
		if (nsets == MP_WORDSET_LISTS)
			abort();
		h = &sets[nsets++];
		h->list = list;
		for (i = 0; list[i] != NULL; i++) {
			if (i == MP_WORDSET_WORDS)
				abort();
			wh = mp_word_hash(list[i]);
			k = wh & (SLOTS - 1);
			while (h->slot[k] != NULL &&
			    strcmp(h->slot[k], list[i]) != 0)
				k = (k + 1) & (SLOTS - 1);
			h->slot[k] = list[i];
			h->hash[k] = wh;
			h->lens |= len_bit(strlen(list[i]));
		}
	}
	pthread_mutex_unlock(&sets_lock);
	return h;
}

/* The set of list, as this thread remembers it (the slow path apart:
 * inline, a lookup costs no call but the one into this file). */
static inline const struct wset *
set_of(const char *const *list)
{
	size_t m = ((size_t)list >> 4) & 63;

	if (memo[m] != NULL && memo[m]->list == list)
		return memo[m];
	return memo[m] = set_find(list);
}

static inline int
probe(const struct wset *h, const char *w, unsigned hash)
{
	size_t k = hash & (SLOTS - 1);

	while (h->slot[k] != NULL) {
		if (h->hash[k] == hash && strcmp(h->slot[k], w) == 0)
			return 1;
		k = (k + 1) & (SLOTS - 1);
	}
	return 0;
}

int
mp_word_in(const char *w, const char *const *list)
{
	return mp_word_in_h(w, mp_word_hash(w), list);
}

int
mp_word_in_h(const char *w, unsigned hash, const char *const *list)
{
	return probe(set_of(list), w, hash);
}

int
mp_word_in_n(const char *w, size_t n, unsigned hash, const char *const *list)
{
	const struct wset *h = set_of(list);

	return (h->lens & len_bit(n)) && probe(h, w, hash);
}
