/*
 * extract.c - action items from a message's own text.
 *
 * The own text (quotes, signatures and footers are already split off by
 * mime.c) is cut into sentences: blank lines, list items and lines ending
 * in ':' start a new block, and a block splits after '.', '!' or '?'
 * unless an abbreviation or number ends there. Each sentence is read as
 * a small grammar rather than a bag of keywords:
 *
 *   request   someone is asked to act: "please", "could you", imperative
 *             verbs, "you have to", "X are kindly asked to", "we would be
 *             grateful if X could", action-list lines ("Wim to send"), a
 *             named person's action ("Luis will circulate");
 *   deadline  something is due, closes or will happen by a date, without
 *             asking the reader: "due", "deadline", "close", "by <date>",
 *             or a future statement with a date;
 *   event     a meeting, call, session... at a future date, or any future
 *             activity with a clock time.
 *
 * Dates come from dateexpr.c, resolved against the message's Date and its
 * zone. Past dates, vague spans, "after/since <date>", cancellations,
 * questions that only ask for information and undated statements give no
 * item; the assignee is a person (vocative, greeting or subject), never a
 * group.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ascii.h"
#include "buf.h"
#include "config.h"
#include "dateexpr.h"
#include "datetime.h"
#include "extract.h"
#include "mime.h"
#include "wordset.h"

#define MAX_WORDS 400
#define MAX_DATES 24

const char *
mp_action_kind_name(enum mp_action_kind k)
{
	switch (k) {
	case MP_ACT_DEADLINE: return "deadline";
	case MP_ACT_REQUEST: return "request";
	case MP_ACT_EVENT: return "event";
	}
	return "?";
}

/* ---- word lists ---- */

/* Base verbs that open an imperative or follow "X to". */
static const char *const verbs[] = { "send", "share", "add", "reply",
	"respond", "let", "tell", "confirm", "review", "submit", "register",
	"fill", "complete", "read", "check", "make", "take", "join", "contact",
	"forward", "provide", "write", "update", "upload", "sign", "mark",
	"remember", "keep", "bring", "prepare", "circulate", "return", "do",
	"use", "include", "consider", "indicate", "suggest", "give", "ensure",
	"follow", "look", "save", "visit", "click", "go", "log", "attend",
	"rsvp", "email", "ping", "post", "comment", "vote", "answer",
	"nominate", "propose", "volunteer", "draft", "present", "organise",
	"organize", "coordinate", "collect", "compile", "schedule", "arrange",
	"book", "reserve", "double", "verify", "inform", "notify", "remind",
	"invite", "reach", "translate", "summarise", "summarize", "finalise",
	"finalize", "approve", "agree", "decide", "discuss", "identify",
	"select", "choose", "pick", "put", "set", "fix", "edit", "revise",
	"correct", "get", "feed", "contribute", "flag", "raise", "run",
	"host", "moderate", "lead", "facilitate", "liaise", "clarify",
	"explain", "assess", "evaluate", "rate", "merge", "create", "report",
	"publish", "download", "test", "try", "hold", "convene", "record",
	"allocate", "assign", "distribute", "encourage", "promote", "spread",
	"consult", "engage", "ask", "find", "draw", "list", "write",
	"advise", "help", "block", "print", "fill", "tick", "sort", "map",
	"coordinate", "study", "think", "reflect", "look", "come", "note",
	"please", "repeat", "resend", "extend", "open", "announce", "reconsider",
	"investigate", "approach", "nominate", "recommend", "endorse", "sign",
	"specify", "describe", "outline", "highlight", "prioritise",
	"prioritize", "state", "introduce", "welcome", "accept", "decline",
	"reject", "upload", "fill", "cover", "shorten", "expand", "propose",
	"tell", "let", "track", "monitor", "manage", "handle", "contact",
	"reach", "double", "proofread", "check", "take", NULL };

/* Imperatives that only inform ("Find attached", "See below"). */
static const char *const not_imperative[] = { "find", "see", "note",
	"accept", "excuse", "forgive", "feel", "be", "have", "enjoy", "thank",
	"welcome", "sorry", "disregard", "ignore", "hesitate", "bear", "keep",
	"stay", "also", "kindly", "just", "do", "rest", NULL };

/* What may follow an imperative verb: objects, particles, clauses. */
static const char *const imp_follow[] = { "the", "a", "an", "your", "this",
	"these", "that", "those", "it", "them", "me", "us", "him", "her",
	"to", "in", "up", "out", "back", "by", "all", "any", "some", "my",
	"our", "his", "their", "at", "with", "for", "whether", "if", "what",
	"how", "when", "which", "one", "both", "each", "everything",
	"anything", "yourself", "yourselves", "down", "over", "off",
	"through", "about", "into", "please", "so", "as", "now", "asap",
	"directly", "again", "also", "soon", "today", "tomorrow", "before",
	"two", "three", "who", "where", "check", "know", "comments", "names",
	"notes", "feedback", "input", "inputs", "proposals", "slides", NULL };

/* Verbs that are as often nouns ("Volunteer names are due"): they open an
 * imperative only before an object word, never before a plural noun. */
static const char *const noun_verbs[] = { "volunteer", "comment", "review",
	"update", "report", "draft", "schedule", "record", "list", "answer",
	"vote", "post", "mark", "help", "test", "host", "lead", "map",
	"block", "return", "hold", "reply", "email", "ping", "flag", "present",
	"sort", "study", "feed", "rate", "set", "book", "plan", "check", NULL };

/* Nouns that make an event noun a modifier ("workshop evaluation
 * results", "meeting notes"). */
static const char *const compound_heads[] = { "evaluation", "evaluations",
	"results", "notes", "proposal", "proposals", "report", "reports",
	"summary", "materials", "minutes", "slides", "link", "links",
	"recording", "recordings", "transcript", "transcripts", "guide",
	"organisers", "organizers", "participants", "page", "form", "template",
	"series", "format", "outcomes", "outcome", "documents", "document",
	"description", "descriptions", "programme", "program", "submissions",
	"application", "applications", "registration", "request", "requests",
	"chat", "invitation", "invite", "details", "logistics", NULL };

