// SPDX-License-Identifier: GPL-2.0
/*
 * tcshaped: per-key rate limits on tc clsact hooks, from a YAML policy.
 * argv in, daemon run, exit code out; the work is in daemon.c and loop.c.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "log.h"
#include "loop.h"
#include "policy_check.h"

/*
 * The packaging's word for the next stop, overriding settings.on_stop once:
 * "keep" while a package upgrade restarts the service (no gap in the
 * limits), "remove" when the package is removed (nothing left behind).
 */
#define TCS_ON_STOP_FILE	"/run/tcshaped/on-stop"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tcshaped [-c FILE] [--pin-dir DIR] [--watch] [-v] [--check]\n"
		"Enforce the per-key rate limits of a YAML policy on tc clsact hooks.\n\n"
		"  -c, --config FILE   policy file (default " TCS_DEFAULT_POLICY ")\n"
		"  -p, --pin-dir DIR   where the BPF maps are pinned, on a bpffs\n"
		"                      (default " TCS_DEFAULT_PIN_DIR ")\n"
		"  -w, --watch         reload when the policy file changes (also a\n"
		"                      Kubernetes ConfigMap volume's ..data swap)\n"
		"  -n, --check         validate the policy and exit: 0 valid, 1 not\n"
		"  -v, --verbose       debug output\n"
		"  -h, --help          this text\n\n"
		"SIGHUP re-reads the policy (an invalid one is rejected, the old one stays);\n"
		"SIGTERM and SIGINT detach and exit. See tcshaped(8).\n");
}

static void on_stop_override(struct daemon *d)
{
	char word[16] = "";
	FILE *f = fopen(TCS_ON_STOP_FILE, "re");

	if (!f)
		return;
	if (!fgets(word, sizeof(word), f))
		word[0] = '\0';
	fclose(f);
	unlink(TCS_ON_STOP_FILE);
	word[strcspn(word, "\n")] = '\0';
	if (strcmp(word, "keep") && strcmp(word, "remove")) {
		log_warn("%s: \"%s\" is neither keep nor remove; settings.on_stop decides",
			 TCS_ON_STOP_FILE, word);
		return;
	}
	log_info("%s: %s the datapath on this stop", TCS_ON_STOP_FILE, word);
	daemon_override_on_stop(d, word[0] == 'k');
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "check", no_argument, NULL, 'n' },
		{ "watch", no_argument, NULL, 'w' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct daemon_opts o = { .policy_path = TCS_DEFAULT_POLICY,
				 .pin_dir = TCS_DEFAULT_PIN_DIR };
	int c, check = 0, watch = 0, level = LOG_INFO, err;
	struct daemon *d;
	sigset_t sigs;

	while ((c = getopt_long(argc, argv, "c:p:nwvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.policy_path = optarg;
			break;
		case 'p':
			o.pin_dir = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'w':
			watch = 1;
			break;
		case 'v':
			level = level < LOG_DEBUG ? level + 1 : level;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tcshaped: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (check)
		return policy_check_file(o.policy_path) ? 1 : 0;

	log_init(level);
	/* a SIGTERM while starting is acted on once started, by the loop: a clean stop */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	err = daemon_start(&o, &d);
	if (err) {
		/* systemd shows the cause, not just "failed" */
		sd_notifyf(0, "STATUS=not started: %s", log_first_error()[0] ? log_first_error()
									  : strerror(-err));
		log_err("not started: %s", strerror(-err));
		return 1;
	}
	err = loop_run(d, watch ? o.policy_path : NULL);
	on_stop_override(d);
	daemon_stop(d);
	log_info("stopped");
	return err ? 1 : 0;
}
