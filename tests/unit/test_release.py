"""One version across galaxy.yml, the changelog and the README's install line."""

import os
import re

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def read(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return f.read()


def version_key(text):
    return tuple(int(part) for part in text.split("."))


def test_galaxy_changelog_and_readme_name_one_version():
    version = yaml.safe_load(read("galaxy.yml"))["version"]
    releases = yaml.safe_load(read("changelogs", "changelog.yaml"))["releases"]
    assert max(releases, key=version_key) == version, "galaxy.yml says %s; changelogs/changelog.yaml's latest " \
        "release is %s (antsibull-changelog release)" % (version, max(releases, key=version_key))
    first_heading = re.search(r"^## v(\S+)$", read("CHANGELOG.md"), re.M).group(1).replace("\\", "")
    assert first_heading == version, "CHANGELOG.md's latest release is %s, galaxy.yml's %s" % (first_heading, version)
    installs = re.findall(r"swarmnet-overlay-([0-9.]+[0-9])\.tar\.gz", read("README.md"))
    assert installs and set(installs) == {version}, "README installs %s, galaxy.yml says %s" % (installs, version)


def test_galaxy_links_are_real():
    """No placeholder address: a link galaxy.yml gives must be one a user can open."""
    galaxy = yaml.safe_load(read("galaxy.yml"))
    for key in ("repository", "documentation", "homepage", "issues"):
        assert not galaxy.get(key) or ".invalid" not in galaxy[key], (key, galaxy[key])
