/*
 * sw.c: status-word explanations. Three tables, most specific first: per command (GP CS
 * chapter 11 response tables, gp-facts 3.20), general (ISO/IEC 7816-4 5.1.3 and GP CS
 * 11.1.3), and per SW1 class. Status words are data: nothing here is an error path.
 */
#include <stddef.h>

#include "postcard/sw.h"

static const struct {
	uint8_t ins;
	const char *name;
} ins_names[] = {
	{ PCARD_INS_SELECT, "SELECT" },
	{ PCARD_INS_GET_RESPONSE, "GET RESPONSE" },
	{ PCARD_INS_MANAGE_CHANNEL, "MANAGE CHANNEL" },
	{ PCARD_INS_INITIALIZE_UPDATE, "INITIALIZE UPDATE" },
	{ PCARD_INS_EXTERNAL_AUTHENTICATE, "EXTERNAL AUTHENTICATE" },
	{ PCARD_INS_BEGIN_RMAC_SESSION, "BEGIN R-MAC SESSION" },
	{ PCARD_INS_END_RMAC_SESSION, "END R-MAC SESSION" },
	{ PCARD_INS_DELETE, "DELETE" },
	{ PCARD_INS_GET_DATA, "GET DATA" },
	{ PCARD_INS_GET_DATA_ODD, "GET DATA" },
	{ PCARD_INS_GET_STATUS, "GET STATUS" },
	{ PCARD_INS_INSTALL, "INSTALL" },
	{ PCARD_INS_LOAD, "LOAD" },
	{ PCARD_INS_PUT_KEY, "PUT KEY" },
	{ PCARD_INS_SET_STATUS, "SET STATUS" },
	{ PCARD_INS_STORE_DATA, "STORE DATA" },
};

