#!/usr/bin/env python3
"""Checks that `rust-version` in Cargo.toml tells the truth.

For each feature set given, it lists the crates the library builds with
(`cargo tree`, normal dependencies of the target platform) and fails if any
of them declares a `rust-version` newer than the crate's own. The crate's
own code is held to the same version by clippy's `incompatible_msrv` lint,
which reads the manifest.

    scripts/msrv.py "" queue reqwest axum sqlite postgres full
"""

import json
import subprocess
import sys


def version_tuple(text):
    """`1.94` and `1.94.0` compare equal."""
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main(feature_sets):
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    declared = {
        (package["name"], package["version"]): package.get("rust_version")
        for package in metadata["packages"]
    }
    root = next(
        package for package in metadata["packages"] if package["id"] == metadata["resolve"]["root"]
    )
    ours = root.get("rust_version")
    if not ours:
        print("Cargo.toml states no rust-version", file=sys.stderr)
        return 1
    failed = False
    for features in feature_sets:
        tree = subprocess.run(
            ["cargo", "tree", "--locked", "-e", "normal", "--prefix", "none", "--format", "{p}",
             "--no-default-features", "--features", features],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        needed, needer = "0", "none"
        for line in tree.splitlines():
            parts = line.split()
            if len(parts) < 2 or not parts[1].startswith("v"):
                continue
            name, version = parts[0], parts[1][1:]
            if name == root["name"]:
                continue
            wanted = declared.get((name, version))
            if wanted and version_tuple(wanted) > version_tuple(needed):
                needed, needer = wanted, f"{name} {version}"
        label = features or "(no features)"
        if version_tuple(needed) > version_tuple(ours):
            print(f"FAIL {label}: {needer} needs Rust {needed}, Cargo.toml says {ours}")
            failed = True
        else:
            print(f"ok   {label}: dependencies need Rust {needed} at most ({needer}); rust-version is {ours}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or [""]))
