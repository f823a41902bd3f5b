/*
 * subs.c - the registry of subscriptions sent on every connection.
 *
 * Holds the configured subscriptions (from the configuration file, never
 * removed at run time) and the remembered ones (made through the control
 * socket, kept until unsubscribed, at most max_runtime of them), in the
 * order they were made, which is the order they are sent in. Two
 * subscriptions are the same when their entity type and their set of
 * keys are equal; a subscription is stored once. Every entry is an owned
 * copy with its keys sorted by name, so frames and status are stable.
 *
 * Pure: builds frames as text, touches no socket; the upstream decides
 * when to send them.
 */
#include "autoconfig.h"

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "subs.h"
#include "util.h"

#define SUBS_FLAGS_TYPE	"rulesengine.Flags"

struct subs_entry {
	struct config_sub	 sub;
	int			 configured;
};

struct subs {
	struct subs_entry	*entries;
	size_t			 n;
	size_t			 cap;
	size_t			 runtime;	/* entries not configured */
	size_t			 max_runtime;
};

/* A registry that remembers at most MAX_RUNTIME control subscriptions. */
struct subs *
subs_new(size_t max_runtime)
{
	struct subs	*s = xcalloc(1, sizeof *s);

	s->max_runtime = max_runtime;
	return s;
}

/* Change the limit (on reload); entries already remembered stay. */
void
subs_set_max_runtime(struct subs *s, size_t max_runtime)
{
	s->max_runtime = max_runtime;
}

/* Free the registry and every entry. Accepts NULL. */
void
subs_free(struct subs *s)
{
	size_t	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		config_sub_free(&s->entries[i].sub);
	free(s->entries);
	free(s);
}

/* Copy SRC into DST with its keys sorted by name (insertion sort). */
static void
subs_sub_copy(struct config_sub *dst, const struct config_sub *src)
{
	size_t	i, j;
	char	*name, *value;

	dst->entity_type = xstrdup(src->entity_type);
	dst->nkeys = src->nkeys;
	dst->key_names = xreallocarray(NULL, src->nkeys, sizeof (char *));
	dst->key_values = xreallocarray(NULL, src->nkeys, sizeof (char *));
	for (i = 0; i < src->nkeys; i++) {
		name = xstrdup(src->key_names[i]);
		value = xstrdup(src->key_values[i]);
		for (j = i; j > 0 && strcmp(dst->key_names[j - 1], name) > 0;
		    j--) {
			dst->key_names[j] = dst->key_names[j - 1];
			dst->key_values[j] = dst->key_values[j - 1];
		}
		dst->key_names[j] = name;
		dst->key_values[j] = value;
	}
}

/* The index of the entry equal to SORTED, or -1. */
static ssize_t
subs_find(const struct subs *s, const struct config_sub *sorted)
{
	size_t	i;

	for (i = 0; i < s->n; i++) {
		if (config_sub_equal(&s->entries[i].sub, sorted))
			return (ssize_t)i;
	}
	return -1;
}

/*
 * Add SUB (copied; its keys in any order). CONFIGURED: it comes from the
 * configuration, is never removed and does not count against the limit;
 * a remembered entry equal to it becomes configured.
 */
enum subs_result
subs_add(struct subs *s, const struct config_sub *sub, int configured)
{
	struct config_sub	 copy;
	struct subs_entry	*e;
	ssize_t			 at;

	memset(&copy, 0, sizeof copy);
	subs_sub_copy(&copy, sub);
	if ((at = subs_find(s, &copy)) != -1) {
		e = &s->entries[at];
		if (configured && !e->configured) {
			e->configured = 1;
			s->runtime--;
		}
		config_sub_free(&copy);
		return SUBS_DUPLICATE;
	}
	if (!configured && s->runtime >= s->max_runtime) {
		config_sub_free(&copy);
		return SUBS_FULL;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->entries = xreallocarray(s->entries, s->cap,
		    sizeof *s->entries);
	}
	e = &s->entries[s->n++];
	e->sub = copy;
	e->configured = configured;
	if (!configured)
		s->runtime++;
	return SUBS_ADDED;
}

/* Forget SUB, if it was made at run time. */
enum subs_result
subs_remove(struct subs *s, const struct config_sub *sub)
{
	struct config_sub	copy;
	ssize_t			at;

	memset(&copy, 0, sizeof copy);
	subs_sub_copy(&copy, sub);
	at = subs_find(s, &copy);
	config_sub_free(&copy);
	if (at == -1)
		return SUBS_UNKNOWN;
	if (s->entries[at].configured)
		return SUBS_CONFIGURED;
	config_sub_free(&s->entries[at].sub);
	memmove(s->entries + at, s->entries + at + 1,
	    (s->n - (size_t)at - 1) * sizeof *s->entries);
	s->n--;
	s->runtime--;
	return SUBS_REMOVED;
}

/* Whether SUB is among the N subscriptions of LIST. */
static int
subs_in_list(const struct config_sub *sub, const struct config_sub *list,
    size_t n)
{
	struct config_sub	copy;
	size_t			i;
	int			found = 0;

	for (i = 0; i < n && !found; i++) {
		memset(&copy, 0, sizeof copy);
		subs_sub_copy(&copy, &list[i]);
		found = config_sub_equal(sub, &copy);
		config_sub_free(&copy);
	}
	return found;
}

/*
 * A reloaded configuration lists the N subscriptions in LIST: forget the
 * configured entries it no longer has (calling CHANGED with "stop" for
 * each, before it is freed) and add those it newly has (CHANGED with
 * "start"). An entry made at run time that the configuration now lists
 * becomes configured, and nothing is sent for it.
 */
