"""Installing a release on the cart: its own venv, the systemd units, the system user, udev.

`gma-edge install` builds `/opt/gma-edge/releases/<version>`, puts the units, tmpfiles,
sysusers and udev files in place, keeps an existing config, and switches `current` last, so
a step that fails leaves the cart on the release it had. Field updates (`edge.update`) then
replace releases under the same layout.
"""
