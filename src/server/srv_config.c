/*
 * srv_config.c: postcardd's configuration file, one JSON object (docs/server.md):
 *
 *   {
 *     "listen": "127.0.0.1", "port": 8443, "port_file": "postcardd.port",
 *     "tls": { "cert": "server.pem", "key": "server.key", "client_ca": "ca.pem" },
 *     "admin": { "token_file": "admin.token" },
 *     "store": "postcard.db",
 *     "hsm": { "module": "/usr/lib/softhsm/libsofthsm2.so", "token": "postcard",
 *              "pin_file": "user.pin" },
 *     "profiles": [ { "name": "demo-scp03", "labels": ["demo-scp03-master"],
 *                     "template": "kdf3", "kvn": 48, "scp": 3, "i": 112, "enrol": false } ],
 *     "agents": [ { "id": "agent-1", "name": "desk 1", "fingerprint": "64 hex" } ],
 *     "limits": { "max_body": 65536, "max_upload": 1048576, "max_agent_body": 1048576,
 *                 "session_expiry": 300, "connection_timeout": 30, "max_connections": 64 },
 *     "security_level": 51,
 *     "reconcile": true
 *   }
 *
 * Unknown members anywhere are refused, so a misspelt option never goes unnoticed.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postcard/json.h"
#include "server.h"


/* A path member: NULL when absent (and not required); relative paths joined to dir. */
static pcard_err
path_member(const json_t *o, const char *name, const char *dir, int required, char **out,
    char *err, size_t cap)
{
	json_t *v = json_object_get(o, name);
	const char *s;

	*out = NULL;
	if (v == NULL)
		return required ? pcard_errf(err, cap, PCARD_E_BAD_FILE, "'%s' is missing", name) :
		    PCARD_OK;
	if (!json_is_string(v) || (s = json_string_value(v))[0] == '\0' ||
	    strlen(s) >= PATH_MAX)
		return pcard_errf(err, cap, PCARD_E_BAD_FILE,
		    "'%s' must be a non-empty path", name);
	if (s[0] == '/' || dir == NULL) {
		*out = strdup(s);
	} else {
		size_t n = strlen(dir) + 1 + strlen(s) + 1;

		if ((*out = malloc(n)) != NULL)
			snprintf(*out, n, "%s/%s", dir, s);
	}
	return *out == NULL ? PCARD_E_NOMEM : PCARD_OK;
}

static pcard_err
uint_member(const json_t *o, const char *name, uint64_t min, uint64_t max, uint64_t *v,
    char *err, size_t cap)
{
	json_t *j = json_object_get(o, name);

	if (j == NULL)
		return PCARD_OK;	/* keep the default */
	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    (uint64_t)json_integer_value(j) < min || (uint64_t)json_integer_value(j) > max)
		return pcard_errf(err, cap, PCARD_E_BAD_FILE,
		    "'%s' must be an integer in %llu..%llu",
		    name, (unsigned long long)min, (unsigned long long)max);
	*v = (uint64_t)json_integer_value(j);
	return PCARD_OK;
}

