#!/usr/bin/env bash
# virtio-balloon on KVM: the guest touches ~160 MiB and frees it; inflating
# the balloon to leave it 64 MiB makes cvisor's RSS fall by at least 64 MiB
# (mgmt_linux.sh's check).  Free page reporting is off so that only the
# balloon returns memory.
# Guest commands are single-quoted: they expand in the guest.
# shellcheck disable=SC2016
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh

start_vm bal "$TMP/out" \
	'dd if=/dev/zero of=/f bs=1M count=160;rm /f;echo BAL-READY;while :;do sleep 1;done' \
	--memory 256M --balloon=free-page-reporting=off
if ! wait_for "$TMP/out" BAL-READY 600 "$VM"; then
	fail nested_kvm_balloon_boot "$(tail -c 400 "$TMP/out")"
	exit 0
fi
sleep 1
before=$(rss_kb "$VM")
"$CVISOR" balloon bal 64M
brc=$?
after=$before
for _ in $(seq 240); do
	after=$(rss_kb "$VM")
	((before - after >= 64 * 1024)) && break
	sleep 0.5
done
[[ $brc -eq 0 ]] && ((before - after >= 64 * 1024))
check nested_kvm_balloon_rss_drops $? "balloon rc=$brc RSS $before kB -> $after kB"
"$CVISOR" stop bal --force >/dev/null
wait "$VM"
VM=
