/*
 * cmd_admin.c: `postcard admin ...`, the client of postcardd's admin API (docs/api.md) over
 * HTTPS with libcurl: TLS 1.2 or later, the server certificate checked against --cacert (or
 * the system store), the bearer token read from --admin-token-file and never printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli.h"
#include "postcard/crypto.h"

#define ADMIN_REPLY_MAX (64u * 1024u * 1024u)
#define ADMIN_UPLOAD_MAX (64u * 1024u * 1024u)
#define ADMIN_TOKEN_MAX 256

typedef struct admin_opts {
	const char *server, *token_file, *cacert;
	const char *id, *profile, *kdd, *fingerprint, *name, *params, *state;
	const char *scp, *i, *after, *limit;
} admin_opts;

typedef struct buf {
	char *p;
	size_t n, cap;
	int over;
} buf;

static void
admin_help(FILE *f)
{
	fprintf(f,
	    "usage: postcard admin [--server URL] [--admin-token-file F] [--cacert F] <what> ...\n"
	    "\n"
	    "The admin API of postcardd (docs/api.md).\n"
	    "  upload FILE.cap                         add a load file to the catalogue\n"
	    "  loadfiles                               list the catalogue\n"
	    "  register-card --id HEX --profile NAME [--kdd HEX] [--scp 2|3] [--i N]\n"
	    "  register-agent --id ID --fingerprint SHA256HEX [--name TEXT]\n"
	    "  queue CARD TYPE [--params JSON]         queue a job (install, delete, personalise,\n"
	    "                                          data-change, lock-app, unlock-app, lock-card,\n"
	    "                                          unlock-card, terminate, rotate-keys)\n"
	    "  job ID | cancel ID                      job status; cancel a queued job\n"
	    "  card ID | jobs CARD [--state S,...]     the card's view; its jobs\n"
	    "  profile NAME | agent ID\n"
	    "  audit [--after N] [--limit N] | audit-verify\n"
	    "\n"
	    "Connection (or POSTCARD_SERVER, POSTCARD_ADMIN_TOKEN_FILE, POSTCARD_CACERT):\n"
	    "  --server URL            https://127.0.0.1:8443 by default\n"
	    "  --admin-token-file F    file whose first line is the admin token\n"
	    "  --cacert F              CA certificate(s) of the server, PEM\n"
	    "\n"
	    "Examples:\n"
	    "  postcard admin --server https://127.0.0.1:8443 --admin-token-file admin.token \\\n"
	    "      --cacert ca.pem upload applet.cap\n"
	    "  postcard admin queue A0B1C2D3E4F5 install --params '{\"loadfile\": 1}'\n"
	    "  postcard --json admin audit --after 10\n");
}

static size_t
on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	buf *b = ud;
	size_t n = size * nmemb;

	if (b->over || n > ADMIN_REPLY_MAX - b->n) {
		b->over = 1;
		return 0;
	}
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 4096 : b->cap;
		char *q;

		while (cap < b->n + n + 1)
			cap *= 2;
		if ((q = realloc(b->p, cap)) == NULL)
			return 0;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

static pcard_err
read_token(const char *path, char *tok, size_t cap)
{
	uint8_t *p = NULL;
	size_t n = 0, len;
	pcard_err e;

	if ((e = pcard_file_read(path, ADMIN_TOKEN_MAX + 2, &p, &n)) != PCARD_OK)
		return e;
	for (len = 0; len < n && p[len] != '\r' && p[len] != '\n'; len++)
		;
	if (len == 0 || len >= cap) {
		e = PCARD_E_BAD_FILE;
	} else {
		memcpy(tok, p, len);
		tok[len] = '\0';
		e = PCARD_OK;
	}
	pcard_wipe(p, n);
	free(p);
	return e;
}

static pcard_err
err_of_status(long status)
{
	switch (status) {
	case 401:
	case 403:
		return PCARD_E_AUTH;
	case 404:
		return PCARD_E_NOT_FOUND;
	case 409:
		return PCARD_E_CONFLICT;
	case 503:
		return PCARD_E_BUSY;
	default:
		return status >= 400 && status < 500 ? PCARD_E_BAD_ENCODING : PCARD_E_INTERNAL;
	}
}

/*
 * One request. body/ctype may be NULL (GET). On a 2xx reply *reply is the parsed JSON; else
 * the error is reported (cli_fail) and its exit code returned in *rc.
 */
