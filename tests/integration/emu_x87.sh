#!/usr/bin/env bash
# x87 under the software CPU (--accel emu): emu_x87_prog.c, built static
# with the host's gcc, runs long double arithmetic in each rounding mode
# (fesetround) and precision (FCW.PC), libm's x87 functions, the
# exception flags fetestexcept reports, 12000 random operations and a
# SIGFPE from an unmasked divide by zero, on this host and in a Linux
# guest (one vCPU); the guest's lines must be the host's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emu_host_lib.sh"

emu_against_host emu_x87 emu_x87_prog.c 130 '^x87 ' -lm
