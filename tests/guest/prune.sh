# shellcheck shell=bash
# prune NAME KEEP: removes the asset directories $ASSETS/NAME-* other than
# KEEP that no checkout seems to use any more. The cache is shared by every
# checkout, and another one (a branch with another kernel.config or /init)
# may still run the build its last make-assets.sh wrote into $ASSETS/env;
# so a directory goes only when $ASSETS/env does not name it and no
# make-assets.sh has used it for ASSETS_KEEP_DAYS days (each use touches
# it). With ASSETS_PRUNE_DRY_RUN=1 it says what it would remove instead.
# Sourced by make-assets.sh; tests/integration/assets_prune.sh tries it.
ASSETS_KEEP_DAYS=${CVISOR_ASSETS_KEEP_DAYS:-7}
ASSETS_PRUNE_DRY_RUN=${ASSETS_PRUNE_DRY_RUN:-0}

prune() {
	local name=$1 keep=$2 d
	[[ -d $keep ]] && touch "$keep"
	for d in "$ASSETS/$name"-*; do
		[[ -d $d && $d != "$keep" ]] || continue
		[[ -f $ASSETS/env ]] && grep -qF "'$d/" "$ASSETS/env" && continue
		[[ -n $(find "$d" -maxdepth 0 -mtime +"$ASSETS_KEEP_DAYS") ]] ||
			continue
		if [[ $ASSETS_PRUNE_DRY_RUN == 1 ]]; then
			echo "make-assets: would remove $d"
		else
			rm -rf "$d"
		fi
	done
	return 0
}
