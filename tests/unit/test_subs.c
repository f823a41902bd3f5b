/*
 * test_subs.c - the subscription registry: identity and deduplication,
 * configured versus remembered entries, the limit, the frames it builds
 * and its status view.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "subs.h"
#include "unit.h"

/*
 * A subscription of TYPE with NKEYS pairs given as name, value, ... in
 * the order written (config_sub_free it).
 */
static struct config_sub
sub_of(const char *type, size_t nkeys, ...)
{
	struct config_sub	sub;
	va_list			ap;
	size_t			i;

	memset(&sub, 0, sizeof sub);
	sub.entity_type = strdup(type);
	sub.nkeys = nkeys;
	sub.key_names = calloc(nkeys + 1, sizeof (char *));
	sub.key_values = calloc(nkeys + 1, sizeof (char *));
	va_start(ap, nkeys);
	for (i = 0; i < nkeys; i++) {
		sub.key_names[i] = strdup(va_arg(ap, const char *));
		sub.key_values[i] = strdup(va_arg(ap, const char *));
	}
	va_end(ap);
	return sub;
}

/* The frame for SUB, compared with EXPECT, then freed. */
static void
check_frame(const struct config_sub *sub, const char *action,
    unsigned page_size, const char *replay_from, const char *expect)
{
	char	*text = subs_frame(sub, action, page_size, replay_from);

	ck_assert_str_eq(text, expect);
	free(text);
}

START_TEST(test_add_and_dedup)
{
	struct subs		*s = subs_new(10);
	struct config_sub	 a = sub_of("rulesengine.Company", 2,
				    "company_id", "acme", "region", "eu");
	struct config_sub	 a_reordered = sub_of("rulesengine.Company", 2,
				    "region", "eu", "company_id", "acme");
	struct config_sub	 other_value = sub_of("rulesengine.Company", 2,
				    "company_id", "acme", "region", "us");
	struct config_sub	 fewer_keys = sub_of("rulesengine.Company", 1,
				    "company_id", "acme");
	struct config_sub	 other_type = sub_of("rulesengine.User", 2,
				    "company_id", "acme", "region", "eu");

	ck_assert_int_eq(subs_add(s, &a, 0), SUBS_ADDED);
	ck_assert_int_eq(subs_add(s, &a, 0), SUBS_DUPLICATE);
	ck_assert_int_eq(subs_add(s, &a_reordered, 0), SUBS_DUPLICATE);
	ck_assert_uint_eq(subs_count(s), 1);
	ck_assert_int_eq(subs_add(s, &other_value, 0), SUBS_ADDED);
	ck_assert_int_eq(subs_add(s, &fewer_keys, 0), SUBS_ADDED);
	ck_assert_int_eq(subs_add(s, &other_type, 0), SUBS_ADDED);
	ck_assert_uint_eq(subs_count(s), 4);
	ck_assert_uint_eq(subs_runtime_count(s), 4);
	/* The registry holds copies: the caller's may go. */
	config_sub_free(&a);
	config_sub_free(&other_value);
	ck_assert_int_eq(subs_add(s, &a_reordered, 0), SUBS_DUPLICATE);
	config_sub_free(&a_reordered);
	config_sub_free(&fewer_keys);
	config_sub_free(&other_type);
	subs_free(s);
}
END_TEST

