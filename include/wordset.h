/*
 * wordset.h - is a word one of a fixed list of words.
 *
 * A list is a static, NULL-terminated array of at most MP_WORDSET_WORDS
 * strings, never changed. Each list is hashed once, on its first lookup
 * (under a lock: any thread may look up), and looked up in constant time
 * after; a process may use at most MP_WORDSET_LISTS lists. Exceeding
 * either is a programming error (abort).
 */
#ifndef MP_WORDSET_H
#define MP_WORDSET_H

#include <stddef.h>

#define MP_WORDSET_WORDS 500
#define MP_WORDSET_LISTS 40

/* 1 when w (compared exactly) is in list, else 0. */
int mp_word_in(const char *w, const char *const *list);
/* The same for a caller that looks one word up in many lists: h is
 * mp_word_hash(w), computed once. */
unsigned mp_word_hash(const char *w);
/* mp_word_hash one byte at a time, for a caller that makes the word:
 * h = MP_WORD_HASH_INIT, then h = mp_word_hash_add(h, c) for each. */
#define MP_WORD_HASH_INIT 2166136261u
static inline unsigned
mp_word_hash_add(unsigned h, unsigned char c)
{
	return (h ^ c) * 16777619u;
}
int mp_word_in_h(const char *w, unsigned h, const char *const *list);
/* The same where the caller knows w's length n too: a word of a length
 * no word of the list has is answered without a probe. */
int mp_word_in_n(const char *w, size_t n, unsigned h,
    const char *const *list);

#endif