static int
is_hex_of(const char *s, size_t n)
{
	size_t i;

	if (strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

static pcard_err
check_profiles(const json_t *a, char *err, size_t cap)
{
	static const char *const allowed[] = { "name", "labels", "template", "kvn", "scp", "i",
		"enrol", NULL };
	size_t idx;
	json_t *p;

	if (!json_is_array(a))
		return pcard_errf(err, cap, PCARD_E_BAD_FILE, "'profiles' must be an array");
	json_array_foreach((json_t *)a, idx, p) {
		const char *bad = NULL;
		json_t *labels = json_object_get(p, "labels"), *l, *v;
		size_t j;

		if (!json_is_object(p))
			return pcard_errf(err, cap, PCARD_E_BAD_FILE,
			    "profiles[%zu] is not an object", idx);
		if ((bad = pcard_json_unknown_member(p, allowed)) != NULL)
			return pcard_errf(err, cap, PCARD_E_BAD_FILE,
			    "profiles[%zu]: unknown member '%s'",
			    idx, bad);
		v = json_object_get(p, "name");
		if (!json_is_string(v) || !pcard_srv_is_ident(json_string_value(v), 64))
			return pcard_errf(err, cap, PCARD_E_BAD_FILE,
			    "profiles[%zu].name must be 1..64 of [A-Za-z0-9._-]", idx);
		if (!json_is_array(labels) ||
		    (json_array_size(labels) != 1 && json_array_size(labels) != 3))
			return pcard_errf(err, cap, PCARD_E_BAD_FILE,
			    "profiles[%zu].labels must be an array of 1 or 3 labels", idx);
		json_array_foreach(labels, j, l)
			if (!json_is_string(l) || json_string_length(l) == 0 ||
			    json_string_length(l) > 63)
				return pcard_errf(err, cap, PCARD_E_BAD_FILE,
				    "profiles[%zu].labels[%zu] must be 1..63 characters", idx, j);
		v = json_object_get(p, "template");
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 15)
			return pcard_errf(err, cap, PCARD_E_BAD_FILE,
			    "profiles[%zu].template must be a template name", idx);
		v = json_object_get(p, "kvn");
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 255)
			return pcard_errf(err, cap, PCARD_E_BAD_FILE,
			    "profiles[%zu].kvn must be 1..255",
			    idx);
		v = json_object_get(p, "scp");
		if (!json_is_integer(v) || (json_integer_value(v) != 2 && json_integer_value(v) != 3))
			return pcard_errf(err, cap, PCARD_E_BAD_FILE,
			    "profiles[%zu].scp must be 2 or 3",
			    idx);
		v = json_object_get(p, "i");
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255)
			return pcard_errf(err, cap, PCARD_E_BAD_FILE,
			    "profiles[%zu].i must be 0..255", idx);
		v = json_object_get(p, "enrol");
		if (v != NULL && !json_is_boolean(v))
			return pcard_errf(err, cap, PCARD_E_BAD_FILE,
			    "profiles[%zu].enrol must be true or false",
			    idx);
	}
	return PCARD_OK;
}

static pcard_err
check_agents(const json_t *a, char *err, size_t cap)
{
	static const char *const allowed[] = { "id", "name", "fingerprint", NULL };
	size_t idx;
	json_t *p;

	if (!json_is_array(a))
		return pcard_errf(err, cap, PCARD_E_BAD_FILE, "'agents' must be an array");
	json_array_foreach((json_t *)a, idx, p) {
		const char *bad = NULL;
		json_t *v;

		if (!json_is_object(p))
			return pcard_errf(err, cap, PCARD_E_BAD_FILE,
			    "agents[%zu] is not an object", idx);
		if ((bad = pcard_json_unknown_member(p, allowed)) != NULL)
			return pcard_errf(err, cap, PCARD_E_BAD_FILE,
			    "agents[%zu]: unknown member '%s'",
			    idx, bad);
		v = json_object_get(p, "id");
		if (!json_is_string(v) || !pcard_srv_is_ident(json_string_value(v), 64))
			return pcard_errf(err, cap, PCARD_E_BAD_FILE,
			    "agents[%zu].id must be 1..64 of [A-Za-z0-9._-]", idx);
		v = json_object_get(p, "name");
		if (v != NULL && (!json_is_string(v) || json_string_length(v) > 64))
			return pcard_errf(err, cap, PCARD_E_BAD_FILE,
			    "agents[%zu].name: up to 64 characters",
			    idx);
		v = json_object_get(p, "fingerprint");
		if (!json_is_string(v) || !is_hex_of(json_string_value(v), 64))
			return pcard_errf(err, cap, PCARD_E_BAD_FILE,
			    "agents[%zu].fingerprint must be 64 hex digits (SHA-256)", idx);
	}
	return PCARD_OK;
}

