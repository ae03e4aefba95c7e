/*
 * srv_http.c: postcardd's HTTPS front (libmicrohttpd 0.9.75 over GnuTLS).
 *
 * - TLS 1.2 and 1.3 only (GnuTLS priority string below); HTTP/1.1 keep-alive, connections
 *   closed after limits.connection_timeout idle seconds.
 * - The server asks every client for a certificate (libmicrohttpd sets GNUTLS_CERT_REQUEST when
 *   a trust list is given) but does not require one at the handshake: admin requests carry a
 *   bearer token instead; agent requests are refused here unless the certificate verifies
 *   against tls.client_ca and its SHA-256 fingerprint names a known agent.
 * - Every check that needs no body runs on the first call of the access handler, before a
 *   byte of the body is read: a request without credentials, or whose Content-Length is over
 *   the route's limit, is answered at once. A body without a length (chunked) is read up to
 *   the limit and the rest discarded, then answered 413. Nothing reaches a handler unless it
 *   passed these checks.
 *
 * Routes: /admin/... (token) -> srv_admin.c; /agent/... (certificate) -> srv_agent.c;
 * GET /health (no credential) -> {"ok": true}. Everything else is 404.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/file.h"
#include "server.h"
#include "srv_killpoint.h"

#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

enum route { ROUTE_OTHER = 0, ROUTE_ADMIN, ROUTE_AGENT, ROUTE_HEALTH };

typedef struct conn_ctx {
	int route;
	int answered;			/* a reply was queued on the first call */
	int too_big;
	uint8_t *buf;
	size_t len, cap, limit;
	char agent_id[65];
	char fp[65];
} conn_ctx;

static pcard_srv *the_srv;
/* The PEM texts given to libmicrohttpd, kept until the daemon stops (the key wiped then). */
static char *tls_cert_pem, *tls_key_pem, *tls_ca_pem;
static size_t tls_key_len;

/* pcard_file_read, typed for the PEM and token texts (NUL-terminated there). */
static pcard_err
read_small_file(const char *path, size_t max, char **out, size_t *out_len)
{
	uint8_t *p = NULL;
	pcard_err err;

	if ((err = pcard_file_read(path, max, &p, out_len)) == PCARD_OK)
		*out = (char *)p;
	return err;
}

static enum MHD_Result
send_json(struct MHD_Connection *c, unsigned status, json_t *body)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *text = NULL;
	size_t n;

	if (body != NULL)
		text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (text == NULL) {
		status = 500;
		text = strdup("{\"error\":{\"status\":500,\"code\":\"internal\","
		    "\"message\":\"reply could not be encoded\"}}");
		if (text == NULL)
			return MHD_NO;
	}
	n = strlen(text);
	r = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == 401)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"postcardd\"");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
reply(struct MHD_Connection *c, conn_ctx *cx, const char *method, const char *url,
    unsigned status, json_t *body)
{
	enum MHD_Result ret = send_json(c, status, body);

	the_srv->requests++;
	if (the_srv->verbose)
		fprintf(stderr, "postcardd: %s %s -> %u\n", method, url, status);
	if (cx != NULL)
		cx->answered = 1;
	json_decref(body);
	return ret;
}

/* 0 when the Authorization header carries the admin token, else 401 and *out. */
static unsigned
check_admin(struct MHD_Connection *c, json_t **out)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	uint8_t got[PCARD_SRV_HASH_BYTES];
	size_t n;
	int ok;

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
		return pcard_srv_error(out, 401, "unauthorized",
		    "the admin API needs 'Authorization: Bearer <token>'");
	h += 7;
	if (pcard_digest(PCARD_HASH_SHA256, (const uint8_t *)h, strlen(h), got, sizeof got,
	    &n) != PCARD_OK)
		return pcard_srv_error(out, 500, "internal", "digest failed");
	/* constant time over the digests, so neither the token nor its length leaks */
	ok = pcard_ct_eq(got, the_srv->admin_token_hash, sizeof got);
	pcard_wipe(got, sizeof got);
	if (!ok)
		return pcard_srv_error(out, 401, "unauthorized", "wrong admin token");
	return 0;
}