/* What cards answer to each GP command (CS 11.x tables; gp-facts 3.20). */
static const struct {
	uint8_t ins;
	uint16_t sw;
	const char *text;
} per_cmd[] = {
	{ 0xA4, 0x6283, "6283 on SELECT: the card is locked (CARD_LOCKED) or the application is "
	    "locked; only the ISD and Final Applications answer" },
	{ 0xA4, 0x6A82, "6A82 on SELECT: application not found, or not selectable in its "
	    "current state" },
	{ 0xA4, 0x6999, "6999 on SELECT: the applet refused selection (its select() returned "
	    "false or threw)" },
	{ 0xA4, 0x6A81, "6A81 on SELECT: function not supported - card or application locked, "
	    "or no such logical channel" },
	{ 0x50, 0x6A88, "6A88 on INITIALIZE UPDATE: the key set (KVN in P1) was not found on "
	    "the card" },
	{ 0x50, 0x6983, "6983 on INITIALIZE UPDATE: the key set is blocked after too many "
	    "failed authentications" },
	{ 0x50, 0x6985, "6985 on INITIALIZE UPDATE: conditions not satisfied - sequence "
	    "counter exhausted, or card state forbids authentication" },
	{ 0x50, 0x6982, "6982 on INITIALIZE UPDATE: security status not satisfied - the card "
	    "may be locked or the key set not usable" },
	{ 0x50, 0x6700, "6700 on INITIALIZE UPDATE: wrong length - the card may want a 16-byte "
	    "host challenge (SCP03 S16) or an 8-byte one" },
	{ 0x50, 0x6A86, "6A86 on INITIALIZE UPDATE: incorrect P1/P2 - KVN or key id not "
	    "accepted" },
	{ 0x82, 0x6300, "6300 on EXTERNAL AUTHENTICATE: host cryptogram wrong - wrong keys or "
	    "diversification (the card counts this failure)" },
	{ 0x82, 0x6985, "6985 on EXTERNAL AUTHENTICATE: not preceded by a successful "
	    "INITIALIZE UPDATE" },
	{ 0x82, 0x6982, "6982 on EXTERNAL AUTHENTICATE: C-MAC wrong - wrong keys or session "
	    "state" },
	{ 0x82, 0x6A86, "6A86 on EXTERNAL AUTHENTICATE: security level in P1 not supported "
	    "by this card or SCP" },
	{ 0xE4, 0x6A88, "6A88 on DELETE: referenced data not found - no such AID or key" },
	{ 0xE4, 0x6A82, "6A82 on DELETE: application or load file not found" },
	{ 0xE4, 0x6985, "6985 on DELETE: conditions not satisfied - object still referenced "
	    "(instances of the load file, or a package imported by another), or not deletable" },
	{ 0xE4, 0x6A80, "6A80 on DELETE: wrong data - malformed AID or key reference, or "
	    "delete token verification failed" },
	{ 0xE4, 0x6581, "6581 on DELETE: memory failure" },
	{ 0xE4, 0x6982, "6982 on DELETE: security status not satisfied - not authenticated, "
	    "not this SD's content, or token required" },
	{ 0xCA, 0x6A88, "6A88 on GET DATA: the card does not hold this data object" },
	{ 0xCA, 0x6A86, "6A86 on GET DATA: incorrect P1/P2 - tag not supported" },
	{ 0xCA, 0x6D00, "6D00 on GET DATA: INS not supported by the selected application" },
	{ 0xCA, 0x6E00, "6E00 on GET DATA: CLA not supported - try CLA 00 instead of 80 (or "
	    "the reverse)" },
	{ 0xF2, 0x6310, "6310 on GET STATUS: more entries available - send GET STATUS with "
	    "P2 b1 (next occurrence)" },
	{ 0xF2, 0x6A88, "6A88 on GET STATUS: no entry matches (empty registry subset)" },
	{ 0xF2, 0x6A86, "6A86 on GET STATUS: incorrect P1/P2 - subset or tag format not "
	    "supported (retry with P2 00, the legacy format)" },
	{ 0xF2, 0x6A80, "6A80 on GET STATUS: wrong data - bad search criteria" },
	{ 0xE6, 0x6A80, "6A80 on INSTALL: wrong data - bad install parameters, or DAP/token "
	    "verification failed" },
	{ 0xE6, 0x6A84, "6A84 on INSTALL: not enough memory" },
	{ 0xE6, 0x6A88, "6A88 on INSTALL: referenced data not found - load file, module or "
	    "security domain AID not on the card" },
	{ 0xE6, 0x6985, "6985 on INSTALL: conditions not satisfied - AID already in use, "
	    "privileges not allowed, or the applet's install() failed" },
	{ 0xE6, 0x6982, "6982 on INSTALL: security status not satisfied - not authenticated, "
	    "token required or DAP/token verification failed (some cards)" },
	{ 0xE6, 0x6581, "6581 on INSTALL: memory failure" },
	{ 0xE6, 0x6A86, "6A86 on INSTALL: incorrect P1/P2 - this INSTALL variant is not "
	    "supported" },
	{ 0xE6, 0x6438, "6438 on INSTALL: an imported package is not available" },
	{ 0xE8, 0x6A84, "6A84 on LOAD: not enough memory for the load file" },
	{ 0xE8, 0x6A80, "6A80 on LOAD: wrong data - malformed load file, wrong block order, "
	    "DAP verification failed or a missing import (some cards)" },
	{ 0xE8, 0x6438, "6438 on LOAD: an imported package is missing - load the libraries it "
	    "imports first" },
	{ 0xE8, 0x6985, "6985 on LOAD: conditions not satisfied - no INSTALL [for load] before, "
	    "or blocks out of sequence" },
	{ 0xE8, 0x6581, "6581 on LOAD: memory failure" },
	{ 0xE8, 0x6982, "6982 on LOAD: security status not satisfied - DAP verification "
	    "failed or the secure channel broke" },
	{ 0xD8, 0x6A88, "6A88 on PUT KEY: referenced data not found - the key version to "
	    "replace does not exist" },
	{ 0xD8, 0x6A80, "6A80 on PUT KEY: wrong data - bad key data or KCV mismatch (wrong "
	    "DEK?)" },
	{ 0xD8, 0x6A84, "6A84 on PUT KEY: not enough memory for another key set" },
	{ 0xD8, 0x6581, "6581 on PUT KEY: memory failure" },
	{ 0xD8, 0x6985, "6985 on PUT KEY: conditions not satisfied - key type or length not "
	    "accepted, or key set full" },
	{ 0xF0, 0x6A80, "6A80 on SET STATUS: wrong data - bad AID" },
	{ 0xF0, 0x6A88, "6A88 on SET STATUS: referenced data not found - no such application" },
	{ 0xF0, 0x6985, "6985 on SET STATUS: conditions not satisfied - this life-cycle "
	    "transition is not allowed" },
	{ 0xF0, 0x6982, "6982 on SET STATUS: security status not satisfied - the SD lacks the "
	    "privilege (Card Lock, Card Terminate, Global Lock)" },
	{ 0xE2, 0x6A80, "6A80 on STORE DATA: wrong data - the application refused the data "
	    "(format, DGI or decryption)" },
	{ 0xE2, 0x6A84, "6A84 on STORE DATA: not enough memory" },
	{ 0xE2, 0x6A88, "6A88 on STORE DATA: referenced data not found - unknown DGI or tag" },
	{ 0xE2, 0x6985, "6985 on STORE DATA: conditions not satisfied - no INSTALL [for "
	    "personalization] before, or block numbers out of sequence" },
	{ 0x70, 0x6A81, "6A81 on MANAGE CHANNEL: no more logical channels available" },
	{ 0x70, 0x6881, "6881 on MANAGE CHANNEL: logical channels not supported" },
};