/* Words that cannot be (the start of) a person's name. */
static const char *const not_names[] = { "the", "a", "an", "this", "that",
	"these", "those", "our", "your", "their", "my", "his", "her", "its",
	"we", "i", "you", "they", "he", "she", "it", "there", "here", "also",
	"so", "however", "then", "now", "thanks", "thank", "again", "finally",
	"first", "second", "third", "lastly", "meanwhile", "otherwise", "yes",
	"no", "ok", "okay", "well", "sorry", "hi", "hello", "hey", "dear",
	"please", "additionally", "moreover", "in", "on", "for", "as", "if",
	"by", "besides", "regarding", "separately", "alternatively", "indeed",
	"actually", "similarly", "anyway", "all", "everyone", "everybody",
	"anyone", "someone", "nobody", "each", "every", "both", "some", "any",
	"one", "action", "note", "ps", "p", "and", "or", "but", "with", "after",
	"before", "once", "when", "while", "since", "until", "just", "kindly",
	"again", "sure", "great", "good", "happy", "welcome", "friends",
	"colleagues", "team", "folks", "members", "secretariat", "chair",
	"chairs", "mag", "igf", "group", "groups", "coordinators", "organisers",
	"organizers", "speakers", "participants", "everyone", "else", "who",
	"what", "which", "why", "how", "where", "best", "regards", "cheers",
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
	"sunday", "january", "february", "march", "april", "may", "june",
	"july", "august", "september", "october", "november", "december",
	"today", "tomorrow", "tonight", "next", "last", "following", "further",
	"given", "overall", "perhaps", "maybe", "unfortunately", "fortunately",
	"personally", "honestly", "btw", "fyi", "update", "reminder",
	"important", "urgent", "agenda", "following", "coalitions",
	"contributions", "submissions", "comments", "proposals", "volunteers",
	"hub", "hubs", "nris", "nri", "dc", "dcs", "wg", "bpf", "pn", "un",
	"staff", "host", "hosts", "board", "committee", "chairperson",
	"facilitators", "co", "mentors", "newcomers", "observers", NULL };

/* Group words: a phrase containing one addresses many. */
static const char *const group_words[] = { "members", "member", "everyone",
	"everybody", "all", "team", "teams", "colleagues", "friends", "folks",
	"coordinators", "organisers", "organizers", "secretariat", "chair",
	"chairs", "group", "groups", "else", "mag", "igf", "participants",
	"speakers", "authors", "reviewers", "evaluators", "coalition",
	"coalitions", "nris", "hubs", "hub", "committee", "board", "staff",
	"community", "delegates", "observers", "volunteers", "facilitators",
	"colleague", "networks", "stakeholders", "those", "anyone", "people",
	"who", "representatives", "partners", "sponsors", "panelists",
	"panellists", "moderators", "rapporteurs", "mentors", "ones",
	"region", "regions", "wg", "bpf", "dc", "dcs", "pn", "you", "we", NULL };

static const char *const event_nouns[] = { "meeting", "meetings", "call",
	"calls", "session", "sessions", "consultation", "consultations",
	"briefing", "briefings", "webinar", "webinars", "workshop", "dialogue",
	"dialog", "conference", "hearing", "retreat", "summit", "debrief",
	"kickoff", "panel", "roundtable", "townhall", "seminar",
	"teleconference", "telecon", "telco", "hackathon", "training",
	"launch", "gathering", "plenary", "day", "meetup", "ceremony",
	"reception", "celebration", "hangout", "presentation", "demo",
	"tutorial", "assembly", NULL };

static const char *const event_verbs[] = { "meet", "meets", "convene",
	"convenes", "gather", "scheduled", "held", "hold", "holding", "hosting",
	"host", "hosts", "kick", "place", "starts", "start", "begins", "begin",
	"join", "talk", NULL };

static const char *const deadline_words[] = { "due", "deadline",
	"deadlines", "close", "closes", "closing", "expire", "expires",
	"cutoff", "cut", "latest", NULL };

static const char *const future_words[] = { "will", "shall", "ll", "must",
	"should", "going", "planned", "expected", "plan", "intend", "aim",
	"need", "needs", "scheduled", "upcoming", NULL };

static const char *const past_words[] = { "attended", "met", "was", "were",
	"had", "did", "took", "joined", "went", "discussed", "agreed",
	"received", "finished", "happened", "spoke", "said", "gave",
	"mentioned", "decided", "yesterday", "ago", "last", "participated",
	"concluded", "ended", "incorporated", "completed", "submitted",
	"presented", "shared", NULL };

static const char *const cancel_words[] = { "cancelled", "canceled",
	"cancel", "cancelling", "postponed", "postpone", "rescheduled",
	"unavailable", "ooo", NULL };

static const char *const abbrevs[] = { "e.g", "i.e", "etc", "mr", "ms",
	"mrs", "dr", "prof", "no", "nos", "approx", "vs", "st", "jan", "feb",
	"mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
	"mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat",
	"sun", "a.m", "p.m", "tel", "cf", "ref", "fig", "incl", "dept", "ca",
	"resp", "approx", "nr", "art", "para", "sec", "vol", "ed", "u.s",
	"u.k", "op", "al", NULL };

/* ---- sentence words ---- */

struct word {
	size_t off, len;
	char w[24];             /* lower-cased, truncated */
	unsigned h;             /* mp_word_hash(w) */
	int cap;                /* capital (or non-ASCII) first letter */
	int upper;              /* an acronym ("MAG", "IGF") */
	char punct;             /* first punctuation after it, or 0 */
};

/* A byte's class in a word: 0 outside words (and 0xe2, which starts
 * UTF-8 dashes and quotes), else the byte lower-cased, with WC_LOWER
 * where it is not an upper-case letter or digit (no acronym then). */
#define WC_LOWER 0x100
#define WCLS(c) ((c) == 0xe2 ? 0 : (c) >= 'A' && (c) <= 'Z' ? (c) + 32 : \
	((c) >= 'a' && (c) <= 'z') || (c) >= 0x80 ? (c) | WC_LOWER : \
	(c) >= '0' && (c) <= '9' ? (c) : 0)
static const unsigned short wcls[256] = { MP_BYTE_TABLE(WCLS) };

/* Words of s: letters, digits, UTF-8; apostrophes and hyphens inside a
 * word cut it ("we'll" -> "we" "ll", "double-check" -> two words). One
 * pass per word makes its lower-cased copy, its classes and its hash:
 * every sentence of every message goes through here (a table lookup a
 * byte: the tests for each class took 7% of an import). */