static int
request(cli_ctx *ctx, const admin_opts *o, const char *what, const char *method,
    const char *path, const void *body, size_t body_len, const char *ctype, json_t **reply)
{
	char tok[ADMIN_TOKEN_MAX + 1], hdr[ADMIN_TOKEN_MAX + 32], url[2048];
	struct curl_slist *h = NULL;
	buf b = { NULL, 0, 0, 0 };
	json_error_t je;
	CURL *c = NULL;
	CURLcode cc;
	long status = 0;
	int rc;
	pcard_err e;

	*reply = NULL;
	if (o->token_file == NULL)
		return cli_usage(ctx, "admin: --admin-token-file is needed (or POSTCARD_ADMIN_TOKEN_FILE)");
	if ((e = read_token(o->token_file, tok, sizeof tok)) != PCARD_OK)
		return cli_fail(ctx, e, "admin: token file %s", o->token_file);
	if (snprintf(url, sizeof url, "%s%s", o->server, path) >= (int)sizeof url) {
		pcard_wipe(tok, sizeof tok);
		return cli_usage(ctx, "admin: URL too long");
	}
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", tok);
	pcard_wipe(tok, sizeof tok);
	if ((c = curl_easy_init()) == NULL) {
		rc = cli_fail(ctx, PCARD_E_NOMEM, "admin: curl");
		goto out;
	}
	h = curl_slist_append(h, hdr);
	if (ctype != NULL) {
		char ct[128];

		snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
		h = curl_slist_append(h, ct);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->cacert);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		rc = cli_fail(ctx, PCARD_E_IO, "admin: %s %s: %s", what, o->server,
		    b.over ? "reply too large" : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	*reply = b.p != NULL ? json_loadb(b.p, b.n, 0, &je) : NULL;
	if (status < 200 || status > 299) {
		json_t *err = json_object_get(*reply, "error");
		const char *msg = json_string_value(json_object_get(err, "message"));
		const char *code = json_string_value(json_object_get(err, "code"));

		rc = cli_fail(ctx, err_of_status(status), "admin %s: HTTP %ld %s: %s", what, status,
		    code != NULL ? code : "?", msg != NULL ? msg : "(no JSON error)");
		json_decref(*reply);
		*reply = NULL;
		goto out;
	}
	if (*reply == NULL) {
		rc = cli_fail(ctx, PCARD_E_BAD_ENCODING, "admin %s: the reply is not JSON", what);
		goto out;
	}
	rc = PCARD_EXIT_OK;
out:
	pcard_wipe(hdr, sizeof hdr);
	curl_slist_free_all(h);
	if (c != NULL)
		curl_easy_cleanup(c);
	free(b.p);
	return rc;
}

/* Print the reply: --json as is; else a summary line when there is one, or indented JSON. */
static int
show(cli_ctx *ctx, const char *what, json_t *r)
{
	json_t *id = json_object_get(r, "id");

	if (ctx->json || id == NULL) {
		cli_json_print(r);
		return PCARD_EXIT_OK;
	}
	if (strcmp(what, "upload") == 0)
		printf("load file %lld: package %s version %s, %lld bytes, LFDB SHA-256 %s\n",
		    (long long)json_integer_value(id),
		    json_string_value(json_object_get(r, "aid")),
		    json_string_value(json_object_get(r, "version")),
		    (long long)json_integer_value(json_object_get(r, "size")),
		    json_string_value(json_object_get(r, "lfdb_hash")));
	else if (strcmp(what, "queue") == 0 || strcmp(what, "job") == 0 ||
	    strcmp(what, "cancel") == 0)
		printf("job %lld (%s, card %s): %s%s%s\n", (long long)json_integer_value(id),
		    json_string_value(json_object_get(r, "type")),
		    json_string_value(json_object_get(r, "card")),
		    json_string_value(json_object_get(r, "state")),
		    json_is_string(json_object_get(r, "reason")) ? ": " : "",
		    json_is_string(json_object_get(r, "reason")) ?
		    json_string_value(json_object_get(r, "reason")) : "");
	else if (strcmp(what, "register-card") == 0)
		printf("card %s registered (profile %s)\n", json_string_value(id),
		    json_string_value(json_object_get(r, "profile")));
	else if (strcmp(what, "register-agent") == 0)
		printf("agent %s registered\n", json_string_value(id));
	else {
		json_incref(r);
		cli_json_print(r);
	}
	json_decref(r);
	return PCARD_EXIT_OK;
}

static int
post_json(cli_ctx *ctx, const admin_opts *o, const char *what, const char *path, json_t *obj)
{
	char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_t *r = NULL;
	int rc;

	json_decref(obj);
	if (text == NULL)
		return cli_fail(ctx, PCARD_E_NOMEM, "admin %s", what);
	rc = request(ctx, o, what, "POST", path, text, strlen(text), "application/json", &r);
	free(text);
	return rc != PCARD_EXIT_OK ? rc : show(ctx, what, r);
}

static int
get(cli_ctx *ctx, const admin_opts *o, const char *what, const char *path)
{
	json_t *r = NULL;
	int rc = request(ctx, o, what, "GET", path, NULL, 0, NULL, &r);

	return rc != PCARD_EXIT_OK ? rc : show(ctx, what, r);
}

/* A path segment from the command line: only characters that need no escaping. */
static int
seg_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '.' || s[n] == '_' || s[n] == '-'))
			return 0;
	return n > 0 && n <= 128;
}

