#!/bin/sh
# Puts `p2mtrace` on PATH: writes DIR/p2mtrace (default ~/.local/bin), a two-line script that
# runs this clone's bin/p2mtrace launcher. Usage: sh tools/install.sh [DIR]
set -eu
clone=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
dir=${1:-"$HOME/.local/bin"}
mkdir -p "$dir"
tmp="$dir/.p2mtrace.$$"
quoted=$(printf '%s' "$clone/bin/p2mtrace" | sed "s/'/'\\\\''/g")
printf '#!/bin/sh\nexec '\''%s'\'' "$@"\n' "$quoted" >"$tmp"
chmod 755 "$tmp"
mv -f "$tmp" "$dir/p2mtrace"
echo "installed $dir/p2mtrace (runs $clone/bin/p2mtrace)" >&2
case ":$PATH:" in
  *":$dir:"*) ;;
  *) echo "note: $dir is not on PATH; add it, e.g. export PATH=\"$dir:\$PATH\"" >&2 ;;
esac
