#!/usr/bin/env bash
# MMX under the software CPU (--accel emu): emu_mmx_prog.c, built static
# with the host's gcc, runs every MMX instruction on the same
# pseudo-random inputs on this host and in a Linux guest (one vCPU); the
# guest's lines must be the host's, and no instruction unimplemented.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emu_host_lib.sh"

grep -qw mmx /proc/cpuinfo || { skip emu_mmx "the host has no MMX to compare with"; exit 0; }
emu_against_host emu_mmx emu_mmx_prog.c 70 '^(mmx|x87) '
