#!/usr/bin/env bash
# tests/integration/kvm_guests.sh unchanged, on kvm_intel: the small
# self-written guests (serial output and test exit, failure and triple
# fault reports, unclaimed I/O, four vCPUs, SIGTERM under seccomp, PCI
# config through ports and ECAM, minimal virtio drivers with ioeventfd
# kicks and MSI-X irqfds, hostile drivers, the internal error).
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh
run_integration kvm_guests
