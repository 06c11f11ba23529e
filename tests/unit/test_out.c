// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for daemon/out.c: one sequence of calls printed as text and as
 * JSON (commas, nesting, escaping, a float's precision, null), and the
 * calls limited to one mode printing nothing in the other.
 */
#include <stdlib.h>

#include "check.h"
#include "out.h"

/* What a fixed sequence of calls prints in the mode JSON says. */
static char *render(bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	out_init(f, json);
	out_object_open(NULL);
	out_float(OUT_JSON, "interval", "%.3f", 1.00049);
	out_text("NAME     N\n");
	out_array_open("rows");
	out_object_open(NULL);
	out_string(OUT_ANY, "name", "%-8s ", "a\"b\\\n");
	out_uint(OUT_ANY, "n", "%llu", 18446744073709551615ull);
	out_float(OUT_ANY, "rate", " %6.1f\n", 2.25);
	out_object_close();
	out_object_open(NULL);
	out_bool(OUT_JSON, "on", NULL, true);
	out_null(OUT_ANY, "rtt", "%s", "-");
	out_uint(OUT_TEXT, NULL, " %llu", 7);
	out_uint(0, "never", "never", 1);
	out_object_open("sub");
	out_array_open("empty");
	out_array_close();
	out_object_close();
	out_object_close();
	out_array_close();
	out_text("\nend\n");
	out_object_close();
	fclose(f);
	return buf;
}

static int test_text(void)
{
	char *s = render(false);

	CHECK_STR(s, "NAME     N\na\"b\\\n    18446744073709551615    2.2\n- 7\nend\n");
	free(s);
	return 0;
}

static int test_json(void)
{
	char *s = render(true);

	CHECK_STR(s, "{\"interval\":1.000,\"rows\":[{\"name\":\"a\\\"b\\\\\\u000a\","
		     "\"n\":18446744073709551615,\"rate\":2.2},"
		     "{\"on\":true,\"rtt\":null,\"sub\":{\"empty\":[]}}]}\n");
	free(s);
	return 0;
}

int main(void)
{
	TEST(test_text);
	TEST(test_json);
	return tests_done("unit-out");
}
