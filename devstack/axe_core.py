"""axe-core (the accessibility engine) from the npm registry, for the browser tests: one
pinned version, checked against the registry's published integrity hash, unpacked once
under var/. No npm is needed: the package is one tarball."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import urllib.request
from pathlib import Path

from .processes import VAR_DIR

VERSION = "4.14.1"
TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz"
# The `dist.integrity` the registry publishes for this version.
INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="  # noqa: E501
SCRIPT = VAR_DIR / f"axe-core-{VERSION}" / "axe.min.js"


def axe_script() -> Path:
    """The path of axe.min.js, fetched and checked first if it is not here yet."""
    if SCRIPT.is_file():
        return SCRIPT
    with urllib.request.urlopen(TARBALL, timeout=60) as response:
        packed = response.read()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(packed).digest()).decode()
    if digest != INTEGRITY:
        raise RuntimeError(f"{TARBALL} does not match its published integrity hash")
    with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as archive:
        member = archive.extractfile("package/axe.min.js")
        if member is None:
            raise RuntimeError(f"{TARBALL} holds no package/axe.min.js")
        SCRIPT.parent.mkdir(parents=True, exist_ok=True)
        SCRIPT.with_suffix(".tmp").write_bytes(member.read())
    SCRIPT.with_suffix(".tmp").replace(SCRIPT)
    return SCRIPT


if __name__ == "__main__":
    print(axe_script())
