/*
 * unit.h - what every check test program shares: run one suite, quietly
 * when TAP goes to stdout (make check sets CK_TAP_LOG_FILE_NAME=-), and
 * turn the result into the exit status.
 */
#ifndef STREAMD_TESTS_UNIT_H
#define STREAMD_TESTS_UNIT_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Run S (taking it over); EXIT_SUCCESS when every test passed. */
static inline int
unit_run(Suite *s)
{
	const char	*tap = getenv("CK_TAP_LOG_FILE_NAME");
	SRunner		*sr = srunner_create(s);
	int		 failed;

	srunner_run_all(sr, tap != NULL && strcmp(tap, "-") == 0 ?
	    CK_SILENT : CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