static size_t
words_of(const char *s, struct word *w, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n = 0;

	while (p[i] && n < max) {
		struct word *x;
		size_t j, q;
		unsigned h, k, lower;

		if (wcls[p[i]] == 0) {
			if (p[i] == 0xe2) {
				/* UTF-8 punctuation: dashes, quotes */
				if (n > 0 && w[n - 1].punct == 0)
					w[n - 1].punct = '-';
				i += p[i + 1] && p[i + 2] ? 3 : 1;
				continue;
			}
			if (n > 0 && w[n - 1].punct == 0 && !mp_is_space(p[i]))
				w[n - 1].punct = (char)p[i];
			i++;
			continue;
		}
		x = &w[n++];
		h = MP_WORD_HASH_INIT;
		lower = 0;
		for (j = i, q = 0; (k = wcls[p[j]]) != 0; j++) {
			lower |= k;
			if (q + 1 < sizeof(x->w)) {
				x->w[q++] = (char)(k & 0xff);
				h = mp_word_hash_add(h, (unsigned char)k);
			}
		}
		x->w[q] = '\0';
		x->off = i;
		x->len = j - i;
		x->h = h;
		x->cap = mp_is_upper(p[i]) || p[i] >= 0x80;
		x->upper = !(lower & WC_LOWER) && x->len >= 2;
		x->punct = 0;
		i = j;
	}
	return n;
}

static int
in_list(const struct word *x, const char *const *list)
{
	return mp_word_in_h(x->w, x->h, list);
}

static int
WD(const struct word *w, size_t n, size_t i, const char *s)
{
	return i < n && w[i].w[0] == s[0] && strcmp(w[i].w, s) == 0;
}

/* ---- context for one message ---- */

struct xctx {
	const struct mp_msg *m;
	const struct mp_extract_opts *o;
	struct mp_dateref ref;
	char *greet;            /* the one person greeted, or NULL */
	struct mp_action **out;
	size_t *n;
	struct mp_dateexpr last; /* the previous item's date, for "same time" */
	int have_last;
	struct mp_buf sent;     /* one sentence, reused */
};

static char *
span_dup(const char *s, const struct word *w, size_t a, size_t b)
{
	size_t from = w[a].off, to = w[b - 1].off + w[b - 1].len;

	return mp_xstrndup(s + from, to - from);
}

/* A member whose full name or first name is name; NULL when none. */
static const struct mp_member *
member_of(const struct mp_extract_opts *o, const char *name)
{
	size_t i, n = strlen(name);

	if (o == NULL || o->config == NULL)
		return NULL;
	for (i = 0; i < o->config->nmembers; i++) {
		const struct mp_member *mb = &o->config->members[i];
		const char *full = mb->name != NULL ? mb->name : mb->id;

		if (strcasecmp(full, name) == 0)
			return mb;
		if (strncasecmp(full, name, n) == 0 && full[n] == ' ')
			return mb;
	}
	return NULL;
}

/* Words a..b (exclusive) name one person: 1-3 capitalised words, no
 * group word, no function word; or a member's name. */
static int
is_person(const char *s, const struct word *w, size_t a, size_t b,
    const struct mp_extract_opts *o)
{
	size_t i;
	int ok = 1;

	if (b <= a || b - a > 4)
		return 0;
	for (i = a; i < b; i++) {
		if (w[i].upper || in_list(&w[i], group_words) ||
		    isdigit((unsigned char)w[i].w[0]))
			return 0;
		if (!w[i].cap && !(i > a && (WD(w, b, i, "de") ||
		    WD(w, b, i, "da") || WD(w, b, i, "van") ||
		    WD(w, b, i, "von") || WD(w, b, i, "del") ||
		    WD(w, b, i, "dos") || WD(w, b, i, "la"))))
			ok = 0;
	}
	if (in_list(&w[a], not_names))
		ok = 0;
	if (!ok && o != NULL && o->config != NULL) {
		char *name = span_dup(s, w, a, b);

		ok = member_of(o, name) != NULL;
		free(name);
	}
	return ok;
}

static void
add_item(struct xctx *x, enum mp_action_kind k, const char *text,
    const char *assignee, const struct mp_dateexpr *due)
{
	struct mp_action *a;
	const struct mp_member *mb;

	*x->out = mp_xrealloc(*x->out, (*x->n + 1) * sizeof(**x->out));
	a = &(*x->out)[(*x->n)++];
	memset(a, 0, sizeof(*a));
	a->kind = k;
	a->text = mp_xstrdup(text);
	a->assignee = assignee != NULL ? mp_xstrdup(assignee) : NULL;
	if (assignee != NULL && (mb = member_of(x->o, assignee)) != NULL)
		a->member = mb->id;
	if (due != NULL) {
		mp_dateexpr_due(due, a->due, sizeof(a->due));
		x->last = *due;
		x->have_last = 1;
	}
}

/* ---- request grammar ---- */

enum req { R_NONE, R_YOU, R_SUBJ };

struct reqinfo {
	enum req r;
	size_t sa, sb;          /* subject words for R_SUBJ */
};

static int
seq(const struct word *w, size_t n, size_t i, const char *const *s)
{
	size_t k;

	for (k = 0; s[k] != NULL; k++)
		if (!WD(w, n, i + k, s[k]))
			return 0;
	return 1;
}

static int
find_seq(const struct word *w, size_t n, size_t from, const char *const *s)
{
	size_t i;

	for (i = from; i < n; i++)
		if (seq(w, n, i, s))
			return (int)i;
	return -1;
}

static int
imperative_at(const struct word *w, size_t n, size_t i)
{
	size_t k;

	if (i >= n || !in_list(&w[i], verbs) ||
	    in_list(&w[i], not_imperative))
		return 0;
	/* "Update: ..." is a heading, "Review of ..." a noun */
	if (w[i].punct == ':')
		return 0;
	if (i + 1 >= n || w[i].punct == '!' || w[i].punct == '.')
		return 1;
	if (strcmp(w[i].w, "double") == 0)
		return WD(w, n, i + 1, "check");
	/* "let me know", but "let us not forget" only exhorts */
	if (strcmp(w[i].w, "let") == 0) {
		for (k = i + 1; k < n && k < i + 5; k++)
			if (WD(w, n, k, "know"))
				return 1;
		return 0;
	}
	if (strcmp(w[i].w, "make") == 0)
		return WD(w, n, i + 1, "sure");
	for (k = i + 1; k < n && k < i + 4; k++)
		if (WD(w, n, k, "are") || WD(w, n, k, "is") ||
		    WD(w, n, k, "was") || WD(w, n, k, "were") ||
		    WD(w, n, k, "will"))
			return 0;
	if (in_list(&w[i], noun_verbs) && w[i + 1].w[strlen(w[i + 1].w) -
	    1] == 's' && !WD(w, n, i + 1, "us") && !WD(w, n, i + 1, "this") &&
	    !WD(w, n, i + 1, "his") && !WD(w, n, i + 1, "its"))
		return 0;
	return in_list(&w[i + 1], imp_follow) ||
	    isdigit((unsigned char)w[i + 1].w[0]);
}