/* General meanings (ISO 7816-4 Tables 5-6; GP CS 11.1.3; gp-facts 3.20). */
static const struct {
	uint16_t sw;
	const char *text;
} general[] = {
	{ 0x9000, "9000: success" },
	{ 0x6200, "6200: warning - no information given, state unchanged" },
	{ 0x6281, "6281: warning - part of the returned data may be corrupted" },
	{ 0x6282, "6282: warning - end of data reached before Le bytes" },
	{ 0x6283, "6283: warning - selected file or application deactivated (card locked)" },
	{ 0x6284, "6284: warning - file control information badly formatted" },
	{ 0x6300, "6300: authentication failed (or no information given, state changed)" },
	{ 0x6310, "6310: more data available" },
	{ 0x6400, "6400: execution error - no specific diagnosis" },
	{ 0x6438, "6438: imported package not available (vendor code)" },
	{ 0x6581, "6581: memory failure" },
	{ 0x6700, "6700: wrong length" },
	{ 0x6881, "6881: logical channel not supported" },
	{ 0x6882, "6882: secure messaging not supported" },
	{ 0x6883, "6883: last command of the chain expected" },
	{ 0x6884, "6884: command chaining not supported" },
	{ 0x6982, "6982: security status not satisfied - not authenticated, security level "
	    "too low, or C-MAC wrong (the secure channel is closed)" },
	{ 0x6983, "6983: authentication method blocked" },
	{ 0x6984, "6984: reference data not usable" },
	{ 0x6985, "6985: conditions of use not satisfied" },
	{ 0x6986, "6986: command not allowed (no current EF)" },
	{ 0x6987, "6987: expected secure messaging data objects missing" },
	{ 0x6988, "6988: incorrect secure messaging data objects" },
	{ 0x6999, "6999: applet selection failed" },
	{ 0x6A80, "6A80: wrong data - incorrect parameters in the data field" },
	{ 0x6A81, "6A81: function not supported (card or application locked?)" },
	{ 0x6A82, "6A82: application or file not found" },
	{ 0x6A84, "6A84: not enough memory space" },
	{ 0x6A86, "6A86: incorrect P1/P2" },
	{ 0x6A88, "6A88: referenced data not found" },
	{ 0x6B00, "6B00: wrong parameters P1/P2" },
	{ 0x6D00, "6D00: instruction (INS) not supported" },
	{ 0x6E00, "6E00: class (CLA) not supported" },
	{ 0x6F00, "6F00: no precise diagnosis (the card or applet failed)" },
};

/* By SW1 only. */
static const struct {
	uint8_t sw1;
	const char *text;
} classes[] = {
	{ 0x61, "61xx: more response data available (GET RESPONSE with Le = xx)" },
	{ 0x62, "62xx: warning - state unchanged" },
	{ 0x63, "63xx: warning - state changed (63Cx: x retries left)" },
	{ 0x64, "64xx: execution error - state unchanged" },
	{ 0x65, "65xx: execution error - state changed" },
	{ 0x66, "66xx: security-related error" },
	{ 0x67, "67xx: wrong length" },
	{ 0x68, "68xx: function in CLA not supported" },
	{ 0x69, "69xx: command not allowed" },
	{ 0x6A, "6Axx: wrong parameters P1/P2 or data" },
	{ 0x6B, "6Bxx: wrong parameters P1/P2" },
	{ 0x6C, "6Cxx: wrong Le - resend with Le = xx" },
	{ 0x6D, "6Dxx: instruction not supported" },
	{ 0x6E, "6Exx: class not supported" },
	{ 0x6F, "6Fxx: no precise diagnosis" },
	{ 0x90, "90xx: success with proprietary information" },
};

const char *
pcard_ins_name(uint8_t ins)
{
	for (size_t i = 0; i < sizeof ins_names / sizeof ins_names[0]; i++)
		if (ins_names[i].ins == ins)
			return ins_names[i].name;
	return NULL;
}

const char *
pcard_sw_explain(uint16_t sw, uint8_t ins)
{
	/* The odd GET DATA shares the even one's answers. */
	uint8_t key = ins == PCARD_INS_GET_DATA_ODD ? PCARD_INS_GET_DATA : ins;

	if (key != PCARD_SW_ANY_INS)
		for (size_t i = 0; i < sizeof per_cmd / sizeof per_cmd[0]; i++)
			if (per_cmd[i].ins == key && per_cmd[i].sw == sw)
				return per_cmd[i].text;
	for (size_t i = 0; i < sizeof general / sizeof general[0]; i++)
		if (general[i].sw == sw)
			return general[i].text;
	for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
		if (classes[i].sw1 == (sw >> 8))
			return classes[i].text;
	return "unknown status word";
}