/* 0 when the client certificate verifies and names a known agent (cx filled). */
static unsigned
check_agent(struct MHD_Connection *c, conn_ctx *cx, json_t **out)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *peers;
	unsigned int npeers = 0, status = 0;
	gnutls_session_t s;
	uint8_t fp[PCARD_SRV_HASH_BYTES];
	size_t n;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return pcard_srv_error(out, 401, "no_certificate", "agent endpoints need TLS");
	s = (gnutls_session_t)ci->tls_session;
	peers = gnutls_certificate_get_peers(s, &npeers);
	if (peers == NULL || npeers == 0)
		return pcard_srv_error(out, 401, "no_certificate",
		    "agent endpoints need a client certificate");
	if (gnutls_certificate_verify_peers2(s, &status) != GNUTLS_E_SUCCESS || status != 0)
		return pcard_srv_error(out, 403, "bad_certificate",
		    "the client certificate does not verify against the agent CA");
	if (pcard_digest(PCARD_HASH_SHA256, peers[0].data, peers[0].size, fp, sizeof fp, &n) !=
	    PCARD_OK || pcard_hex_encode(fp, sizeof fp, cx->fp, sizeof cx->fp) != PCARD_OK)
		return pcard_srv_error(out, 500, "internal", "digest failed");
	for (n = 0; cx->fp[n] != '\0'; n++)	/* the store keeps lower-case hex */
		if (cx->fp[n] >= 'A' && cx->fp[n] <= 'F')
			cx->fp[n] = (char)(cx->fp[n] - 'A' + 'a');
	return pcard_srv_agent_lookup(the_srv, cx->fp, cx->agent_id, sizeof cx->agent_id, out);
}

static int
route_of(const char *url)
{
	if (strncmp(url, "/admin/", 7) == 0)
		return ROUTE_ADMIN;
	if (strncmp(url, "/agent/", 7) == 0)
		return ROUTE_AGENT;
	if (strcmp(url, "/health") == 0)
		return ROUTE_HEALTH;
	return ROUTE_OTHER;
}