/* Subject words before a verb: from a up to the first lower-case word
 * that is a verb (or "could"/"to"). */
static void
request_of(const char *s, const struct word *w, size_t n, size_t st,
    struct reqinfo *ri)
{
	static const char *const you_seqs[][6] = {
		{ "could", "you", NULL }, { "would", "you", NULL },
		{ "can", "you", NULL }, { "will", "you", NULL },
		{ "do", "you", "mind", NULL }, { "you", "have", "to", NULL },
		{ "you", "need", "to", NULL }, { "you", "must", NULL },
		{ "you", "will", "need", "to", NULL },
		{ "you", "ll", "need", "to", NULL },
		{ "be", "sure", "to", NULL },
		{ "don", "t", "forget", NULL }, { "do", "not", "forget", NULL },
		{ "if", "you", "can", NULL }, { "if", "you", "could", NULL },
		{ "i", "would", "ask", "you", NULL }, { "we", "ask", "you", NULL },
		{ "would", "appreciate", NULL }, { "d", "appreciate", NULL },
		{ "grateful", "if", "you", NULL }, { "like", "you", "to", NULL },
		{ "need", "you", "to", NULL }, { "would", "it", "be", "possible",
		NULL }, { "you", "are", "asked", NULL },
		{ "you", "are", "requested", NULL },
		{ "you", "are", "kindly", NULL },
		{ "you", "are", "invited", "to", NULL },
		{ "you", "are", "encouraged", "to", NULL },
		{ "you", "should", "send", NULL },
		{ "remember", "to", NULL }, { "i", "invite", "you", "to", NULL },
		{ "we", "invite", "you", "to", NULL },
		{ "we", "kindly", "ask", NULL }, { "i", "kindly", "ask", NULL },
		{ NULL } };
	static const char *const passive[] = { "asked", "requested", "invited",
		"encouraged", "reminded", "expected", "required", "urged", NULL };
	size_t i, k, j;
	int p;

	memset(ri, 0, sizeof(*ri));
	/* "Could the Secretariat repeat ...?" "Can Wim share ...?" */
	if (st < n && (WD(w, n, st, "could") || WD(w, n, st, "would") ||
	    WD(w, n, st, "can") || WD(w, n, st, "will")) &&
	    !WD(w, n, st + 1, "there") && !WD(w, n, st + 1, "it") &&
	    !WD(w, n, st + 1, "we") && !WD(w, n, st + 1, "i") &&
	    !WD(w, n, st + 1, "this") && !WD(w, n, st + 1, "that") &&
	    !WD(w, n, st + 1, "you") && !WD(w, n, st + 1, "u")) {
		for (j = st + 1; j < n && j < st + 8; j++) {
			if (j > st + 1 && !w[j].cap && (in_list(&w[j], verbs) ||
			    WD(w, n, j, "please"))) {
				ri->r = R_SUBJ;
				ri->sa = st + 1;
				ri->sb = j;
				return;
			}
		}
	}
	/* please, not "please find/see/note" */
	for (i = st; i < n; i++) {
		if (strcmp(w[i].w, "please") != 0)
			continue;
		k = i + 1;
		while (k < n && (WD(w, n, k, "also") || WD(w, n, k, "kindly") ||
		    WD(w, n, k, "just") || WD(w, n, k, "do")))
			k++;
		if (k < n && (in_list(&w[k], not_imperative) ||
		    WD(w, n, k, "don") || WD(w, n, k, "accept")) &&
		    !WD(w, n, k, "keep") && !WD(w, n, k, "do"))
			continue;
		ri->r = R_YOU;
		return;
	}
	/* Every phrase above holds one of these words: most sentences hold
	 * none, and skip the search. */
	{
		static const char *const keys[] = { "you", "appreciate",
			"forget", "sure", "possible", "remember", "kindly", NULL };

		for (i = st; i < n; i++)
			if (in_list(&w[i], keys))
				break;
		if (i == n)
			goto others;
	}
	for (k = 0; you_seqs[k][0] != NULL; k++) {
		if ((p = find_seq(w, n, st, you_seqs[k])) >= 0) {
			/* "would you like to join" offers; "can you believe" */
			j = (size_t)p;
			while (j < n && strcmp(w[j].w, "you") != 0)
				j++;
			if (WD(w, n, j + 1, "like") || WD(w, n, j + 1, "know") ||
			    WD(w, n, j + 1, "think") || WD(w, n, j + 1, "believe"))
				continue;
			ri->r = R_YOU;
			return;
		}
	}
others:
	/* "X are (kindly) asked to" */
	for (i = st + 1; i + 2 < n; i++) {
		if (!WD(w, n, i, "are") && !WD(w, n, i, "is"))
			continue;
		k = i + 1;
		if (WD(w, n, k, "kindly") || WD(w, n, k, "also") ||
		    WD(w, n, k, "hereby") || WD(w, n, k, "therefore"))
			k++;
		if (k < n && in_list(&w[k], passive) && WD(w, n, k + 1, "to")) {
			ri->r = R_SUBJ;
			ri->sa = st;
			ri->sb = i;
			return;
		}
	}
	/* "grateful if X could", "ask X to", "would like X to" */
	for (i = st; i + 2 < n; i++) {
		int lead = (WD(w, n, i, "if") && i > 0 && (WD(w, n, i - 1,
		    "grateful") || WD(w, n, i - 1, "it") ||
		    WD(w, n, i - 1, "appreciate") || WD(w, n, i - 1, "great") ||
		    WD(w, n, i - 1, "helpful"))) ||
		    (WD(w, n, i, "ask") && i > 0 && (WD(w, n, i - 1, "would") ||
		    WD(w, n, i - 1, "d") || WD(w, n, i - 1, "we") ||
		    WD(w, n, i - 1, "i") || WD(w, n, i - 1, "kindly"))) ||
		    (WD(w, n, i, "like") && i > 0 && (WD(w, n, i - 1, "would") ||
		    WD(w, n, i - 1, "d"))) || WD(w, n, i, "urge") ||
		    WD(w, n, i, "request");

		if (!lead)
			continue;
		for (j = i + 1; j < n && j < i + 8; j++) {
			if (WD(w, n, j, "could") || WD(w, n, j, "would") ||
			    WD(w, n, j, "can") || WD(w, n, j, "to")) {
				if (j == i + 1)
					break;
				if (WD(w, n, j, "to") && !in_list(&w[j + 1 < n ?
				    j + 1 : j], verbs))
					break;
				ri->r = R_SUBJ;
				ri->sa = i + 1;
				ri->sb = j;
				if (WD(w, n, ri->sa, "you"))
					ri->r = R_YOU;
				return;
			}
		}
	}
	/* Action-list line "Wim to send ...", "The Secretariat to run ..." and
	 * a person's action "Mateus will circulate ...". */
	for (j = st + 1; j < n && j < st + 7; j++) {
		if (w[j - 1].punct == ',' || w[j - 1].punct == ':')
			break;
		if (WD(w, n, j, "to") && j + 1 < n && in_list(&w[j + 1], verbs) &&
		    !WD(w, n, j + 1, "please") && (w[st].cap ||
		    WD(w, n, st, "all"))) {
			for (k = st; k < j; k++)
				if (in_list(&w[k], not_imperative) ||
				    WD(w, n, k, "is") || WD(w, n, k, "are") ||
				    WD(w, n, k, "want") || WD(w, n, k, "wants") ||
				    WD(w, n, k, "need") || WD(w, n, k, "like") ||
				    WD(w, n, k, "going") || WD(w, n, k, "able") ||
				    WD(w, n, k, "thanks") || WD(w, n, k, "due") ||
				    WD(w, n, k, "how") || WD(w, n, k, "what") ||
				    WD(w, n, k, "we") || WD(w, n, k, "i") ||
				    WD(w, n, k, "you") || WD(w, n, k, "plan") ||
				    WD(w, n, k, "time") || WD(w, n, k, "order"))
					break;
			if (k < j)
				break;
			ri->r = R_SUBJ;
			ri->sa = st;
			ri->sb = j;
			return;
		}
		if ((WD(w, n, j, "will") || (WD(w, n, j, "ll") && j > st)) &&
		    is_person(s, w, st, j, NULL) && j + 1 < n &&
		    !WD(w, n, j + 1, "be") && !WD(w, n, j + 1, "not") &&
		    !WD(w, n, j + 1, "have") && !WD(w, n, j + 1, "probably")) {
			ri->r = R_SUBJ;
			ri->sa = st;
			ri->sb = j;
			return;
		}
	}
	/* imperative at the start, after "if ...," or after "and then" */
	if (imperative_at(w, n, st)) {
		ri->r = R_YOU;
		return;
	}
	if (st < n && (WD(w, n, st, "if") || WD(w, n, st, "when") ||
	    WD(w, n, st, "once") || WD(w, n, st, "before") ||
	    WD(w, n, st, "in") || WD(w, n, st, "as") ||
	    WD(w, n, st, "for") || WD(w, n, st, "to"))) {
		for (j = st; j + 1 < n; j++) {
			if (w[j].punct == ',') {
				k = j + 1;
				if (WD(w, n, k, "just") || WD(w, n, k, "then") ||
				    WD(w, n, k, "simply") || WD(w, n, k, "kindly"))
					k++;
				if (imperative_at(w, n, k))
					ri->r = R_YOU;
				break;
			}
		}
	}
}