void
subs_replace_configured(struct subs *s, const struct config_sub *list,
    size_t n, void (*changed)(void *, const struct config_sub *,
    const char *), void *arg)
{
	size_t	i = 0;

	while (i < s->n) {
		if (!s->entries[i].configured ||
		    subs_in_list(&s->entries[i].sub, list, n)) {
			i++;
			continue;
		}
		changed(arg, &s->entries[i].sub, "stop");
		config_sub_free(&s->entries[i].sub);
		memmove(s->entries + i, s->entries + i + 1,
		    (s->n - i - 1) * sizeof *s->entries);
		s->n--;
	}
	for (i = 0; i < n; i++)
		if (subs_add(s, &list[i], 1) == SUBS_ADDED)
			changed(arg, &list[i], "start");
}

/* Every subscription, configured or not. */
size_t
subs_count(const struct subs *s)
{
	return s->n;
}

/* The subscriptions made at run time (those the limit counts). */
size_t
subs_runtime_count(const struct subs *s)
{
	return s->runtime;
}

/* The I-th subscription, in the order made; *CONFIGURED if asked. */
const struct config_sub *
subs_get(const struct subs *s, size_t i, int *configured)
{
	if (i >= s->n)
		return NULL;
	if (configured != NULL)
		*configured = s->entries[i].configured;
	return &s->entries[i].sub;
}

/* Whether any subscription is of ENTITY_TYPE. */
int
subs_has_type(const struct subs *s, const char *entity_type)
{
	size_t	i;

	for (i = 0; i < s->n; i++) {
		if (strcmp(s->entries[i].sub.entity_type, entity_type) == 0)
			return 1;
	}
	return 0;
}

/* SUB's keys as a JSON object. */
static json_t *
subs_keys_json(const struct config_sub *sub)
{
	json_t	*keys = json_object();
	size_t	 i;

	for (i = 0; i < sub->nkeys; i++)
		json_object_set_new(keys, sub->key_names[i],
		    json_string(sub->key_values[i]));
	return keys;
}

/* Serialize compactly; out of memory is fatal, as everywhere. */
static char *
subs_dump(json_t *json)
{
	char	*text = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(json);
	if (text == NULL) {
		fputs("schematic-streamd: out of memory\n", stderr);
		exit(1);
	}
	return text;
}

/*
 * The frame asking the server to ACTION ("start" or "stop") SUB (its keys
 * sorted by name):
 * {"data":{"action":...,"entity_type":...,"keys":{...}}}, plus page_size
 * PAGE_SIZE on a flags start (0: none) and REPLAY_FROM (NULL or "":
 * none). Returns malloc'd text without a newline.
 */
char *
subs_frame(const struct config_sub *sub, const char *action,
    unsigned page_size, const char *replay_from)
{
	struct config_sub	 sorted;
	json_t			*data = json_object();

	memset(&sorted, 0, sizeof sorted);
	subs_sub_copy(&sorted, sub);
	json_object_set_new(data, "action", json_string(action));
	json_object_set_new(data, "entity_type",
	    json_string(sorted.entity_type));
	if (sorted.nkeys > 0)
		json_object_set_new(data, "keys", subs_keys_json(&sorted));
	if (page_size > 0 && strcmp(action, "start") == 0 &&
	    strcmp(sorted.entity_type, SUBS_FLAGS_TYPE) == 0)
		json_object_set_new(data, "page_size", json_integer(page_size));
	if (replay_from != NULL && *replay_from != '\0')
		json_object_set_new(data, "replay_from",
		    json_string(replay_from));
	config_sub_free(&sorted);
	return subs_dump(json_pack("{s:o}", "data", data));
}

/*
 * The registry for status: [{"entity_type":...,"keys":{...},
 * "configured":bool}, ...] in the order the subscriptions were made.
 */
json_t *
subs_json(const struct subs *s)
{
	json_t	*array = json_array(), *item;
	size_t	 i;

	for (i = 0; i < s->n; i++) {
		item = json_object();
		json_object_set_new(item, "entity_type",
		    json_string(s->entries[i].sub.entity_type));
		if (s->entries[i].sub.nkeys > 0)
			json_object_set_new(item, "keys",
			    subs_keys_json(&s->entries[i].sub));
		json_object_set_new(item, "configured",
		    json_boolean(s->entries[i].configured));
		json_array_append_new(array, item);
	}
	return array;
}

/* Append S to BUF (size SIZE, used *N), control characters as \xNN. */
static void
subs_append_escaped(char *buf, size_t size, size_t *n, const char *s)
{
	unsigned char	c;

	for (; (c = (unsigned char)*s) != '\0' && *n + 5 < size; s++) {
		if (c < 0x20 || c == 0x7f)
			*n += (size_t)snprintf(buf + *n, size - *n, "\\x%02x",
			    c);
		else
			buf[(*n)++] = (char)c;
	}
	buf[*n] = '\0';
}

/*
 * SUB for a log line: "TYPE KEY=VALUE ..." (keys sorted), control
 * characters escaped, cut at 512 bytes. Returns malloc'd text.
 */
char *
subs_describe(const struct config_sub *sub)
{
	struct config_sub	sorted;
	char			buf[512];
	size_t			n = 0, i;

	memset(&sorted, 0, sizeof sorted);
	subs_sub_copy(&sorted, sub);
	buf[0] = '\0';
	subs_append_escaped(buf, sizeof buf, &n, sorted.entity_type);
	for (i = 0; i < sorted.nkeys; i++) {
		subs_append_escaped(buf, sizeof buf, &n, " ");
		subs_append_escaped(buf, sizeof buf, &n, sorted.key_names[i]);
		subs_append_escaped(buf, sizeof buf, &n, "=");
		subs_append_escaped(buf, sizeof buf, &n, sorted.key_values[i]);
	}
	config_sub_free(&sorted);
	return xstrdup(buf);
}
