/*
 * srv_main.c: `postcardd --config FILE [-v]` and `postcardd check-config FILE`
 * (docs/server.md).
 *
 * Start-up order: configuration, store (migrations), key provider, profiles and agents of the
 * configuration into the store, then HTTPS. SIGINT and SIGTERM stop the daemon cleanly
 * (in-flight requests finish, the store is closed, the HSM session logged out).
 * Exit codes: 0 stopped on a signal, 2 usage, 3 bad configuration, 7 I/O (files, socket,
 * store), 5 HSM login refused, 1 anything else.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsm.h"
#include "postcard/crypto.h"
#include "server.h"
#include "store.h"

#ifndef POSTCARD_VERSION
#define POSTCARD_VERSION "0.1.0"
#endif

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: postcardd --config FILE [-v]\n"
	    "       postcardd check-config FILE\n"
	    "       postcardd --version\n"
	    "\n"
	    "postcardd serves the admin API and the agent protocol over HTTPS (docs/server.md).\n"
	    "  --config FILE  the JSON configuration (docs/server.md, \"Configuration\")\n"
	    "  -v             log one line per request on stderr\n"
	    "\n"
	    "Example:\n"
	    "  scripts/demo-pki /tmp/pc && postcardd --config /tmp/pc/postcardd.json\n");
}

/*
 * The key provider seam: the PKCS#11 provider of src/hsm when the configuration has an "hsm"
 * section; without one the server runs with no provider and refuses agent sessions (503).
 */
static pcard_err
open_keys(pcard_srv *srv, char *err, size_t err_cap)
{
	pcard_hsm_params hp;
	pcard_err e;

	if (!srv->cfg.hsm_enabled)
		return PCARD_OK;
	memset(&hp, 0, sizeof hp);
	hp.module = srv->cfg.hsm_module;
	hp.token_label = srv->cfg.hsm_token;
	hp.pin_file = srv->cfg.hsm_pin_file;
	if ((e = pcard_hsm_open(&hp, &srv->hsm)) != PCARD_OK) {
		snprintf(err, err_cap, "hsm (module %s, token %s): %s",
		    hp.module != NULL ? hp.module : PCARD_HSM_DEFAULT_MODULE, hp.token_label,
		    pcard_strerror(e));
		return e;
	}
	srv->keys = pcard_hsm_keys(srv->hsm);
	return PCARD_OK;
}

static int
exit_of(pcard_err e)
{
	switch (e) {
	case PCARD_E_BAD_FILE:
	case PCARD_E_BAD_ENCODING:
	case PCARD_E_INVALID_ARG:
		return 3;
	case PCARD_E_AUTH:
		return 5;
	case PCARD_E_IO:
	case PCARD_E_NOT_FOUND:
	case PCARD_E_BUSY:
	case PCARD_E_UNSUPPORTED:
		return 7;
	default:
		return 1;
	}
}

int
main(int argc, char **argv)
{
	pcard_srv srv;
	const char *config = NULL;
	char err[512] = "";
	sigset_t set;
	int check_only = 0, sig = 0, i, rc = 1;
	pcard_err e = PCARD_E_INTERNAL;

	memset(&srv, 0, sizeof srv);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("postcardd %s\n", POSTCARD_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config = argv[++i];
		} else if (strcmp(argv[i], "check-config") == 0 && i + 1 < argc && config == NULL) {
			config = argv[++i];
			check_only = 1;
		} else if (strcmp(argv[i], "-v") == 0) {
			srv.verbose = 1;
		} else {
			fprintf(stderr, "postcardd: unknown argument '%s' (see postcardd --help)\n",
			    argv[i]);
			return 2;
		}
	}
	if (config == NULL) {
		usage(stderr);
		return 2;
	}
	if ((e = pcard_srv_config_load(config, &srv.cfg, err, sizeof err)) != PCARD_OK) {
		fprintf(stderr, "postcardd: %s: %s\n", config, err[0] != '\0' ? err :
		    pcard_strerror(e));
		return 3;
	}
	if (check_only) {
		printf("postcardd: %s is valid\n", config);
		pcard_srv_config_clear(&srv.cfg);
		return 0;
	}
	if ((e = pcard_crypto_init()) != PCARD_OK) {
		snprintf(err, sizeof err, "crypto: %s", pcard_strerror(e));
		goto out;
	}
	if ((e = pcard_store_open_sqlite(srv.cfg.store, &srv.st)) != PCARD_OK) {
		snprintf(err, sizeof err, "store %s: %s", srv.cfg.store, pcard_strerror(e));
		goto out;
	}
	if ((e = open_keys(&srv, err, sizeof err)) != PCARD_OK ||
	    (e = pcard_srv_admin_sync_config(&srv, err, sizeof err)) != PCARD_OK)
		goto out;

	/* the daemon's thread inherits this mask: only this thread takes the signals */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((e = pcard_srv_http_start(&srv, err, sizeof err)) != PCARD_OK)
		goto out;
	fprintf(stderr, "postcardd: serving https://%s:%u/ (store %s, key provider %s)\n",
	    srv.cfg.listen, (unsigned)srv.bound_port, srv.cfg.store,
	    srv.hsm != NULL ? "pkcs11" : "none");
	if (sigwait(&set, &sig) != 0)
		sig = 0;
	fprintf(stderr, "postcardd: signal %d, stopping after %llu requests\n", sig,
	    (unsigned long long)srv.requests);
	e = PCARD_OK;
out:
	pcard_srv_http_stop(&srv);
	if (e != PCARD_OK) {
		fprintf(stderr, "postcardd: %s\n", err[0] != '\0' ? err : pcard_strerror(e));
		rc = exit_of(e);
	} else {
		rc = 0;
	}
	pcard_store_close(srv.st);
	pcard_hsm_close(srv.hsm);
	pcard_srv_config_clear(&srv.cfg);
	return rc;
}