/* ---- the sentence ---- */

static int
has_word(const struct word *w, size_t n, const char *const *list)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (in_list(&w[i], list))
			return 1;
	return 0;
}

/* Index of the first word at or after byte offset off. */
static size_t
word_at(const struct word *w, size_t n, size_t off)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (w[i].off >= off)
			return i;
	return n;
}

/* An event noun that names the sentence's own event, not one it only
 * refers to ("input for the open consultations"). */
static int
event_cue(const struct word *w, size_t n)
{
	static const char *const refer[] = { "for", "about", "after",
		"before", "during", "ahead", "following", "since", "from",
		"until", "till", "prior", NULL };
	size_t i, k;

	for (i = 0; i < n; i++) {
		if (in_list(&w[i], event_verbs)) {
			if ((WD(w, n, i, "place") && i > 0 &&
			    (WD(w, n, i - 1, "take") || WD(w, n, i - 1, "takes") ||
			    WD(w, n, i - 1, "taking"))) ||
			    (WD(w, n, i, "held") && i > 0 &&
			    (WD(w, n, i - 1, "be") || WD(w, n, i - 1, "is") ||
			    WD(w, n, i - 1, "are") || WD(w, n, i - 1, "being"))) ||
			    (WD(w, n, i, "kick") && WD(w, n, i + 1, "off")) ||
			    (WD(w, n, i, "join") && WD(w, n, i + 1, "us")) ||
			    WD(w, n, i, "meet") || WD(w, n, i, "meets") ||
			    WD(w, n, i, "convene") || WD(w, n, i, "convenes") ||
			    WD(w, n, i, "gather") || WD(w, n, i, "scheduled") ||
			    (i > 0 && (WD(w, n, i, "hold") ||
			    WD(w, n, i, "holding") || WD(w, n, i, "hosting") ||
			    WD(w, n, i, "host")) && (WD(w, n, i - 1, "will") ||
			    WD(w, n, i - 1, "we") || WD(w, n, i - 1, "are") ||
			    WD(w, n, i - 1, "is") || WD(w, n, i - 1, "to"))))
				return 1;
		}
		if (!in_list(&w[i], event_nouns))
			continue;
		if (i + 1 < n && w[i].punct == 0 &&
		    in_list(&w[i + 1], compound_heads))
			continue;
		if (WD(w, n, i, "day") && !(i > 0 && (WD(w, n, i - 1, "first") ||
		    WD(w, n, i - 1, "second") || WD(w, n, i - 1, "work") ||
		    WD(w, n, i - 1, "last") || WD(w, n, i - 1, "third") ||
		    WD(w, n, i - 1, "final") || WD(w, n, i - 1, "open"))))
			continue;
		/* "call for inputs", "call on X to" are no calls */
		if ((WD(w, n, i, "call") || WD(w, n, i, "calls")) &&
		    (WD(w, n, i + 1, "for") || WD(w, n, i + 1, "to")))
			continue;
		for (k = i; k > 0 && k + 4 > i; k--)
			if (in_list(&w[k - 1], refer))
				break;
		if (k > 0 && k + 4 > i)
			continue;
		return 1;
	}
	return 0;
}

/* Leading vocative "Roberto, ..." or "MAG members, ...": returns the
 * index after the comma (0 when none); *person when it names one. */