START_TEST(test_remove_keeps_order)
{
	struct subs		*s = subs_new(10);
	struct config_sub	 flags = sub_of("rulesengine.Flags", 0);
	struct config_sub	 c1 = sub_of("rulesengine.Company", 1, "id", "1");
	struct config_sub	 c2 = sub_of("rulesengine.Company", 1, "id", "2");
	struct config_sub	 c3 = sub_of("rulesengine.Company", 1, "id", "3");
	const struct config_sub	*got;
	int			 configured = -1;

	ck_assert_int_eq(subs_add(s, &flags, 1), SUBS_ADDED);
	ck_assert_int_eq(subs_add(s, &c1, 0), SUBS_ADDED);
	ck_assert_int_eq(subs_add(s, &c2, 0), SUBS_ADDED);
	ck_assert_int_eq(subs_add(s, &c3, 0), SUBS_ADDED);
	ck_assert_int_eq(subs_remove(s, &c2), SUBS_REMOVED);
	ck_assert_int_eq(subs_remove(s, &c2), SUBS_UNKNOWN);
	ck_assert_int_eq(subs_remove(s, &flags), SUBS_CONFIGURED);
	ck_assert_uint_eq(subs_count(s), 3);
	ck_assert_uint_eq(subs_runtime_count(s), 2);
	got = subs_get(s, 0, &configured);
	ck_assert_str_eq(got->entity_type, "rulesengine.Flags");
	ck_assert_int_eq(configured, 1);
	got = subs_get(s, 1, &configured);
	ck_assert_str_eq(got->key_values[0], "1");
	ck_assert_int_eq(configured, 0);
	ck_assert_str_eq(subs_get(s, 2, NULL)->key_values[0], "3");
	ck_assert_ptr_null(subs_get(s, 3, NULL));
	/* Removed, it can be made again, and goes last. */
	ck_assert_int_eq(subs_add(s, &c2, 0), SUBS_ADDED);
	ck_assert_str_eq(subs_get(s, 3, NULL)->key_values[0], "2");
	config_sub_free(&flags);
	config_sub_free(&c1);
	config_sub_free(&c2);
	config_sub_free(&c3);
	subs_free(s);
}
END_TEST

START_TEST(test_limit_counts_runtime_only)
{
	struct subs		*s = subs_new(2);
	struct config_sub	 conf1 = sub_of("rulesengine.Flags", 0);
	struct config_sub	 conf2 = sub_of("rulesengine.Users", 0);
	struct config_sub	 u1 = sub_of("rulesengine.User", 1, "user_id", "1");
	struct config_sub	 u2 = sub_of("rulesengine.User", 1, "user_id", "2");
	struct config_sub	 u3 = sub_of("rulesengine.User", 1, "user_id", "3");

	ck_assert_int_eq(subs_add(s, &conf1, 1), SUBS_ADDED);
	ck_assert_int_eq(subs_add(s, &conf2, 1), SUBS_ADDED);
	ck_assert_int_eq(subs_add(s, &u1, 0), SUBS_ADDED);
	ck_assert_int_eq(subs_add(s, &u2, 0), SUBS_ADDED);
	ck_assert_int_eq(subs_add(s, &u3, 0), SUBS_FULL);
	/* A duplicate is no new entry, so the limit does not refuse it. */
	ck_assert_int_eq(subs_add(s, &u2, 0), SUBS_DUPLICATE);
	ck_assert_int_eq(subs_add(s, &conf1, 0), SUBS_DUPLICATE);
	ck_assert_uint_eq(subs_count(s), 4);
	ck_assert_int_eq(subs_remove(s, &u1), SUBS_REMOVED);
	ck_assert_int_eq(subs_add(s, &u3, 0), SUBS_ADDED);
	ck_assert_int_eq(subs_remove(s, &u3), SUBS_REMOVED);
	config_sub_free(&conf1);
	config_sub_free(&conf2);
	config_sub_free(&u1);
	config_sub_free(&u2);
	config_sub_free(&u3);
	subs_free(s);

	/* A limit of 0: only configured subscriptions. */
	s = subs_new(0);
	u1 = sub_of("rulesengine.User", 1, "user_id", "1");
	ck_assert_int_eq(subs_add(s, &u1, 0), SUBS_FULL);
	ck_assert_int_eq(subs_add(s, &u1, 1), SUBS_ADDED);
	config_sub_free(&u1);
	subs_free(s);
}
END_TEST

