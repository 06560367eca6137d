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

#endif