static int
uint_opt(const char *s, unsigned long max, json_int_t *v)
{
	char *end = NULL;
	unsigned long x;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return 0;
	x = strtoul(s, &end, 0);
	if (*end != '\0' || x > max)
		return 0;
	*v = (json_int_t)x;
	return 1;
}

static int
run(cli_ctx *ctx, const admin_opts *o, int n, char **pos)
{
	const char *what = pos[0];
	char path[512];
	json_t *obj;
	json_error_t je;

#define NEED(k) do { if (n != (k)) return cli_usage(ctx, "admin %s: expected %d argument(s) " \
	"(see 'postcard admin --help')", what, (k) - 1); } while (0)
#define SEG(s) do { if (!seg_ok(s)) return cli_usage(ctx, "admin %s: bad identifier '%s'", \
	what, (s)); } while (0)

	if (strcmp(what, "upload") == 0) {
		uint8_t *cap = NULL;
		size_t len = 0;
		json_t *r = NULL;
		pcard_err e;
		int rc;

		NEED(2);
		if ((e = pcard_file_read(pos[1], ADMIN_UPLOAD_MAX, &cap, &len)) != PCARD_OK)
			return cli_fail(ctx, e, "admin upload: %s", pos[1]);
		rc = request(ctx, o, what, "POST", "/admin/v1/loadfiles", cap, len,
		    "application/octet-stream", &r);
		free(cap);
		return rc != PCARD_EXIT_OK ? rc : show(ctx, what, r);
	}
	if (strcmp(what, "loadfiles") == 0) {
		NEED(1);
		return get(ctx, o, what, "/admin/v1/loadfiles");
	}
	if (strcmp(what, "register-card") == 0) {
		json_int_t v;

		NEED(1);
		if (o->id == NULL || o->profile == NULL)
			return cli_usage(ctx, "admin register-card: --id and --profile are needed");
		obj = json_pack("{s:s,s:s}", "id", o->id, "profile", o->profile);
		if (o->kdd != NULL)
			json_object_set_new(obj, "kdd", json_string(o->kdd));
		if (o->scp != NULL) {
			if (!uint_opt(o->scp, 255, &v)) {
				json_decref(obj);
				return cli_usage(ctx, "admin register-card: bad --scp");
			}
			json_object_set_new(obj, "scp", json_integer(v));
		}
		if (o->i != NULL) {
			if (!uint_opt(o->i, 255, &v)) {
				json_decref(obj);
				return cli_usage(ctx, "admin register-card: bad --i (0x70 or 112)");
			}
			json_object_set_new(obj, "i", json_integer(v));
		}
		return post_json(ctx, o, what, "/admin/v1/cards", obj);
	}
	if (strcmp(what, "register-agent") == 0) {
		NEED(1);
		if (o->id == NULL || o->fingerprint == NULL)
			return cli_usage(ctx, "admin register-agent: --id and --fingerprint are needed");
		obj = json_pack("{s:s,s:s}", "id", o->id, "fingerprint", o->fingerprint);
		if (o->name != NULL)
			json_object_set_new(obj, "name", json_string(o->name));
		return post_json(ctx, o, what, "/admin/v1/agents", obj);
	}
	if (strcmp(what, "queue") == 0) {
		json_t *params = NULL;

		NEED(3);
		SEG(pos[1]);
		if (o->params != NULL &&
		    (params = json_loads(o->params, JSON_REJECT_DUPLICATES, &je)) == NULL)
			return cli_usage(ctx, "admin queue: --params is not JSON: %s", je.text);
		obj = json_pack("{s:s}", "type", pos[2]);
		if (params != NULL)
			json_object_set_new(obj, "params", params);
		snprintf(path, sizeof path, "/admin/v1/cards/%s/jobs", pos[1]);
		return post_json(ctx, o, what, path, obj);
	}
	if (strcmp(what, "job") == 0 || strcmp(what, "cancel") == 0) {
		NEED(2);
		SEG(pos[1]);
		if (strcmp(what, "job") == 0) {
			snprintf(path, sizeof path, "/admin/v1/jobs/%s", pos[1]);
			return get(ctx, o, what, path);
		} else {
			json_t *r = NULL;
			int rc;

			snprintf(path, sizeof path, "/admin/v1/jobs/%s/cancel", pos[1]);
			rc = request(ctx, o, what, "POST", path, NULL, 0, NULL, &r);
			return rc != PCARD_EXIT_OK ? rc : show(ctx, what, r);
		}
	}
	if (strcmp(what, "card") == 0 || strcmp(what, "profile") == 0 ||
	    strcmp(what, "agent") == 0) {
		NEED(2);
		SEG(pos[1]);
		snprintf(path, sizeof path, "/admin/v1/%ss/%s", what, pos[1]);
		return get(ctx, o, what, path);
	}
	if (strcmp(what, "jobs") == 0) {
		NEED(2);
		SEG(pos[1]);
		if (o->state != NULL) {
			size_t k;

			for (k = 0; o->state[k] != '\0'; k++)
				if (!((o->state[k] >= 'a' && o->state[k] <= 'z') || o->state[k] == '_' ||
				    o->state[k] == ','))
					return cli_usage(ctx, "admin jobs: bad --state");
		}
		snprintf(path, sizeof path, "/admin/v1/cards/%s/jobs%s%s", pos[1],
		    o->state != NULL ? "?state=" : "", o->state != NULL ? o->state : "");
		return get(ctx, o, what, path);
	}
	if (strcmp(what, "audit") == 0) {
		json_int_t after = 0, limit = 0;

		NEED(1);
		if ((o->after != NULL && !uint_opt(o->after, 0x7fffffffUL, &after)) ||
		    (o->limit != NULL && !uint_opt(o->limit, 1000, &limit)))
			return cli_usage(ctx, "admin audit: bad --after or --limit");
		snprintf(path, sizeof path, "/admin/v1/audit?after=%lld&limit=%lld",
		    (long long)after, (long long)limit);
		return get(ctx, o, what, path);
	}
	if (strcmp(what, "audit-verify") == 0) {
		json_t *r = NULL;
		int rc, ok;

		NEED(1);
		if ((rc = request(ctx, o, what, "GET", "/admin/v1/audit/verify", NULL, 0, NULL,
		    &r)) != PCARD_EXIT_OK)
			return rc;
		ok = json_is_true(json_object_get(r, "ok"));
		if (ctx->json) {
			cli_json_print(r);
		} else {
			printf("audit chain: %s (%lld records, head %s)\n", ok ? "sound" : "BROKEN",
			    (long long)json_integer_value(json_object_get(r, "records")),
			    json_is_string(json_object_get(r, "head")) ?
			    json_string_value(json_object_get(r, "head")) : "-");
			json_decref(r);
		}
		return ok ? PCARD_EXIT_OK : pcard_exit_code(PCARD_E_VERIFY);
	}
	return cli_usage(ctx, "admin: unknown '%s' (see 'postcard admin --help')", what);
