# Helpers for the tests that move the counting guests (tests/guests/
# snapcount.S, dirtier.S) around: snapshot.sh, migrate.sh. Sourced.

# The "tick N" lines (hex) of a file.
ticks() { sed -n 's/^tick \([0-9a-f]*\)\r*$/\1/p' "$1"; }

# The last and the first tick of a file, as numbers; -1 if none.
last_tick() {
	local t
	t=$(ticks "$1" | tail -n1)
	[[ -n $t ]] && echo $((16#$t)) || echo -1
}
first_tick() {
	local t
	t=$(ticks "$1" | head -n1)
	[[ -n $t ]] && echo $((16#$t)) || echo -1
}

# seamless BEFORE AFTER: the guest's serial stream across the two files
# (lines from cvisor itself left out) ticks exactly 1..64 in order,
# wherever in a line the cut fell.
seamless() {
	local n=0 t
	while read -r t; do
		n=$((n + 1))
		((16#$t == n)) || return 1
	done < <({ cat "$1"; grep -av '^cvisor: ' "$2"; } |
		 sed -n 's/^tick \([0-9a-f]*\)\r*$/\1/p')
	((n == 64))
}

# reap PID SECONDS: its exit status, killed if it has not ended by then.
reap() {
	timeout "$2" tail --pid="$1" -f /dev/null
	kill -KILL "$1" 2>/dev/null
	wait "$1"
}