const char *
pcard_srv_query(const pcard_srv_req *rq, const char *key)
{
	return MHD_lookup_connection_value((struct MHD_Connection *)rq->conn,
	    MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result
first_call(struct MHD_Connection *c, const char *url, const char *method, conn_ctx *cx)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	json_t *out = NULL;
	unsigned st = 0;

	cx->route = route_of(url);
	switch (cx->route) {
	case ROUTE_ADMIN:
		st = check_admin(c, &out);
		cx->limit = strcmp(url, "/admin/v1/loadfiles") == 0 ? the_srv->cfg.max_upload :
		    the_srv->cfg.max_body;
		break;
	case ROUTE_AGENT:
		st = check_agent(c, cx, &out);
		cx->limit = the_srv->cfg.max_agent_body;
		break;
	case ROUTE_HEALTH:
		cx->limit = 0;
		break;
	default:
		st = pcard_srv_error(&out, 404, "not_found", "no such endpoint");
		break;
	}
	if (st == 0 && cl != NULL) {
		char *end = NULL;
		unsigned long long v;

		errno = 0;
		v = strtoull(cl, &end, 10);
		if (errno != 0 || end == cl || *end != '\0')
			st = pcard_srv_error(&out, 400, "bad_request", "bad Content-Length");
		else if (v > cx->limit)
			st = pcard_srv_error(&out, 413, "too_large",
			    "the body is %llu bytes; this endpoint takes at most %zu", v, cx->limit);
	}
	if (st != 0)
		return reply(c, cx, method, url, st, out);
	return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	conn_ctx *cx = *con_cls;
	pcard_srv_req rq;
	json_t *out = NULL;
	unsigned st;

	if (cx == NULL) {
		if ((cx = calloc(1, sizeof *cx)) == NULL)
			return MHD_NO;
		*con_cls = cx;
		return first_call(c, url, method, cx);
	}
	if (cx->answered) {		/* refused on the first call: drop the body */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (cx->too_big || n > cx->limit - cx->len) {
			cx->too_big = 1;
			return MHD_YES;
		}
		if (cx->len + n + 1 > cx->cap) {
			size_t cap = cx->cap == 0 ? 4096 : cx->cap;
			uint8_t *p;

			while (cap < cx->len + n + 1)
				cap *= 2;
			if (cap > cx->limit + 1)
				cap = cx->limit + 1;
			if ((p = realloc(cx->buf, cap)) == NULL)
				return MHD_NO;
			cx->buf = p;
			cx->cap = cap;
		}
		memcpy(cx->buf + cx->len, upload_data, n);
		cx->len += n;
		cx->buf[cx->len] = '\0';
		return MHD_YES;
	}
	if (cx->too_big) {
		st = pcard_srv_error(&out, 413, "too_large",
		    "the body is over this endpoint's limit of %zu bytes", cx->limit);
		return reply(c, cx, method, url, st, out);
	}

	memset(&rq, 0, sizeof rq);
	rq.method = method;
	rq.path = url;
	rq.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	rq.body = cx->buf != NULL ? cx->buf : (const uint8_t *)"";
	rq.body_len = cx->len;
	rq.conn = c;
	switch (cx->route) {
	case ROUTE_ADMIN:
		st = pcard_srv_admin(the_srv, &rq, &out);
		break;
	case ROUTE_AGENT:
		rq.agent_id = cx->agent_id;
		rq.fingerprint = cx->fp;
		pcard_srv_killpoint_mark(the_srv);
		st = pcard_srv_agent(the_srv, &rq, &out);
		pcard_srv_killpoint_reply(the_srv, st, out);	/* tests: PCARD_SRV_KILL_AT */
		break;
	default:
		if (strcmp(method, "GET") != 0) {
			st = pcard_srv_error(&out, 405, "method_not_allowed", "GET only");
			break;
		}
		out = json_pack("{s:b}", "ok", 1);
		st = 200;
		break;
	}
	return reply(c, cx, method, url, st, out);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	conn_ctx *cx = *con_cls;

	if (cx != NULL) {
		free(cx->buf);
		free(cx);
		*con_cls = NULL;
	}
}

static pcard_err
write_port_file(const char *path, uint16_t port)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return PCARD_E_INVALID_ARG;
	if ((f = fopen(tmp, "w")) == NULL)
		return PCARD_E_IO;
	fprintf(f, "%u\n", (unsigned)port);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return PCARD_E_IO;
	return PCARD_OK;
}

static pcard_err
load_token(pcard_srv *srv, char *err, size_t err_cap)
{
	char *tok = NULL;
	size_t n = 0, len;
	pcard_err e;

	if ((e = read_small_file(srv->cfg.admin_token_file, PCARD_SRV_TOKEN_MAX + 2, &tok, &n)) !=
	    PCARD_OK) {
		snprintf(err, err_cap, "admin token file %s: %s", srv->cfg.admin_token_file,
		    pcard_strerror(e));
		return e;
	}
	len = strcspn(tok, "\r\n");
	if (len < PCARD_SRV_TOKEN_MIN || len > PCARD_SRV_TOKEN_MAX) {
		snprintf(err, err_cap, "admin token file %s: the token must be %d..%d characters",
		    srv->cfg.admin_token_file, PCARD_SRV_TOKEN_MIN, PCARD_SRV_TOKEN_MAX);
		e = PCARD_E_BAD_FILE;
	} else {
		e = pcard_digest(PCARD_HASH_SHA256, (const uint8_t *)tok, len, srv->admin_token_hash,
		    sizeof srv->admin_token_hash, &n);
	}
	pcard_wipe(tok, strlen(tok));
	free(tok);
	return e;
}

