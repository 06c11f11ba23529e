#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make deb`: build the Debian package from a copy of the source tree, so
# the package build neither sees nor touches this tree's build/; then lintian.
#   build/deb/tcshaped_VERSION_ARCH.deb      the package
#   build/deb/lintian.txt                    what lintian said
# DEB_VERSION=X adds a changelog entry for version X first (a rebuilt package
# to upgrade to); DEB_OUT=DIR puts everything in DIR instead of build/deb.
# Exit status: non-zero on a build failure or a lintian error.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${DEB_OUT:-build/deb}
rm -rf "$out" && mkdir -p "$out/src"
ver=$(dpkg-parsechangelog -S Version)
src=$out/src/tcshaped-$ver

# the tracked files, plus new ones not yet committed, without build/
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard | grep -zv '^build/' |
		xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}" || :' |
		tar --null -T - -c | tar -x -C "$src"
else
	tar --exclude=./build --exclude=./.git -c . | tar -x -C "$src"
fi

if [ -n "${DEB_VERSION:-}" ]; then
	{
		printf 'tcshaped (%s) unstable; urgency=medium\n\n' "$DEB_VERSION"
		printf '  * Rebuilt as %s.\n\n' "$DEB_VERSION"
		printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -l "$src/debian/changelog" -S Maintainer)" \
			"$(date -R)"
		cat "$src/debian/changelog"
	} > "$src/debian/changelog.new"
	mv "$src/debian/changelog.new" "$src/debian/changelog"
	ver=$DEB_VERSION
fi

echo "  DEB      tcshaped $ver (dpkg-buildpackage -b -us -uc in $src)"
(cd "$src" && dpkg-buildpackage -b -us -uc -j"$(nproc)") > "$out/build.log" 2>&1 || {
	tail -30 "$out/build.log" >&2
	echo "make deb: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
	exit 1
}
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out/"
rm -rf "$out/src"
deb=$(ls "$out"/tcshaped_"$ver"_*.deb)
echo "  DEB      $deb"

# errors fail the build; warnings are listed (docs/operations.md says why any stays).
# DEB_LINT=0 skips it (the fleet tier lints one of the packages it builds).
[ "${DEB_LINT:-1}" = 0 ] && exit 0
rc=0
lintian --fail-on error --info "$out"/tcshaped_"$ver"_*.changes > "$out/lintian.txt" 2>&1 || rc=$?
sed 's/^/  lintian: /' "$out/lintian.txt"
echo "  LINTIAN  $(grep -c '^E:' "$out/lintian.txt") errors, $(grep -c '^W:' "$out/lintian.txt") warnings"
exit $rc
