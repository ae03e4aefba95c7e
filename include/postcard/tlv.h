/*
 * tlv.h: BER-TLV as ISO/IEC 7816-4 (5.2) and GlobalPlatform use it.
 *
 *   tag:    1 to 3 octets; first octet b5-b1 = 11111 means more follow, each later octet
 *           with b8 set means another follows. First octet 00 or FF is not a tag (padding).
 *   length: 00-7F, or 81 xx, 82 xx xx, 83 xx xx xx (indefinite 80 and 84+ are refused)
 *   value:  length octets; a constructed tag (first octet b6 = 1) holds more TLVs.
 *
 * Tags are handled as the integer of their octets as on the wire: 0x4F, 0x9F70, 0xBF0C.
 */
#ifndef POSTCARD_TLV_H
#define POSTCARD_TLV_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/bytes.h"
#include "postcard/err.h"

/**
 * Read the next BER-TLV object (ISO/IEC 7816-4 as used by GlobalPlatform).
 * @param[in,out] r   advanced past the object on success, unchanged on failure
 * @param[out]    tag the tag as on the wire, 1 to 3 octets (0x4F, 0x9F70, 0xBF0C)
 * @param[out]    val reader over exactly the value octets; borrowed from r's bytes
 * Padding (00/FF) is not skipped; call pcard_tlv_skip_padding() where it is allowed.
 * @retval PCARD_E_TRUNCATED input ends inside the tag, length or value (or is empty)
 * @retval PCARD_E_BAD_ENCODING tag over 3 octets, first tag octet 00/FF, second tag octet
 *         80, indefinite length, 84+ length octets
 */
pcard_err pcard_tlv_next(pcard_rd *r, uint32_t *tag, pcard_rd *val);

/* Skip any 00 and FF octets at r's position (padding between objects, ISO 7816-4 5.2.2.1). */
void pcard_tlv_skip_padding(pcard_rd *r);

/* 1 when tag is constructed (first octet b6 set), else 0. */
int pcard_tlv_is_constructed(uint32_t tag);

/* Octets of tag on the wire (1..3), 0 when it is not a valid tag number. */
size_t pcard_tlv_tag_len(uint32_t tag);

/*
 * First object tagged tag among the objects of r (siblings only; r is not moved).
 * @retval PCARD_E_NOT_FOUND no such object
 * @retval PCARD_E_TRUNCATED, PCARD_E_BAD_ENCODING malformed before the object was found
 */
pcard_err pcard_tlv_find(const pcard_rd *r, uint32_t tag, pcard_rd *val);

/*
 * Descend a path of tags: path[0] among r's objects, path[1] inside its value, ...
 * e.g. { 0x6F, 0xA5, 0x9F65 } in a SELECT response. Errors as pcard_tlv_find;
 * PCARD_E_INVALID_ARG for an empty path.
 */
pcard_err pcard_tlv_find_path(const pcard_rd *r, const uint32_t *path, size_t n, pcard_rd *val);

/*
 * Check that r holds only well-formed TLV objects, recursing into constructed ones, and
 * nothing else. Constructed objects nested more than PCARD_TLV_MAX_DEPTH deep (a top-level
 * one is depth 1) are PCARD_E_BAD_ENCODING.
 */
#define PCARD_TLV_MAX_DEPTH 16
pcard_err pcard_tlv_validate(const pcard_rd *r);

/* ---- Writing (over pcard_wr; errors are reported by pcard_wr_finish) ---- */

/* The tag's octets. An invalid tag (0, over 3 octets) makes finish return INVALID_ARG. */
void pcard_tlv_put_tag(pcard_wr *w, uint32_t tag);
/* tag, BER length, value. */
void pcard_tlv_put(pcard_wr *w, uint32_t tag, const void *v, size_t n);
void pcard_tlv_put_u8(pcard_wr *w, uint32_t tag, uint8_t v);

/*
 * Nested constructed objects whose length is not known in advance:
 *	pcard_tlv_mark m;
 *	pcard_tlv_begin(w, 0xE3, &m);  ... write the contents ...  pcard_tlv_end(w, &m);
 * end writes the minimal length, moving the contents when it needs more than one octet.
 * Marks nest (end them in reverse order of begin). Works in measuring mode (NULL buffer).
 */
typedef struct pcard_tlv_mark {
	size_t len_off;		/* private: offset of the reserved length octet */
} pcard_tlv_mark;

void pcard_tlv_begin(pcard_wr *w, uint32_t tag, pcard_tlv_mark *m);
void pcard_tlv_end(pcard_wr *w, const pcard_tlv_mark *m);

/*
 * Pretty-print the TLV objects of p[0..n) into out (NUL-terminated), one object per line,
 * indented two spaces per level; constructed values are expanded, primitive ones shown as
 * hex:
 *	6F 1A
 *	  84 08 A000000151000000
 *	  A5 0E
 *	    9F65 01 FF
 * Padding is skipped. Bytes that do not parse are printed as "?? <hex>" and the parse error
 * is returned after the text is complete. Values of 64+ bytes in a primitive object are
 * printed in full. indent is the initial indentation (spaces).
 * @retval PCARD_E_NOSPACE out_cap too small (out holds a truncated, NUL-terminated text)
 */
pcard_err pcard_tlv_print(const uint8_t *p, size_t n, unsigned indent, char *out,
    size_t out_cap, size_t *out_len);

#endif