#undef NEED
#undef SEG
}

int
cmd_admin(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 'S' },
		{ "admin-token-file", required_argument, NULL, 'T' },
		{ "cacert", required_argument, NULL, 'C' },
		{ "id", required_argument, NULL, 'I' },
		{ "profile", required_argument, NULL, 'P' },
		{ "kdd", required_argument, NULL, 'K' },
		{ "scp", required_argument, NULL, 's' },
		{ "i", required_argument, NULL, 'i' },
		{ "fingerprint", required_argument, NULL, 'F' },
		{ "name", required_argument, NULL, 'N' },
		{ "params", required_argument, NULL, 'p' },
		{ "state", required_argument, NULL, 'x' },
		{ "after", required_argument, NULL, 'a' },
		{ "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	admin_opts o;
	char server[1025];
	char *pos[8];
	int n = 0, c, rc;

	memset(&o, 0, sizeof o);
	o.server = getenv("POSTCARD_SERVER");
	o.token_file = getenv("POSTCARD_ADMIN_TOKEN_FILE");
	o.cacert = getenv("POSTCARD_CACERT");
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'S': o.server = optarg; break;
		case 'T': o.token_file = optarg; break;
		case 'C': o.cacert = optarg; break;
		case 'I': o.id = optarg; break;
		case 'P': o.profile = optarg; break;
		case 'K': o.kdd = optarg; break;
		case 's': o.scp = optarg; break;
		case 'i': o.i = optarg; break;
		case 'F': o.fingerprint = optarg; break;
		case 'N': o.name = optarg; break;
		case 'p': o.params = optarg; break;
		case 'x': o.state = optarg; break;
		case 'a': o.after = optarg; break;
		case 'l': o.limit = optarg; break;
		case 'h':
			admin_help(stdout);
			return PCARD_EXIT_OK;
		default:
			return cli_bad_option(ctx, "admin", c, argv);
		}
	}
	for (; optind < argc; optind++) {
		if (n == (int)(sizeof pos / sizeof pos[0]))
			return cli_usage(ctx, "admin: too many arguments");
		pos[n++] = argv[optind];
	}
	if (n == 0) {
		admin_help(stderr);
		return PCARD_EXIT_USAGE;
	}
	if (o.server == NULL)
		o.server = "https://127.0.0.1:8443";
	if (strncmp(o.server, "https://", 8) != 0)
		return cli_usage(ctx, "admin: --server must be an https:// URL");
	if (strlen(o.server) > 1024)
		return cli_usage(ctx, "admin: --server is too long");
	snprintf(server, sizeof server, "%s", o.server);
	while (strlen(server) > 8 && server[strlen(server) - 1] == '/')
		server[strlen(server) - 1] = '\0';	/* paths start with a slash */
	o.server = server;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return cli_fail(ctx, PCARD_E_INTERNAL, "admin: curl init");
	rc = run(ctx, &o, n, pos);
	curl_global_cleanup();
	return rc;
}
