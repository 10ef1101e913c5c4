# Sourced by the benchmarks that report a VMM's own memory.
#
# own_rss PID: KiB resident in PID outside its guest-RAM mapping (the
# mapping whose size is MEM MiB, the guest's RAM; QEMU may pad it by a few
# MiB for alignment), from one read of smaps: a total and the guest's RAM
# read apart could straddle the VM's exit and count all its guest RAM as
# the VMM's own. Prints nothing once PID is gone.
own_rss() {
	awk -v lo=$((MEM * 1024)) -v hi=$(((MEM + 4) * 1024)) '
		/^[0-9a-f]+-[0-9a-f]+ / { cur = 0; maps++ }
		/^Size:/ { cur = ($2 >= lo && $2 <= hi) }
		/^Rss:/ { all += $2; if (cur) guest += $2 }
		END { if (maps) print all - guest }' "/proc/$1/smaps" 2>/dev/null
}
