/*
 * card_status.c: GET DATA, GET STATUS, SET STATUS, STORE DATA.
 */
#include <string.h>

#include "card_int.h"
#include "postcard/tlv.h"

void
card_put_crd(pcard_card *c, pcard_wr *w, int as73)
{
	(void)c; (void)w; (void)as73;
}

void
card_get_data(pcard_card *c, const card_cmd *cmd, card_rsp *r)
{
	(void)c; (void)cmd;
	r->sw = SW_REF_NOT_FOUND;
}

void
card_get_status(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r)
{
	(void)c; (void)cmd; (void)sd;
	r->sw = SW_INS;
}

void
card_set_status(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r)
{
	(void)c; (void)cmd; (void)sd;
	r->sw = SW_INS;
}

void
card_store_data(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r)
{
	(void)c; (void)cmd; (void)sd;
	r->sw = SW_INS;
}
