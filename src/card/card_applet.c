/*
 * card_applet.c: the card manager services native applets call (applet.h). Changes go to the
 * card's in-memory state inside the command's transaction (card.c), so they are committed
 * with the response or rolled back with an error SW.
 */
#include <string.h>

#include "card_int.h"

void
card_env_init(pcard_applet_env *env, pcard_card *c, pcard_card_app *app, uint8_t chan,
    uint8_t level)
{
	memset(env, 0, sizeof *env);
	env->card = c;
	env->app = app;
	env->chan = chan;
	env->level = level;
}

const pcard_aid *
pcard_applet_aid(const pcard_applet_env *env)
{
	return &env->app->aid;
}

const pcard_aid *
pcard_applet_module(const pcard_applet_env *env)
{
	return &env->app->module;
}

void
pcard_applet_privileges(const pcard_applet_env *env, uint8_t priv[3])
{
	memcpy(priv, env->app->priv, 3);
}

uint8_t
pcard_applet_card_life_cycle(const pcard_applet_env *env)
{
	return env->card->cs.life_cycle;
}

uint8_t
pcard_applet_channel(const pcard_applet_env *env)
{
	return env->chan;
}

uint8_t
pcard_applet_security_level(const pcard_applet_env *env)
{
	return env->level;
}

void
pcard_applet_data(const pcard_applet_env *env, const uint8_t **p, size_t *n)
{
	*p = env->app->data_len > 0 ? env->app->data : NULL;
	*n = env->app->data_len;
}

pcard_err
pcard_applet_set_data(pcard_applet_env *env, const uint8_t *p, size_t n)
{
	pcard_cardstate *cs = &env->card->cs;
	pcard_card_app *app = env->app;
	size_t old = app->data_len;

	if (n > PCARD_CS_DATA_MAX || (p == NULL && n > 0))
		return n > PCARD_CS_DATA_MAX ? PCARD_E_NOSPACE : PCARD_E_INVALID_ARG;
	if (n > old) {
		size_t grow = n - old;

		if (grow > (size_t)(cs->nvm_size - cs->nvm_used) ||
		    (app->nv_quota != 0 && app->nv_used + grow > app->nv_quota))
			return PCARD_E_NOSPACE;
	}
	if (pcard_card_app_set_data(app, p, n) != PCARD_OK)
		return PCARD_E_NOMEM;
	if (n > old) {
		cs->nvm_used += (uint32_t)(n - old);
		app->nv_used += (uint32_t)(n - old);
	} else {
		uint32_t shrink = (uint32_t)(old - n);

		cs->nvm_used -= shrink < cs->nvm_used ? shrink : cs->nvm_used;
		app->nv_used -= shrink < app->nv_used ? shrink : app->nv_used;
	}
	return PCARD_OK;
}

uint32_t
pcard_applet_data_version(const pcard_applet_env *env)
{
	return env->app->data_version;
}

void
pcard_applet_set_data_version(pcard_applet_env *env, uint32_t v)
{
	env->app->data_version = v;
}

uint8_t *
pcard_applet_volatile(pcard_applet_env *env)
{
	return env->card->ch[env->chan].vol;
}

uint16_t
pcard_applet_lock_card(pcard_applet_env *env)
{
	pcard_card *c = env->card;

	if (!(env->app->priv[0] & PCARD_PRIV1_CARD_LOCK))
		return SW_CONDITIONS;
	if (c->cs.life_cycle == PCARD_CARD_LOCKED)
		return SW_OK;
	if (c->cs.life_cycle != PCARD_CARD_SECURED)
		return SW_CONDITIONS;
	c->cs.life_cycle = PCARD_CARD_LOCKED;
	c->lock_requested = 1;
	return SW_OK;
}

pcard_err
pcard_applet_sd_decrypt(pcard_applet_env *env, const uint8_t *in, size_t n, uint8_t *out,
    size_t out_cap)
{
	card_chan *ch = &env->card->ch[env->chan];

	if (n > out_cap)
		return PCARD_E_INVALID_ARG;
	if (ch->keys == NULL || pcard_scp_state_of(&ch->scp) != PCARD_SCP_OPEN)
		return PCARD_E_STATE;
	return card_sc_dek_decrypt(ch, in, n, out);
}
