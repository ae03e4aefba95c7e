/*
 * card_content.c: INSTALL, LOAD and DELETE (card content management).
 */
#include <stdlib.h>
#include <string.h>

#include "card_int.h"

void
card_load_drop(card_chan *ch)
{
	if (ch->load_buf != NULL) {
		free(ch->load_buf);
		ch->load_buf = NULL;
	}
	ch->load_len = ch->load_cap = 0;
	ch->load_active = 0;
	ch->load_next = 0;
	memset(&ch->load_elf, 0, sizeof ch->load_elf);
}

void
card_install(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r)
{
	(void)c; (void)cmd; (void)sd;
	r->sw = SW_INS;
}

void
card_load(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r)
{
	(void)c; (void)cmd; (void)sd;
	r->sw = SW_INS;
}

void
card_delete(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r)
{
	(void)c; (void)cmd; (void)sd;
	r->sw = SW_INS;
}
