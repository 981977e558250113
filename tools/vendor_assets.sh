#!/usr/bin/env bash
# Vendor the JavaScript the rendered book needs, so that its pages work with no network:
#   MathJax 3 (math), require.js + @jupyter-widgets/html-manager (saved ipywidgets state), plotly.min.js.
# Files go to book/_vendor/floq_vendor/ (git-ignored); _config.yml serves book/_vendor as a Sphinx static
# path, so they end up under _build/html/_static/floq_vendor/.
#
# Usage: tools/vendor_assets.sh [PYTHON]     (PYTHON defaults to .venv/bin/python, then python3)
# Needs npm (for `npm pack`, which fetches tarballs from the npm registry) and the plotly wheel.
# If it cannot vendor, it prints a warning and exits 0: the book then loads these from public CDNs
# (book/_ext/floq_assets.py notices the missing files at build time and says so too).
# Set FLOQ_REQUIRE_VENDORED=1 to make a failure fatal instead (CI does).
set -euo pipefail

REQUIREJS=requirejs@2.3.7
HTML_MANAGER=@jupyter-widgets/html-manager@1.0.13
MATHJAX=mathjax@3.2.2

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/book/_vendor/floq_vendor"
PY="${1:-}"
if [[ -z "$PY" ]]; then
  if [[ -x "$ROOT/.venv/bin/python" ]]; then PY="$ROOT/.venv/bin/python"; else PY=python3; fi
fi

fail() {
  echo "WARNING: tools/vendor_assets.sh: $*" >&2
  echo "WARNING: the book will load MathJax, require.js, the ipywidgets manager and plotly.js from public CDNs;" >&2
  echo "WARNING: its pages will then need network access to show math, widgets and plotly figures." >&2
  if [[ "${FLOQ_REQUIRE_VENDORED:-0}" == "1" ]]; then exit 1; fi
  exit 0
}

PLOTLY_JS="$("$PY" -c 'import os, plotly; print(os.path.join(os.path.dirname(plotly.__file__), "package_data", "plotly.min.js"))' 2>/dev/null)" \
  || fail "cannot import plotly with $PY"
[[ -f "$PLOTLY_JS" ]] || fail "plotly.min.js not found in the plotly package ($PLOTLY_JS)"

STAMP="$REQUIREJS $HTML_MANAGER $MATHJAX plotly=$(cksum < "$PLOTLY_JS" | cut -d' ' -f1)"
if [[ -f "$DEST/.stamp" && "$(cat "$DEST/.stamp")" == "$STAMP" ]]; then
  echo "vendor_assets: up to date in ${DEST#"$ROOT"/}"
  exit 0
fi

command -v npm >/dev/null 2>&1 || fail "npm is not installed, cannot fetch MathJax/require.js/html-manager"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
( cd "$TMP" && npm pack --silent "$REQUIREJS" "$HTML_MANAGER" "$MATHJAX" >/dev/null ) \
  || fail "npm pack failed (no access to the npm registry?)"
for pkg in requirejs-2.3.7 jupyter-widgets-html-manager-1.0.13 mathjax-3.2.2; do
  mkdir -p "$TMP/$pkg" && tar -xzf "$TMP/$pkg.tgz" -C "$TMP/$pkg" || fail "cannot unpack $pkg.tgz"
done

NEW="$DEST.new"
rm -rf "$NEW"
mkdir -p "$NEW/mathjax" "$NEW/html-manager" "$NEW/licenses"
# require.js: the plain (unminified) file, ~85 KB.
cp "$TMP/requirejs-2.3.7/package/require.js" "$NEW/require.js"
# html-manager: embed-amd.js is a self-contained AMD bundle (html-manager, base, controls, output) that
# require.js loads; the font files next to it are its Font Awesome icons, referenced relative to it
# (browsers take the woff2/woff variants, so the older eot/ttf/svg copies are left out).
HM="$TMP/jupyter-widgets-html-manager-1.0.13/package/dist"
cp "$HM/embed-amd.js" "$NEW/html-manager/"
find "$HM" -maxdepth 1 -type f \( -name '*.woff2' -o -name '*.woff' \) \
  -exec cp {} "$NEW/html-manager/" \;
# MathJax: the es5 tree without the alternative combined bundles we do not load.
cp -r "$TMP/mathjax-3.2.2/package/es5/." "$NEW/mathjax/"
rm -f "$NEW"/mathjax/{tex-svg,tex-svg-full,tex-mml-svg,mml-svg,tex-chtml-full,tex-chtml-full-speech,node-main}.js
# plotly.js: the copy shipped inside the installed plotly wheel (same version Colab's plotly uses for fig.show()).
cp "$PLOTLY_JS" "$NEW/plotly.min.js"
cp "$TMP/requirejs-2.3.7/package/README.md" "$NEW/licenses/requirejs-README.md" 2>/dev/null || true
cp "$TMP/jupyter-widgets-html-manager-1.0.13/package/LICENSE" "$NEW/licenses/html-manager-LICENSE" 2>/dev/null || true
cp "$TMP/mathjax-3.2.2/package/LICENSE" "$NEW/licenses/mathjax-LICENSE" 2>/dev/null || true
echo "$STAMP" > "$NEW/.stamp"
rm -rf "$DEST" && mv "$NEW" "$DEST"
echo "vendor_assets: vendored $REQUIREJS $HTML_MANAGER $MATHJAX plotly.min.js -> ${DEST#"$ROOT"/} ($(du -sh "$DEST" | cut -f1))"
