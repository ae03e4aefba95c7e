/*
 * sw.h: what a status word means, in general and for each GlobalPlatform command
 * (ISO/IEC 7816-4 5.1.3; GP CS 11.1.3 and the response tables of chapter 11).
 *
 * pcard_sw_is_success / pcard_sw_is_warning are declared in apdu.h.
 */
#ifndef POSTCARD_SW_H
#define POSTCARD_SW_H

#include <stdint.h>

/* INS codes of the commands postcard sends (GP CS Table 11-1, ISO 7816-4). */
enum pcard_ins {
	PCARD_INS_SELECT = 0xA4,
	PCARD_INS_GET_RESPONSE = 0xC0,
	PCARD_INS_MANAGE_CHANNEL = 0x70,
	PCARD_INS_INITIALIZE_UPDATE = 0x50,
	PCARD_INS_EXTERNAL_AUTHENTICATE = 0x82,
	PCARD_INS_BEGIN_RMAC_SESSION = 0x7A,
	PCARD_INS_END_RMAC_SESSION = 0x78,
	PCARD_INS_DELETE = 0xE4,
	PCARD_INS_GET_DATA = 0xCA,
	PCARD_INS_GET_DATA_ODD = 0xCB,
	PCARD_INS_GET_STATUS = 0xF2,
	PCARD_INS_INSTALL = 0xE6,
	PCARD_INS_LOAD = 0xE8,
	PCARD_INS_PUT_KEY = 0xD8,
	PCARD_INS_SET_STATUS = 0xF0,
	PCARD_INS_STORE_DATA = 0xE2,
};

/* Use as ins when the command is unknown: only the general meaning is given. */
#define PCARD_SW_ANY_INS 0x00

/*
 * A short static English explanation, never NULL. The most specific one wins:
 *   1. the meaning of sw for this command, e.g.
 *      "6A80 on INSTALL: wrong data - bad install parameters, or DAP/token verification failed"
 *   2. the general meaning of sw, e.g. "6A82: application or file not found"
 *   3. the meaning of its class, e.g. "61xx: more response data available (GET RESPONSE)"
 *   4. "unknown status word".
 */
const char *pcard_sw_explain(uint16_t sw, uint8_t ins);

/* "INSTALL", "GET STATUS", ...; NULL for an INS postcard does not know. */
const char *pcard_ins_name(uint8_t ins);

#endif
