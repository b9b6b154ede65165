# Sourced by the shell tests: a scratch directory $dir, removed on exit,
# and the checks' verdicts: pass, flunk (which sets fail=1 for the exit
# status) and show (a run's output, for the log of a failed check).
dir=$(mktemp -d "${TMPDIR:-/tmp}/rtaio-test.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail=0

pass() { echo "ok: $*"; }
flunk() {
	echo "FAIL: $*"
	fail=1
}
show() { sed 's/^/# /' "$1"; }
