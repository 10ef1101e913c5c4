#!/usr/bin/env bash
# make-assets.sh's pruning (tests/guest/prune.sh) on a cache of fake build
# directories: what this run keeps, what $ASSETS/env names and what was used
# lately stay; only old, unnamed builds go, and a dry run removes nothing.
. "$(dirname "$0")/lib.sh"

ASSETS=$TMP/assets
. "$TOP/tests/guest/prune.sh"

fake_cache() {
	rm -rf "$ASSETS"
	mkdir -p "$ASSETS"
	for k in new named recent old; do
		mkdir "$ASSETS/kernel-$k"
		echo x >"$ASSETS/kernel-$k/bzImage"
	done
	mkdir "$ASSETS/nested-kernel-old" "$ASSETS/initramfs-old"
	touch -d '30 days ago' "$ASSETS/kernel-named" "$ASSETS/kernel-old" \
		"$ASSETS/kernel-new" "$ASSETS/nested-kernel-old" \
		"$ASSETS/initramfs-old"
	touch -d '2 days ago' "$ASSETS/kernel-recent"
	echo "CVISOR_KERNEL='$ASSETS/kernel-named/bzImage'" >"$ASSETS/env"
}

left() {
	(cd "$ASSETS" && ls -d */ | tr -d / | tr '\n' ' ')
}

fake_cache
ASSETS_PRUNE_DRY_RUN=1 prune kernel "$ASSETS/kernel-new" >"$TMP/dry.out"
[[ $(left) == "initramfs-old kernel-named kernel-new kernel-old kernel-recent nested-kernel-old " ]] &&
	grep -qx "make-assets: would remove $ASSETS/kernel-old" "$TMP/dry.out" &&
	[[ $(wc -l <"$TMP/dry.out") -eq 1 ]]
check assets_prune_dry_run_removes_nothing $? "left: $(left); said: $(cat "$TMP/dry.out")"

fake_cache
prune kernel "$ASSETS/kernel-new"
[[ $(left) == "initramfs-old kernel-named kernel-new kernel-recent nested-kernel-old " ]]
check assets_prune_keeps_named_recent_and_other_kinds $? "left: $(left)"

# The build a run keeps counts as used now: the next run's prune keeps it.
[[ -n $(find "$ASSETS/kernel-new" -maxdepth 0 -mtime -1) ]]
check assets_prune_touches_the_kept_build $? \
	"$(stat -c %y "$ASSETS/kernel-new")"

fake_cache
CVISOR_ASSETS_KEEP_DAYS=0 bash -c '. "$1"; ASSETS=$2; prune kernel "$2/kernel-new"' \
	_ "$TOP/tests/guest/prune.sh" "$ASSETS"
[[ $(left) == "initramfs-old kernel-named kernel-new nested-kernel-old " ]]
check assets_prune_keep_days_setting $? "left: $(left)"
