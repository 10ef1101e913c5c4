// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the input is a whole VHD file. It is opened read-only (footer
 * at 0 or at the end and its checksum, dynamic header, BAT), a few guest
 * ranges are read and block status walked. Then it is opened read-write:
 * writes allocate blocks (bitmap, footer moved, BAT update) or go to the
 * fixed disk, and zeroes are written.
 *
 * Build with "make fuzz" (build-fuzz/fuzz/vpc_fuzz) and run on a corpus of
 * small images made by qemu-img (each subformat, some blocks written):
 *   mkdir -p corpus && qemu-img create -f vpc corpus/d.vhd 5M
 *   ./build-fuzz/fuzz/vpc_fuzz -max_len=262144 corpus
 */
#include "img_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	img_fuzz_file("vpc", "vpc-fuzz", data, size);
	return 0;
}
