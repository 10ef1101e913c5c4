// SPDX-License-Identifier: MIT
/* VHDX on-disk field helpers and the GUIDs the MS-VHDX specification names. */
#include <endian.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "block/crc32c.h"
#include "block/vhdx_int.h"

/* 2DC27766-F623-4200-9D64-115E9BFD4A08 */
const uint8_t vhdx_guid_bat[16] = {
	0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6, 0x00, 0x42,
	0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08 };
/* 8B7CA206-4790-4B9A-B8FE-575F050F886E */
const uint8_t vhdx_guid_meta[16] = {
	0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b,
	0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e };
/* CAA16737-FA36-4D43-B3B6-33F0AA44E76B */
const uint8_t vhdx_guid_file_params[16] = {
	0x37, 0x67, 0xa1, 0xca, 0x36, 0xfa, 0x43, 0x4d,
	0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b };
/* 2FA54224-CD1B-4876-B211-5DBED83BF4B8 */
const uint8_t vhdx_guid_disk_size[16] = {
	0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48,
	0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8 };
/* BECA12AB-B2E6-4523-93EF-C309E000C746 (page 83 data) */
const uint8_t vhdx_guid_disk_id[16] = {
	0xab, 0x12, 0xca, 0xbe, 0xe6, 0xb2, 0x23, 0x45,
	0x93, 0xef, 0xc3, 0x09, 0xe0, 0x00, 0xc7, 0x46 };
/* 8141BF1D-A96F-4709-BA47-F233A8FAAB5F */
const uint8_t vhdx_guid_logical_sector[16] = {
	0x1d, 0xbf, 0x41, 0x81, 0x6f, 0xa9, 0x09, 0x47,
	0xba, 0x47, 0xf2, 0x33, 0xa8, 0xfa, 0xab, 0x5f };
/* CDA348C7-445D-4471-9CC9-E9885251C556 */
const uint8_t vhdx_guid_physical_sector[16] = {
	0xc7, 0x48, 0xa3, 0xcd, 0x5d, 0x44, 0x71, 0x44,
	0x9c, 0xc9, 0xe9, 0x88, 0x52, 0x51, 0xc5, 0x56 };
/* A8D35F2D-B30B-454D-ABF7-D3D84834AB0C */
const uint8_t vhdx_guid_parent_locator[16] = {
	0x2d, 0x5f, 0xd3, 0xa8, 0x0b, 0xb3, 0x4d, 0x45,
	0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab, 0x0c };

uint16_t vhdx_le16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

uint32_t vhdx_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

uint64_t vhdx_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

void vhdx_put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

void vhdx_put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

void vhdx_put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

void vhdx_new_guid(uint8_t *g)
{
	if (getrandom(g, 16, 0) != 16) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		memset(g, 0x5a, 16);
		memcpy(g, &ts, sizeof(ts) < 16 ? sizeof(ts) : 16);
	}
	g[7] = (uint8_t)((g[7] & 0x0f) | 0x40); /* version 4, stored LE */
	g[8] = (uint8_t)((g[8] & 0x3f) | 0x80);
}

void vhdx_set_csum(uint8_t *p, size_t len)
{
	vhdx_put32(p + 4, 0);
	vhdx_put32(p + 4, crc32c(p, len));
}
