#!/bin/sh
# embed.sh OUT FILE... — writes OUT: each FILE as a C string constant named after it
# (lib/run/drivers/warm_python.py -> warm_python), so the drivers that run inside sandboxes are
# kept and reviewed as the Python, JavaScript and shell files they are.
set -e
out=$1
shift
for f in "$@"; do
	n=$(basename "$f" | sed 's/\..*//')
	echo "static const char ${n}[] ="
	sed 's/\\/\\\\/g; s/"/\\"/g; s/^/\t"/; s/$/\\n"/' "$f"
	echo ";"
done >"$out.tmp"
mv "$out.tmp" "$out"