pcard_err
pcard_srv_config_load(const char *path, pcard_srv_config *cfg, char *err, size_t err_cap)
{
	static const char *const top[] = { "listen", "port", "port_file", "tls", "admin", "store",
		"hsm", "profiles", "agents", "limits", "security_level", "reconcile", NULL };
	static const char *const tls_m[] = { "cert", "key", "client_ca", NULL };
	static const char *const admin_m[] = { "token_file", NULL };
	static const char *const hsm_m[] = { "module", "token", "pin_file", NULL };
	static const char *const lim_m[] = { "max_body", "max_upload", "max_agent_body",
		"session_expiry", "connection_timeout", "max_connections", NULL };
	json_t *root = NULL, *tls, *admin, *hsm, *lim, *v;
	json_error_t je;
	char *dcopy = NULL;
	const char *dir, *bad = NULL;
	uint64_t u;
	FILE *f = NULL;
	pcard_err e = PCARD_E_INTERNAL;

	memset(cfg, 0, sizeof *cfg);
	cfg->port = PCARD_SRV_DEFAULT_PORT;
	cfg->max_body = PCARD_SRV_DEFAULT_MAX_BODY;
	cfg->max_upload = PCARD_SRV_DEFAULT_MAX_UPLOAD;
	cfg->max_agent_body = PCARD_SRV_DEFAULT_MAX_AGENT_BODY;
	cfg->session_expiry = PCARD_SRV_DEFAULT_SESSION_EXPIRY;
	cfg->conn_timeout = PCARD_SRV_DEFAULT_CONN_TIMEOUT;
	cfg->max_connections = PCARD_SRV_DEFAULT_MAX_CONNECTIONS;
	cfg->level = 0x33;
	cfg->reconcile = 1;

	if ((f = fopen(path, "rb")) == NULL) {
		e = pcard_errf(err, err_cap, PCARD_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL || !json_is_object(root)) {
		e = pcard_errf(err, err_cap, PCARD_E_BAD_FILE, "%s:%d: %s", path, je.line,
		    root == NULL ? je.text : "the configuration must be a JSON object");
		goto out;
	}
	if ((bad = pcard_json_unknown_member(root, top)) != NULL) {
		e = pcard_errf(err, err_cap, PCARD_E_BAD_FILE, "unknown member '%s'", bad);
		goto out;
	}
	if ((cfg->path = strdup(path)) == NULL || (dcopy = strdup(path)) == NULL) {
		e = PCARD_E_NOMEM;
		goto out;
	}
	dir = dirname(dcopy);

	v = json_object_get(root, "listen");
	if (v != NULL && (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > 45)) {
		e = pcard_errf(err, err_cap, PCARD_E_BAD_FILE, "'listen' must be an IP address");
		goto out;
	}
	if ((cfg->listen = strdup(v != NULL ? json_string_value(v) : "127.0.0.1")) == NULL) {
		e = PCARD_E_NOMEM;
		goto out;
	}
	u = cfg->port;
	if ((e = uint_member(root, "port", 0, 65535, &u, err, err_cap)) != PCARD_OK)
		goto out;
	cfg->port = (uint16_t)u;
	u = cfg->level;
	if ((e = uint_member(root, "security_level", 0, 0x33, &u, err, err_cap)) != PCARD_OK)
		goto out;
	cfg->level = (uint8_t)u;
	v = json_object_get(root, "reconcile");
	if (v != NULL && !json_is_boolean(v)) {
		e = pcard_errf(err, err_cap, PCARD_E_BAD_FILE, "'reconcile' must be true or false");
		goto out;
	}
	cfg->reconcile = v == NULL || json_is_true(v);
	if ((e = path_member(root, "port_file", dir, 0, &cfg->port_file, err, err_cap)) != PCARD_OK ||
	    (e = path_member(root, "store", dir, 1, &cfg->store, err, err_cap)) != PCARD_OK)
		goto out;

	tls = json_object_get(root, "tls");
	if (!json_is_object(tls) || (bad = pcard_json_unknown_member(tls, tls_m)) != NULL) {
		e = pcard_errf(err, err_cap, PCARD_E_BAD_FILE,
		    tls == NULL || !json_is_object(tls) ? "'tls' must be an object%s%s" :
		    "tls: unknown member '%s'", bad != NULL ? bad : "", "");
		goto out;
	}
	if ((e = path_member(tls, "cert", dir, 1, &cfg->tls_cert, err, err_cap)) != PCARD_OK ||
	    (e = path_member(tls, "key", dir, 1, &cfg->tls_key, err, err_cap)) != PCARD_OK ||
	    (e = path_member(tls, "client_ca", dir, 1, &cfg->client_ca, err, err_cap)) != PCARD_OK)
		goto out;

	admin = json_object_get(root, "admin");
	if (!json_is_object(admin) || (bad = pcard_json_unknown_member(admin, admin_m)) != NULL) {
		e = pcard_errf(err, err_cap, PCARD_E_BAD_FILE,
		    admin == NULL || !json_is_object(admin) ? "'admin' must be an object%s%s" :
		    "admin: unknown member '%s'", bad != NULL ? bad : "", "");
		goto out;
	}
	if ((e = path_member(admin, "token_file", dir, 1, &cfg->admin_token_file, err,
	    err_cap)) != PCARD_OK)
		goto out;

	hsm = json_object_get(root, "hsm");
	if (hsm != NULL) {
		if (!json_is_object(hsm) || (bad = pcard_json_unknown_member(hsm, hsm_m)) != NULL) {
			e = pcard_errf(err, err_cap, PCARD_E_BAD_FILE,
			    !json_is_object(hsm) ? "'hsm' must be an object%s%s" :
			    "hsm: unknown member '%s'", bad != NULL ? bad : "", "");
			goto out;
		}
		cfg->hsm_enabled = 1;
		if ((e = path_member(hsm, "module", dir, 0, &cfg->hsm_module, err, err_cap)) !=
		    PCARD_OK ||
		    (e = path_member(hsm, "pin_file", dir, 1, &cfg->hsm_pin_file, err, err_cap)) !=
		    PCARD_OK)
			goto out;
		v = json_object_get(hsm, "token");
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 32) {
			e = pcard_errf(err, err_cap, PCARD_E_BAD_FILE,
			    "hsm.token must be a token label");
			goto out;
		}
		if ((cfg->hsm_token = strdup(json_string_value(v))) == NULL) {
			e = PCARD_E_NOMEM;
			goto out;
		}
	}

	v = json_object_get(root, "profiles");
	if (v != NULL && (e = check_profiles(v, err, err_cap)) != PCARD_OK)
		goto out;
	cfg->profiles = v != NULL ? json_incref(v) : json_array();
	v = json_object_get(root, "agents");
	if (v != NULL && (e = check_agents(v, err, err_cap)) != PCARD_OK)
		goto out;
	cfg->agents = v != NULL ? json_incref(v) : json_array();
	if (cfg->profiles == NULL || cfg->agents == NULL) {
		e = PCARD_E_NOMEM;
		goto out;
	}

	lim = json_object_get(root, "limits");
	if (lim != NULL) {
		if (!json_is_object(lim) || (bad = pcard_json_unknown_member(lim, lim_m)) != NULL) {
			e = pcard_errf(err, err_cap, PCARD_E_BAD_FILE,
			    !json_is_object(lim) ? "'limits' must be an object%s%s" :
			    "limits: unknown member '%s'", bad != NULL ? bad : "", "");
			goto out;
		}
		u = cfg->max_body;
		if ((e = uint_member(lim, "max_body", 256, 16u << 20, &u, err, err_cap)) != PCARD_OK)
			goto out;
		cfg->max_body = (size_t)u;
		u = cfg->max_upload;
		if ((e = uint_member(lim, "max_upload", 1024, 64u << 20, &u, err, err_cap)) !=
		    PCARD_OK)
			goto out;
		cfg->max_upload = (size_t)u;
		u = cfg->max_agent_body;
		if ((e = uint_member(lim, "max_agent_body", 1024, 16u << 20, &u, err, err_cap)) !=
		    PCARD_OK)
			goto out;
		cfg->max_agent_body = (size_t)u;
		u = cfg->session_expiry;
		if ((e = uint_member(lim, "session_expiry", 1, 86400, &u, err, err_cap)) != PCARD_OK)
			goto out;
		cfg->session_expiry = (unsigned)u;
		u = cfg->conn_timeout;
		if ((e = uint_member(lim, "connection_timeout", 1, 3600, &u, err, err_cap)) !=
		    PCARD_OK)
			goto out;
		cfg->conn_timeout = (unsigned)u;
		u = cfg->max_connections;
		if ((e = uint_member(lim, "max_connections", 1, 10000, &u, err, err_cap)) !=
		    PCARD_OK)
			goto out;
		cfg->max_connections = (unsigned)u;
	}
	e = PCARD_OK;
out:
	if (f != NULL)
		fclose(f);
	json_decref(root);
	free(dcopy);
	if (e != PCARD_OK)
		pcard_srv_config_clear(cfg);
	return e;
}

void
pcard_srv_config_clear(pcard_srv_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->listen);
	free(cfg->port_file);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->client_ca);
	free(cfg->admin_token_file);
	free(cfg->store);
	free(cfg->hsm_module);
	free(cfg->hsm_token);
	free(cfg->hsm_pin_file);
	json_decref(cfg->profiles);
	json_decref(cfg->agents);
	memset(cfg, 0, sizeof *cfg);
}