START_TEST(test_remembered_becomes_configured)
{
	struct subs		*s = subs_new(5);
	struct config_sub	 c = sub_of("rulesengine.Company", 1, "id", "9");
	int			 configured = 0;

	ck_assert_int_eq(subs_add(s, &c, 0), SUBS_ADDED);
	ck_assert_uint_eq(subs_runtime_count(s), 1);
	ck_assert_int_eq(subs_add(s, &c, 1), SUBS_DUPLICATE);
	ck_assert_uint_eq(subs_runtime_count(s), 0);
	subs_get(s, 0, &configured);
	ck_assert_int_eq(configured, 1);
	ck_assert_int_eq(subs_remove(s, &c), SUBS_CONFIGURED);
	config_sub_free(&c);
	subs_free(s);
}
END_TEST

/* What subs_replace_configured reported, as "action type" strings. */
static char	changes[8][64];
static int	nchanges;

static void
record_change(void *arg, const struct config_sub *sub, const char *action)
{
	(void)arg;
	snprintf(changes[nchanges++], sizeof changes[0], "%s %s", action,
	    sub->entity_type);
}

/* A reload stops what the configuration dropped and starts what it added. */
START_TEST(test_replace_configured)
{
	struct subs		*s = subs_new(5);
	struct config_sub	 flags = sub_of("rulesengine.Flags", 0);
	struct config_sub	 users = sub_of("rulesengine.Users", 0);
	struct config_sub	 co = sub_of("rulesengine.Company", 1, "id", "9");
	struct config_sub	 old_list[2], new_list[2];
	int			 configured = 0;

	old_list[0] = flags;
	old_list[1] = users;
	subs_add(s, &flags, 1);
	subs_add(s, &users, 1);
	subs_add(s, &co, 0);			/* made at run time */
	new_list[0] = flags;
	new_list[1] = co;			/* now configured too */
	nchanges = 0;
	subs_replace_configured(s, new_list, 2, record_change, NULL);
	ck_assert_int_eq(nchanges, 1);
	ck_assert_str_eq(changes[0], "stop rulesengine.Users");
	ck_assert_uint_eq(subs_count(s), 2);
	ck_assert_uint_eq(subs_runtime_count(s), 0);
	subs_get(s, 1, &configured);
	ck_assert_int_eq(configured, 1);
	/* and back: Users is started again, Company stays (configured) */
	nchanges = 0;
	subs_replace_configured(s, old_list, 2, record_change, NULL);
	ck_assert_int_eq(nchanges, 2);
	ck_assert_str_eq(changes[0], "stop rulesengine.Company");
	ck_assert_str_eq(changes[1], "start rulesengine.Users");
	ck_assert_uint_eq(subs_count(s), 2);
	config_sub_free(&flags);
	config_sub_free(&users);
	config_sub_free(&co);
	subs_free(s);
}
END_TEST