static size_t
vocative(const char *s, const struct word *w, size_t n,
    const struct mp_extract_opts *o, int *person, int *group)
{
	size_t j;

	*person = *group = 0;
	for (j = 0; j < n && j < 5; j++) {
		if (w[j].punct == ',' || w[j].punct == ':') {
			if (w[j].punct == ':' && j > 0)
				return 0;
			if (is_person(s, w, 0, j + 1, o)) {
				*person = 1;
				return j + 1;
			}
			{
				size_t k;

				for (k = 0; k <= j; k++)
					if (in_list(&w[k], group_words) &&
					    !WD(w, n, k, "you") &&
					    !WD(w, n, k, "we"))
						*group = 1;
			}
			if (*group && w[0].cap)
				return j + 1;
			*group = 0;
			/* discourse words: "Also," "So," "Finally," */
			if (j == 0 && (in_list(&w[0], not_names)))
				return 1;
			return 0;
		}
		if (w[j].punct != 0 && w[j].punct != '-' && w[j].punct != '\'')
			return 0;
	}
	return 0;
}

/* Words without which no rule below can fire: most sentences hold none
 * and are dropped after one pass over their words. */
static const char *const triggers[] = { "please", "you", "kindly",
	"appreciate", "forget", "sure", "possible", "remember", "asked",
	"requested", "invited", "encouraged", "reminded", "expected",
	"required", "urged", "ask", "urge", "request", "grateful", "today",
	"tonight", "tomorrow", "yesterday", "end", "eow", "eom", "cob", "eod",
	"eob", "noon", "midday", "midnight", "week", "weeks", "weekend", "days",
	"fortnight", "month", "monday", "tuesday", "wednesday", "thursday",
	"friday", "saturday", "sunday", "mon", "tue", "tues", "wed", "thu",
	"thur", "thurs", "fri", "sat", "sun", "january", "february", "march",
	"april", "may", "june", "july", "august", "september", "october",
	"november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
	"sep", "sept", "oct", "nov", "dec", NULL };

static int
worth(const struct word *w, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		if (isdigit((unsigned char)w[i].w[0]) || in_list(&w[i], triggers))
			return 1;
		/* "Wim to send", "Mateus will circulate" */
		if (WD(w, n, i, "to") && i + 1 < n && in_list(&w[i + 1], verbs))
			return 1;
		if ((WD(w, n, i, "will") || WD(w, n, i, "ll")) && i > 0 &&
		    w[i - 1].cap)
			return 1;
		/* "Could the Secretariat ...", imperatives at the start or
		 * after a comma */
		if (i == 0 || w[i - 1].punct == ',' || w[i - 1].punct == ':') {
			k = i;
			while (k < n && (WD(w, n, k, "just") || WD(w, n, k, "then") ||
			    WD(w, n, k, "simply") || WD(w, n, k, "also") ||
			    WD(w, n, k, "so")))
				k++;
			if (k < n && (in_list(&w[k], verbs) ||
			    WD(w, n, k, "could") || WD(w, n, k, "would") ||
			    WD(w, n, k, "can") || WD(w, n, k, "will")))
				return 1;
		}
	}
	return 0;
}

static void classify(struct xctx *x, const char *sent, int split_ok);

/* "X is on Wednesday 23 June, and the second day is on Wednesday 30
 * June": two items. Returns 1 when it split. */
static int
split_clauses(struct xctx *x, const char *sent, const struct mp_dateexpr *d,
    size_t nd)
{
	const char *p;
	size_t i, cut;
	int before = 0, after = 0;

	for (p = sent; *p; p++) {
		size_t skip;

		if (strncmp(p, ", and ", 6) == 0)
			skip = 6;
		else if (strncmp(p, "; ", 2) == 0)
			skip = 2;
		else
			continue;
		cut = (size_t)(p - sent);
		before = after = 0;
		for (i = 0; i < nd; i++) {
			if (!(d[i].flags & MP_DX_DATE) ||
			    (d[i].flags & (MP_DX_VAGUE | MP_DX_PAST)))
				continue;
			if (d[i].end <= cut)
				before = 1;
			else if (d[i].start > cut)
				after = 1;
		}
		if (before && after) {
			char *first = mp_xstrndup(sent, cut);

			classify(x, first, 0);
			free(first);
			classify(x, p + skip, 0);
			return 1;
		}
	}
	return 0;
}

