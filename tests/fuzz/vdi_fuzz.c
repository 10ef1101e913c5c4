// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the input is a whole VDI file. It is opened read-only (header,
 * block map), a few guest ranges are read and block status walked, and the
 * map checker runs. Then it is opened read-write: writes allocate blocks
 * (map and header updates), zeroes are written over mapped blocks, and
 * the checker runs again.
 *
 * Build with "make fuzz" (build-fuzz/fuzz/vdi_fuzz) and run on a corpus of
 * small images made by qemu-img (each subformat, some blocks written):
 *   mkdir -p corpus && qemu-img create -f vdi corpus/d.vdi 3M
 *   ./build-fuzz/fuzz/vdi_fuzz -max_len=262144 corpus
 */
#include "img_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	img_fuzz_file("vdi", "vdi-fuzz", data, size);
	return 0;
}