START_TEST(test_frames)
{
	struct config_sub	flags = sub_of("rulesengine.Flags", 0);
	struct config_sub	company = sub_of("rulesengine.Company", 2,
				    "z_key", "last", "company_id", "acme-123");
	struct config_sub	odd = sub_of("rulesengine.User", 1,
				    "user_id", "q\"u\\o\te \xc3\xa9");

	check_frame(&flags, "start", 100, NULL,
	    "{\"data\":{\"action\":\"start\",\"entity_type\":"
	    "\"rulesengine.Flags\",\"page_size\":100}}");
	check_frame(&flags, "start", 0, NULL,
	    "{\"data\":{\"action\":\"start\",\"entity_type\":"
	    "\"rulesengine.Flags\"}}");
	check_frame(&flags, "stop", 100, NULL,
	    "{\"data\":{\"action\":\"stop\",\"entity_type\":"
	    "\"rulesengine.Flags\"}}");
	/* Keys come out sorted by name; page_size is for flags only. */
	check_frame(&company, "start", 100, NULL,
	    "{\"data\":{\"action\":\"start\",\"entity_type\":"
	    "\"rulesengine.Company\",\"keys\":{\"company_id\":\"acme-123\","
	    "\"z_key\":\"last\"}}}");
	check_frame(&company, "stop", 0, "",
	    "{\"data\":{\"action\":\"stop\",\"entity_type\":"
	    "\"rulesengine.Company\",\"keys\":{\"company_id\":\"acme-123\","
	    "\"z_key\":\"last\"}}}");
	check_frame(&company, "start", 0, "1750000123456-7",
	    "{\"data\":{\"action\":\"start\",\"entity_type\":"
	    "\"rulesengine.Company\",\"keys\":{\"company_id\":\"acme-123\","
	    "\"z_key\":\"last\"},\"replay_from\":\"1750000123456-7\"}}");
	check_frame(&odd, "start", 0, NULL,
	    "{\"data\":{\"action\":\"start\",\"entity_type\":"
	    "\"rulesengine.User\",\"keys\":{\"user_id\":"
	    "\"q\\\"u\\\\o\\te \xc3\xa9\"}}}");
	config_sub_free(&flags);
	config_sub_free(&company);
	config_sub_free(&odd);
}
END_TEST

START_TEST(test_json_view)
{
	struct subs		*s = subs_new(5);
	struct config_sub	 flags = sub_of("rulesengine.Flags", 0);
	struct config_sub	 user = sub_of("rulesengine.User", 2,
				    "user_id", "u-42", "email", "a@b.c");
	json_t			*j;
	char			*text;

	ck_assert_int_eq(subs_has_type(s, "rulesengine.Flags"), 0);
	subs_add(s, &flags, 1);
	subs_add(s, &user, 0);
	ck_assert_int_eq(subs_has_type(s, "rulesengine.Flags"), 1);
	ck_assert_int_eq(subs_has_type(s, "rulesengine.Users"), 0);
	j = subs_json(s);
	text = json_dumps(j, JSON_COMPACT);
	ck_assert_str_eq(text,
	    "[{\"entity_type\":\"rulesengine.Flags\",\"configured\":true},"
	    "{\"entity_type\":\"rulesengine.User\",\"keys\":{\"email\":"
	    "\"a@b.c\",\"user_id\":\"u-42\"},\"configured\":false}]");
	free(text);
	json_decref(j);
	config_sub_free(&flags);
	config_sub_free(&user);
	subs_free(s);
	s = subs_new(0);
	j = subs_json(s);
	ck_assert_uint_eq(json_array_size(j), 0);
	json_decref(j);
	subs_free(s);
}
END_TEST

START_TEST(test_describe)
{
	struct config_sub	 user = sub_of("rulesengine.User", 2,
				    "user_id", "u\n42", "a", "b\x7f");
	struct config_sub	 big;
	char			*text, *long_value;

	text = subs_describe(&user);
	ck_assert_str_eq(text, "rulesengine.User a=b\\x7f user_id=u\\x0a42");
	free(text);
	config_sub_free(&user);

	long_value = malloc(2001);
	memset(long_value, 'v', 2000);
	long_value[2000] = '\0';
	big = sub_of("rulesengine.Company", 1, "id", long_value);
	text = subs_describe(&big);
	ck_assert_uint_lt(strlen(text), 512);
	ck_assert(strncmp(text, "rulesengine.Company id=vvv", 26) == 0);
	free(text);
	free(long_value);
	config_sub_free(&big);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("subs");
	TCase	*tc = tcase_create("subs");

	tcase_add_test(tc, test_add_and_dedup);
	tcase_add_test(tc, test_remove_keeps_order);
	tcase_add_test(tc, test_limit_counts_runtime_only);
	tcase_add_test(tc, test_remembered_becomes_configured);
	tcase_add_test(tc, test_replace_configured);
	tcase_add_test(tc, test_frames);
	tcase_add_test(tc, test_json_view);
	tcase_add_test(tc, test_describe);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