static void
classify(struct xctx *x, const char *sent, int split_ok)
{
	struct word w[MAX_WORDS];
	struct mp_dateexpr d[MAX_DATES];
	const struct mp_dateexpr *prim = NULL, *vague = NULL, *tm = NULL;
	struct mp_dateexpr due;
	struct reqinfo ri;
	size_t n, nd, i, st, len = strlen(sent);
	int vp, vg, question, past_tense, any_past = 0, strong = 0;
	char *assignee = NULL;

	n = words_of(sent, w, MAX_WORDS);
	/* "Action items:", "Ana <ana@example.org> [2021-06-12 12:01]:" */
	if (n < 3 || sent[len - 1] == ':' || !worth(w, n))
		return;
	/* (the first four phrases hold "of", the last "leave") */
	if (has_word(w, n, cancel_words) || (strstr(sent, "of") != NULL &&
	    (strstr(sent, "out of the office") != NULL ||
	    strstr(sent, "out of office") != NULL ||
	    strstr(sent, "Out of office") != NULL ||
	    strstr(sent, "called off") != NULL)) ||
	    strstr(sent, "on leave") != NULL)
		return;
	nd = mp_dateexpr_scan(sent, len, &x->ref, d, MAX_DATES);
	if (split_ok && nd >= 2 && split_clauses(x, sent, d, nd))
		return;

	/* The due: the first future, precise date that is not a lower
	 * bound ("after 17 June", "from Monday") */
	for (i = 0; i < nd; i++) {
		size_t wi = word_at(w, n, d[i].start);
		const char *prev = wi > 0 ? w[wi - 1].w : "";

		if (!(d[i].flags & MP_DX_DATE)) {
			if (tm == NULL && (d[i].flags & MP_DX_TIME))
				tm = &d[i];
			continue;
		}
		if (d[i].flags & MP_DX_PAST) {
			any_past = 1;
			continue;
		}
		if (strcmp(prev, "after") == 0 || strcmp(prev, "since") == 0 ||
		    strcmp(prev, "starting") == 0 || (strcmp(prev, "from") == 0 &&
		    !(d[i].flags & MP_DX_RANGE) && !(d[i].flags & MP_DX_TIME)))
			continue;
		if (d[i].flags & MP_DX_VAGUE) {
			if (vague == NULL)
				vague = &d[i];
			continue;
		}
		if (prim == NULL) {
			prim = &d[i];
			if (strcmp(prev, "by") == 0 || strcmp(prev, "before") == 0 ||
			    strcmp(prev, "until") == 0 || strcmp(prev, "till") == 0 ||
			    strcmp(prev, "than") == 0 || strcmp(prev, "due") == 0 ||
			    (wi > 1 && strcmp(prev, "the") == 0 &&
			    strcmp(w[wi - 2].w, "by") == 0))
				strong = 1;
		}
	}
	if (prim != NULL) {
		due = *prim;
		if (!(due.flags & MP_DX_TIME) && !(due.flags & MP_DX_EOD)) {
			if (tm != NULL)
				mp_dateexpr_combine(&due, tm, &x->ref);
			else if (x->have_last && (x->last.flags & MP_DX_TIME) &&
			    strstr(sent, "same time") != NULL)
				mp_dateexpr_combine(&due, &x->last, &x->ref);
		}
	}

	st = vocative(sent, w, n, x->o, &vp, &vg);
	/* A label: "ACTION: Priya to ...", "Reminder: the deadline ..." */
	for (i = st; i < n && i < st + 3; i++) {
		if (w[i].punct == ':' && !isdigit((unsigned char)w[i].w[0]) &&
		    i + 1 < n) {
			st = i + 1;
			break;
		}
		if (w[i].punct != 0)
			break;
	}
	question = sent[len - 1] == '?';
	request_of(sent, w, n, st, &ri);
	/* "Could the Secretariat confirm how many slots remain?" only asks
	 * for information; "could you confirm by Friday whether" acts. */
	if (ri.r != R_NONE && prim == NULL && (question || WD(w, n, st,
	    "could") || WD(w, n, st, "can") || WD(w, n, st, "would"))) {
		static const char *const info[] = { "confirm", "tell", "know",
			"clarify", "say", "explain", "indicate", "remind",
			"advise", "share", NULL };
		static const char *const wh[] = { "how", "what", "which",
			"when", "where", "who", "why", NULL };

		for (i = st; i + 1 < n; i++)
			if (in_list(&w[i], info) && (in_list(&w[i + 1], wh) ||
			    (i + 2 < n && in_list(&w[i + 2], wh) &&
			    !in_list(&w[i + 1], wh))))
				return;
	}
	if (ri.r != R_NONE) {
		if (ri.r == R_SUBJ && is_person(sent, w, ri.sa, ri.sb, x->o))
			assignee = span_dup(sent, w, ri.sa, ri.sb);
		else if (ri.r == R_YOU && vp)
			assignee = span_dup(sent, w, 0, st);
		else if (ri.r == R_YOU && !vg && x->greet != NULL)
			assignee = mp_xstrdup(x->greet);
		add_item(x, MP_ACT_REQUEST, sent, assignee,
		    prim != NULL ? &due : NULL);
		free(assignee);
		return;
	}
	if (question)
		return;
	if (prim == NULL && vague == NULL)
		return;
	past_tense = has_word(w, n, past_words) && !has_word(w, n,
	    future_words) && !has_word(w, n, deadline_words);
	if (past_tense || (any_past && prim == NULL))
		return;
	if (has_word(w, n, deadline_words) || strong ||
	    find_seq(w, n, 0, (const char *const[]){ "no", "later", NULL })
	    >= 0) {
		/* "due in two weeks", "the deadline is 17 June" */
		if (prim != NULL || (vague != NULL && has_word(w, n,
		    deadline_words)))
			add_item(x, MP_ACT_DEADLINE, sent, NULL,
			    prim != NULL ? &due : NULL);
		return;
	}
	if (prim == NULL)
		return;
	if (event_cue(w, n) || (due.flags & MP_DX_TIME)) {
		add_item(x, MP_ACT_EVENT, sent, NULL, &due);
		return;
	}
	if (has_word(w, n, future_words) || find_seq(w, n, 0,
	    (const char *const[]){ "has", "to", NULL }) >= 0 ||
	    find_seq(w, n, 0, (const char *const[]){ "have", "to", NULL }) >= 0 ||
	    find_seq(w, n, 0, (const char *const[]){ "is", "to", NULL }) >= 0 ||
	    find_seq(w, n, 0, (const char *const[]){ "are", "to", NULL }) >= 0)
		add_item(x, MP_ACT_DEADLINE, sent, NULL, &due);
}

/* ---- sentences ---- */

/* Does the text before p (a '.') end with an abbreviation or initial? */
static int
abbrev_before(const char *start, const char *p)
{
	const char *q = p;
	char w[12];
	size_t k = 0;

	while (q > start && (isalpha((unsigned char)q[-1]) || q[-1] == '.'))
		q--;
	if (p - q == 1 && isupper((unsigned char)*q))
		return 1;       /* "J. Smith" */
	if ((size_t)(p - q) >= sizeof(w))
		return 0;
	while (q < p)
		w[k++] = (char)tolower((unsigned char)*q++);
	w[k] = '\0';
	return mp_word_in(w, abbrevs);
}

static void
sentences(struct xctx *x, const char *block)
{
	struct mp_buf *s = &x->sent;
	const char *p, *st = block;

	for (p = block;; p++) {
		const char *end = NULL;

		p += strcspn(p, ".!?");
		if (*p == '\0') {
			end = p;
		} else {
			const char *q = p + 1;

			while (*q == '.' || *q == '!' || *q == '?' || *q == ')' ||
			    *q == '"')
				q++;
			if ((*q == '\0' || (*q == ' ' && (isupper((unsigned char)
			    q[1]) || isdigit((unsigned char)q[1]) ||
			    (unsigned char)q[1] >= 0x80 || q[1] == '"' ||
			    q[1] == '(' || q[1] == '\0'))) &&
			    (*p != '.' || !abbrev_before(block, p))) {
				end = q;
				p = q - 1;
			}
		}
		if (end == NULL)
			continue;
		while (*st == ' ')
			st++;
		mp_buf_reset(s);
		if (end > st)
			mp_buf_add(s, st, (size_t)(end - st));
		while (s->len > 0 && s->data[s->len - 1] == ' ')
			s->data[--s->len] = '\0';
		if (s->len > 8 && s->len < 2000)
			classify(x, mp_buf_str(s), 1);
		if (*end == '\0')
			break;
		st = end;
	}
}

/* Length of a list marker at the start of a line ("- ", "* ", "1. ",
 * "2) ", "a) ", "• "), else 0. */
