/*
 * ascii.h - character classes of the C locale, inline.
 *
 * magpie never calls setlocale(), so these are what <ctype.h> answers,
 * without a call and a table lookup per byte: for loops that see every
 * byte of every sentence.
 */
#ifndef MP_ASCII_H
#define MP_ASCII_H

static inline int
mp_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline int
mp_is_upper(unsigned char c)
{
	return c >= 'A' && c <= 'Z';
}

static inline int
mp_is_alpha(unsigned char c)
{
	return mp_is_upper(c) || (c >= 'a' && c <= 'z');
}

static inline int
mp_is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* The 256 entries of a byte table, F(0) to F(255), for a static const
 * initialiser: F is a macro giving a constant expression of a byte. */
#define MP_BYTE_T4(F, c)	F(c), F((c) + 1), F((c) + 2), F((c) + 3)
#define MP_BYTE_T16(F, c)	MP_BYTE_T4(F, c), MP_BYTE_T4(F, (c) + 4), \
	MP_BYTE_T4(F, (c) + 8), MP_BYTE_T4(F, (c) + 12)
#define MP_BYTE_T64(F, c)	MP_BYTE_T16(F, c), MP_BYTE_T16(F, (c) + 16), \
	MP_BYTE_T16(F, (c) + 32), MP_BYTE_T16(F, (c) + 48)
#define MP_BYTE_TABLE(F)	MP_BYTE_T64(F, 0), MP_BYTE_T64(F, 64), \
	MP_BYTE_T64(F, 128), MP_BYTE_T64(F, 192)

#endif
