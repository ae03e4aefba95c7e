/*
 * scp_int.h: internals shared by scp.c (state machine, dispatch), scp03.c and scp02.c.
 * Not installed; only the scp*.c files include it.
 */
#ifndef POSTCARD_SCP_INT_H
#define POSTCARD_SCP_INT_H

#include "postcard/apdu.h"
#include "postcard/bytes.h"
#include "postcard/scp.h"

#define SCP_INS_INIT_UPDATE 0x50
#define SCP_INS_EXT_AUTH 0x82
#define SCP_INS_BEGIN_RMAC 0x7A
#define SCP_INS_END_RMAC 0x78

enum { SCP_PEND_NONE = 0, SCP_PEND_BEGIN, SCP_PEND_END };

/* SM bit and logical-channel bits of a CLA (CS Tables 11-11, 11-12): first interindustry and
 * GP proprietary classes use b3 and b2b1; further interindustry (b7 set) use b6 and b4-b1. */
uint8_t scp_cla_sm(uint8_t cla);
uint8_t scp_cla_chan(uint8_t cla);
/* 1 for 9000, 62xx, 63xx: the responses that carry an R-MAC in SCP03. */
int scp_sw_protected(uint16_t sw);
/* Release session keys, keep the rest of the state. */
void scp_release(pcard_scp *s);
/* Release keys and mark the session dead; returns err for tail calls. */
pcard_err scp_kill(pcard_scp *s, pcard_err err);
/* Largest MAC length on the wire for the session (8, or 16 in SCP03 S16). */
size_t scp_mac_len(const pcard_scp *s);
/* Short command APDU: header, Lc (when n1 + n2 > 0), d1, d2, Le of a (when present). */
void scp_put_cmd(pcard_wr *w, uint8_t cla, const pcard_apdu *a, const uint8_t *d1, size_t n1,
    const uint8_t *d2, size_t n2);
/* Record the SCP02 R-MAC input of a plain command (CLA' INS P1 P2 Lc data). */
void scp_note_cmd(pcard_scp *s, const pcard_apdu *a, const uint8_t *data, size_t n);

/* SCP03 (scp03.c) */
/* Host: the INITIALIZE UPDATE response after KDD, KVN and SCP (r ends with it). */
pcard_err scp03_host_auth(pcard_scp *s, pcard_rd *r);
/* Card: session keys, challenge and the response after KDD, KVN and SCP. */
pcard_err scp03_card_iu(pcard_scp *s, const pcard_scp_card_params *p, pcard_wr *w);
pcard_err scp03_session_keys(pcard_scp *s);
pcard_err scp03_cryptogram(pcard_scp *s, uint8_t constant, uint8_t *out);
pcard_err scp03_pseudo_chal(pcard_scp *s, uint8_t *out);
pcard_err scp03_ext_auth_mac(pcard_scp *s, const uint8_t hdr[4], const uint8_t *crypt,
    uint8_t *mac);
pcard_err scp03_wrap_cmd(pcard_scp *s, const pcard_apdu *a, uint8_t *out, size_t out_cap,
    size_t *out_len);
pcard_err scp03_unwrap_cmd(pcard_scp *s, const pcard_apdu *a, uint8_t *out, size_t out_cap,
    size_t *out_len);
pcard_err scp03_wrap_rsp(pcard_scp *s, const uint8_t *data, size_t n, uint16_t sw,
    uint8_t *out, size_t out_cap, size_t *out_len);
pcard_err scp03_unwrap_rsp(pcard_scp *s, const uint8_t *rsp, size_t n, uint8_t *out,
    size_t out_cap, size_t *out_len);

/* SCP02 (scp02.c) */
pcard_err scp02_host_auth(pcard_scp *s, pcard_rd *r);
pcard_err scp02_card_iu(pcard_scp *s, const pcard_scp_card_params *p, pcard_wr *w);
pcard_err scp02_session_keys(pcard_scp *s);
pcard_err scp02_cryptogram(pcard_scp *s, int card, uint8_t out[8]);
pcard_err scp02_pseudo_chal(pcard_scp *s, uint8_t out[6]);
pcard_err scp02_ext_auth_mac(pcard_scp *s, const uint8_t hdr[4], const uint8_t *crypt,
    uint8_t mac[8]);
pcard_err scp02_wrap_cmd(pcard_scp *s, const pcard_apdu *a, uint8_t *out, size_t out_cap,
    size_t *out_len);
pcard_err scp02_unwrap_cmd(pcard_scp *s, const pcard_apdu *a, uint8_t *out, size_t out_cap,
    size_t *out_len);
pcard_err scp02_wrap_rsp(pcard_scp *s, const uint8_t *data, size_t n, uint16_t sw,
    uint8_t *out, size_t out_cap, size_t *out_len);
pcard_err scp02_unwrap_rsp(pcard_scp *s, const uint8_t *rsp, size_t n, uint8_t *out,
    size_t out_cap, size_t *out_len);

#endif