pcard_err
pcard_srv_http_start(pcard_srv *srv, char *err, size_t err_cap)
{
	char *cert = NULL, *key = NULL, *ca = NULL;
	size_t cert_n = 0, key_n = 0, ca_n = 0;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr *sa;
	unsigned int flags = MHD_USE_TLS | MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *di;
	struct MHD_Daemon *d;
	pcard_err e = PCARD_E_INTERNAL;

	the_srv = srv;
	if ((e = load_token(srv, err, err_cap)) != PCARD_OK)
		goto out;
	if ((e = read_small_file(srv->cfg.tls_cert, PCARD_SRV_PEM_MAX, &cert, &cert_n)) !=
	    PCARD_OK) {
		snprintf(err, err_cap, "tls.cert %s: %s", srv->cfg.tls_cert, pcard_strerror(e));
		goto out;
	}
	if ((e = read_small_file(srv->cfg.tls_key, PCARD_SRV_PEM_MAX, &key, &key_n)) != PCARD_OK) {
		snprintf(err, err_cap, "tls.key %s: %s", srv->cfg.tls_key, pcard_strerror(e));
		goto out;
	}
	if ((e = read_small_file(srv->cfg.client_ca, PCARD_SRV_PEM_MAX, &ca, &ca_n)) != PCARD_OK) {
		snprintf(err, err_cap, "tls.client_ca %s: %s", srv->cfg.client_ca,
		    pcard_strerror(e));
		goto out;
	}
	memset(&sin, 0, sizeof sin);
	memset(&sin6, 0, sizeof sin6);
	if (inet_pton(AF_INET, srv->cfg.listen, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons(srv->cfg.port);
		sa = (struct sockaddr *)&sin;
	} else if (inet_pton(AF_INET6, srv->cfg.listen, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(srv->cfg.port);
		sa = (struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, err_cap, "listen: '%s' is not an IP address", srv->cfg.listen);
		e = PCARD_E_BAD_FILE;
		goto out;
	}
	d = MHD_start_daemon(flags, srv->cfg.port, NULL, NULL, on_request, srv,
	    MHD_OPTION_SOCK_ADDR, sa,
	    MHD_OPTION_HTTPS_MEM_CERT, cert,
	    MHD_OPTION_HTTPS_MEM_KEY, key,
	    MHD_OPTION_HTTPS_MEM_TRUST, ca,
	    MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)srv->cfg.conn_timeout,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)srv->cfg.max_connections,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_END);
	if (d == NULL) {
		snprintf(err, err_cap, "cannot serve HTTPS on %s port %u (address in use, or a bad "
		    "certificate or key)", srv->cfg.listen, (unsigned)srv->cfg.port);
		e = PCARD_E_IO;
		goto out;
	}
	srv->daemon = d;
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	srv->bound_port = di != NULL ? di->port : srv->cfg.port;
	if (srv->cfg.port_file != NULL &&
	    (e = write_port_file(srv->cfg.port_file, srv->bound_port)) != PCARD_OK) {
		snprintf(err, err_cap, "port_file %s: %s", srv->cfg.port_file, pcard_strerror(e));
		goto out;
	}
	e = PCARD_OK;
out:
	tls_cert_pem = cert;
	tls_key_pem = key;
	tls_key_len = key_n;
	tls_ca_pem = ca;
	if (e != PCARD_OK)
		pcard_srv_http_stop(srv);
	return e;
}

void
pcard_srv_http_stop(pcard_srv *srv)
{
	if (srv->daemon != NULL) {
		MHD_stop_daemon((struct MHD_Daemon *)srv->daemon);
		srv->daemon = NULL;
	}
	if (tls_key_pem != NULL)
		pcard_wipe(tls_key_pem, tls_key_len);
	free(tls_key_pem);
	free(tls_cert_pem);
	free(tls_ca_pem);
	tls_key_pem = tls_cert_pem = tls_ca_pem = NULL;
}
