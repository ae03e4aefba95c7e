/*
 * card_keys.c: PUT KEY and DELETE of keys.
 */
#include <string.h>

#include "card_int.h"

void
card_put_key(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r)
{
	(void)c; (void)cmd; (void)sd;
	r->sw = SW_INS;
}
