/*
 * agent_http.c: the agent's HTTP exchanges over libcurl (docs/agent.md, "TLS").
 *
 * One easy handle for the whole run, so the TLS connection is kept alive between the
 * exchanges of a session (a new handshake costs about 1 ms of server CPU; a keep-alive
 * exchange tens of microseconds: platform-facts.md). TLS 1.2 or later; the server's
 * certificate must chain to the one CA file given (the system store is not consulted) and
 * name the host; the agent authenticates with its client certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "agent.h"

struct pcard_agent_http {
	CURL *c;
	struct curl_slist *hdrs;
	char *base;		/* without a trailing slash */
	char url[1024];
	/* the answer being received */
	char *resp;
	size_t cap, len;
	int overflow;
	/* hook */
	pcard_agent_http_hook hook;
	void *hook_ctx;
	curl_off_t body_len;
	int sent_fired;
};

static size_t
on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	pcard_agent_http *h = ud;
	size_t n = size * nmemb;

	if (h->overflow || n > h->cap - 1 - h->len) {
		h->overflow = 1;
		return 0;	/* abort: CURLE_WRITE_ERROR */
	}
	memcpy(h->resp + h->len, p, n);
	h->len += n;
	h->resp[h->len] = '\0';
	return n;
}

/* Fires the SENT hook once the whole body is uploaded (before anything is read). */
static int
on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	pcard_agent_http *h = ud;

	(void)dltotal;
	(void)ultotal;
	if (h->hook != NULL && !h->sent_fired && ulnow >= h->body_len && dlnow == 0) {
		h->sent_fired = 1;
		h->hook(h->hook_ctx, PCARD_AGENT_HTTP_SENT);
	}
	return 0;
}

