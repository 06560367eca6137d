/*
 * embed.h - the default templates compiled into the binary, so that
 * `magpie init` can write a complete starter configuration anywhere.
 */
#ifndef MP_EMBED_H
#define MP_EMBED_H

struct mp_embedded {
	const char *name;       /* "digest.txt" */
	const char *text;
};

/* Terminated by an entry whose name is NULL. */
extern const struct mp_embedded mp_embedded_templates[];

#endif