static size_t
list_marker(const char *l)
{
	size_t i = 0;

	while (l[i] == ' ' || l[i] == '\t')
		i++;
	if ((l[i] == '-' || l[i] == '*' || l[i] == '+') && l[i + 1] == ' ')
		return i + 2;
	if ((unsigned char)l[i] == 0xe2 && (unsigned char)l[i + 1] == 0x80 &&
	    (unsigned char)l[i + 2] == 0xa2 && l[i + 3] == ' ')
		return i + 4;
	if (isdigit((unsigned char)l[i])) {
		size_t j = i;

		while (isdigit((unsigned char)l[j]) && j - i < 3)
			j++;
		if ((l[j] == '.' || l[j] == ')') && l[j + 1] == ' ')
			return j + 2;
		return 0;
	}
	if (islower((unsigned char)l[i]) && l[i + 1] == ')' && l[i + 2] == ' ')
		return i + 3;
	return 0;
}

/* "Deadline: 2021-05-09 09:00 UTC", "When: Tuesday": one or two words
 * and a colon open the line. */
static int
is_label(const char *l, size_t len)
{
	size_t i = 0, words = 1;

	if (len == 0 || !isupper((unsigned char)l[0]))
		return 0;
	for (i = 1; i < len && i < 24; i++) {
		if (l[i] == ':')
			return i + 1 < len && l[i + 1] == ' ';
		if (l[i] == ' ' && ++words > 2)
			return 0;
		if (!isalpha((unsigned char)l[i]) && l[i] != ' ')
			return 0;
	}
	return 0;
}

/* "Dear Anja," / "Hi Keiko," : the one person greeted, or NULL. */
static char *
greeting(const char *line, size_t len, const struct mp_extract_opts *o)
{
	static const char *const hello[] = { "dear", "hi", "hello", "hey",
		"greetings", "morning", "afternoon", "evening", NULL };
	static const char *const honor[] = { "mr", "ms", "mrs", "dr", "prof",
		"professor", "madam", "sir", NULL };
	struct word w[16];
	char buf[160];
	size_t n, a = 0, b;

	if (len >= sizeof(buf) || len == 0)
		return NULL;
	memcpy(buf, line, len);
	buf[len] = '\0';
	n = words_of(buf, w, 16);
	if (n < 2)
		return NULL;
	if (WD(w, n, 0, "good"))
		a = 1;
	if (!in_list(&w[a], hello))
		return NULL;
	a++;
	while (a < n && in_list(&w[a], honor))
		a++;
	for (b = a; b < n; b++) {
		if (WD(w, n, b, "and") || w[b].punct == '&')
			return NULL;
		if (w[b].punct == ',' || w[b].punct == '!' || w[b].punct == ':' ||
		    b + 1 == n) {
			b++;
			break;
		}
	}
	if (b != n && !(b < n && w[b - 1].punct != 0))
		return NULL;
	if (b > n || !is_person(buf, w, a, b, o))
		return NULL;
	return span_dup(buf, w, a, b);
}

int
mp_extract(const struct mp_msg *m, const struct mp_extract_opts *o,
    struct mp_action **out, size_t *n)
{
	struct mp_buf blk = MP_BUF_INIT;
	struct xctx x;
	const char *p, *line;
	int first = 1;

	*out = NULL;
	*n = 0;
	if (m == NULL || m->own == NULL)
		return 0;
	memset(&x, 0, sizeof(x));
	x.m = m;
	x.o = o;
	x.ref.t = m->date;
	x.ref.off = m->date_off;
	x.ref.month_first = o != NULL && o->month_first;
	x.out = out;
	x.n = n;
	for (line = m->own; *line;) {
		size_t len, mk, i;
		char *tab;
		int blank;

		p = strchr(line, '\n');
		len = p != NULL ? (size_t)(p - line) : strlen(line);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		blank = 1;
		for (i = 0; i < len && blank; i++)
			if (!isspace((unsigned char)line[i]))
				blank = 0;
		mk = blank ? 0 : list_marker(line);
		if (first && !blank) {
			first = 0;
			if (len < 80 && (x.greet = greeting(line, len, o)) != NULL)
				goto next;
			if (len < 80 && line[len - 1] == ',' &&
			    greeting(line, len, NULL) == NULL &&
			    strchr(line, '.') == NULL) {
				/* "Dear MAG members," "Hi all," */
				char *l = mp_xstrndup(line, len);

				if (strncasecmp(l, "dear", 4) == 0 ||
				    strncasecmp(l, "hi", 2) == 0 ||
				    strncasecmp(l, "hello", 5) == 0) {
					free(l);
					goto next;
				}
				free(l);
			}
		}
		/* A sentence broken by a stray blank line goes on: the block
		 * lacks an end mark and the next line starts in lower case. */
		if (blank && blk.len > 0 && p != NULL &&
		    strchr(".!?:", blk.data[blk.len - 1]) == NULL) {
			const char *q = p + 1;

			while (*q == '\n' || *q == '\r' || *q == ' ')
				q++;
			if (islower((unsigned char)*q))
				goto next;
		}
		if (blank || mk > 0 || is_label(line, len)) {
			if (blk.len > 0)
				sentences(&x, mp_buf_str(&blk));
			mp_buf_reset(&blk);
		}
		if (!blank) {
			const char *t = line + mk;
			size_t tl = len - mk;

			while (tl > 0 && (*t == ' ' || *t == '\t')) {
				t++;
				tl--;
			}
			if (blk.len > 0)
				mp_buf_addc(&blk, ' ');
			mp_buf_add(&blk, t, tl);
			for (tab = memchr(blk.data + blk.len - tl, '\t', tl);
			    tab != NULL; tab = memchr(tab, '\t',
			    (size_t)(blk.data + blk.len - tab)))
				*tab++ = ' ';
			while (blk.len > 0 && blk.data[blk.len - 1] == ' ')
				blk.data[--blk.len] = '\0';
			/* "Action items:" and short "Deadline: 17 June" lines
			 * end a block */
			if (tl > 0 && (t[tl - 1] == ':' || (is_label(line, len) &&
			    len < 40))) {
				sentences(&x, mp_buf_str(&blk));
				mp_buf_reset(&blk);
			}
		}
next:
		if (p == NULL)
			break;
		line = p + 1;
	}
	if (blk.len > 0)
		sentences(&x, mp_buf_str(&blk));
	mp_buf_free(&blk);
	mp_buf_free(&x.sent);
	free(x.greet);
	return 0;
}

void
mp_actions_free(struct mp_action *a, size_t n)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(a[i].assignee);
		free(a[i].text);
	}
	free(a);
}