pcard_err
pcard_agent_http_new(const pcard_agent_http_opts *o, pcard_agent_http **out)
{
	pcard_agent_http *h = NULL;
	size_t bl;
	int bad = 0;
	pcard_err err = PCARD_E_INTERNAL;

	*out = NULL;
	if (o->base_url == NULL || (strncmp(o->base_url, "https://", 8) != 0 &&
	    !(o->insecure_http && strncmp(o->base_url, "http://", 7) == 0))) {
		err = PCARD_E_USAGE;
		goto out;
	}
	if (!o->insecure_http && (o->cert == NULL || o->key == NULL || o->cacert == NULL)) {
		err = PCARD_E_USAGE;
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (h = calloc(1, sizeof *h)) == NULL || (h->base = strdup(o->base_url)) == NULL ||
	    (h->c = curl_easy_init()) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	bl = strlen(h->base);
	while (bl > 0 && h->base[bl - 1] == '/')
		h->base[--bl] = '\0';
	if (bl + 64 > sizeof h->url) {
		err = PCARD_E_USAGE;
		goto out;
	}
	h->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (h->hdrs != NULL)
		h->hdrs = curl_slist_append(h->hdrs, "Expect:");	/* no 100-continue round trip */
	if (h->hdrs == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	bad |= curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, h->hdrs) != CURLE_OK;
	bad |= curl_easy_setopt(h->c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK;
	bad |= curl_easy_setopt(h->c, CURLOPT_WRITEDATA, h) != CURLE_OK;
	bad |= curl_easy_setopt(h->c, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK;
	bad |= curl_easy_setopt(h->c, CURLOPT_XFERINFODATA, h) != CURLE_OK;
	bad |= curl_easy_setopt(h->c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(h->c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h->c, CURLOPT_TIMEOUT, (long)(o->timeout_s ? o->timeout_s : 30))
	    != CURLE_OK;
	bad |= curl_easy_setopt(h->c, CURLOPT_CONNECTTIMEOUT, 10L) != CURLE_OK;
	bad |= curl_easy_setopt(h->c, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h->c, CURLOPT_TCP_NODELAY, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h->c, CURLOPT_PROTOCOLS_STR,
	    o->insecure_http ? "http,https" : "https") != CURLE_OK;
	bad |= curl_easy_setopt(h->c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	if (o->cacert != NULL) {
		bad |= curl_easy_setopt(h->c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2)
		    != CURLE_OK;
		bad |= curl_easy_setopt(h->c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
		bad |= curl_easy_setopt(h->c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
		bad |= curl_easy_setopt(h->c, CURLOPT_CAINFO, o->cacert) != CURLE_OK;
		/* the CA file alone: no directory of system CAs */
		bad |= curl_easy_setopt(h->c, CURLOPT_CAPATH, NULL) != CURLE_OK;
		bad |= curl_easy_setopt(h->c, CURLOPT_SSLCERT, o->cert) != CURLE_OK;
		bad |= curl_easy_setopt(h->c, CURLOPT_SSLCERTTYPE, "PEM") != CURLE_OK;
		bad |= curl_easy_setopt(h->c, CURLOPT_SSLKEY, o->key) != CURLE_OK;
		bad |= curl_easy_setopt(h->c, CURLOPT_SSLKEYTYPE, "PEM") != CURLE_OK;
		if (o->pin != NULL)
			bad |= curl_easy_setopt(h->c, CURLOPT_PINNEDPUBLICKEY, o->pin) != CURLE_OK;
	}
	if (bad) {
		err = PCARD_E_UNSUPPORTED;
		goto out;
	}
	*out = h;
	h = NULL;
	err = PCARD_OK;
out:
	pcard_agent_http_free(h);
	return err;
}

void
pcard_agent_http_free(pcard_agent_http *h)
{
	if (h == NULL)
		return;
	if (h->c != NULL)
		curl_easy_cleanup(h->c);
	curl_slist_free_all(h->hdrs);
	free(h->base);
	free(h);
}

void
pcard_agent_http_set_hook(pcard_agent_http *h, pcard_agent_http_hook fn, void *ctx)
{
	h->hook = fn;
	h->hook_ctx = ctx;
}

static pcard_err
map_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return PCARD_E_VERIFY;
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
		return PCARD_E_BAD_FILE;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return PCARD_E_USAGE;
	case CURLE_OUT_OF_MEMORY:
		return PCARD_E_NOMEM;
	default:
		return PCARD_E_TRANSPORT;
	}
}

pcard_err
pcard_agent_http_post(pcard_agent_http *h, const char *path, const char *body, size_t n,
    char *resp, size_t resp_cap, size_t *resp_len, long *status, char *err, size_t err_cap)
{
	char ebuf[CURL_ERROR_SIZE];
	CURLcode rc;
	int bad = 0;

	*resp_len = 0;
	*status = 0;
	if (resp_cap < 1 || strlen(h->base) + strlen(path) + 1 > sizeof h->url)
		return PCARD_E_INVALID_ARG;
	strcpy(h->url, h->base);
	strcat(h->url, path);
	h->resp = resp;
	h->cap = resp_cap;
	h->len = 0;
	h->overflow = 0;
	h->body_len = (curl_off_t)n;
	h->sent_fired = 0;
	resp[0] = '\0';
	ebuf[0] = '\0';
	bad |= curl_easy_setopt(h->c, CURLOPT_URL, h->url) != CURLE_OK;
	bad |= curl_easy_setopt(h->c, CURLOPT_POSTFIELDS, body) != CURLE_OK;
	bad |= curl_easy_setopt(h->c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n) != CURLE_OK;
	bad |= curl_easy_setopt(h->c, CURLOPT_ERRORBUFFER, ebuf) != CURLE_OK;
	if (bad)
		return PCARD_E_INTERNAL;
	rc = curl_easy_perform(h->c);
	curl_easy_setopt(h->c, CURLOPT_ERRORBUFFER, NULL);
	if (h->overflow) {
		if (err != NULL)
			snprintf(err, err_cap, "the server's answer is over %zu bytes", resp_cap - 1);
		return PCARD_E_NOSPACE;
	}
	if (rc != CURLE_OK) {
		if (err != NULL)
			snprintf(err, err_cap, "%s", ebuf[0] ? ebuf : curl_easy_strerror(rc));
		return map_curl(rc);
	}
	curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, status);
	*resp_len = h->len;
	return PCARD_OK;
}
