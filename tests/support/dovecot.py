"""A real IMAP server for tests: Dovecot (Debian's dovecot-imapd) in the foreground, on a free port, in a temp dir."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.support.ports import free_port

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = {uid}
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login_user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


class Dovecot:
    """`dovecot -F` with its own config, one passwd-file user and a Maildir under `root`."""

    def __init__(self, root: Path, user: str = "bounces", password: str = "bounce-secret"):
        self.root, self.user, self.password = root, user, password
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> Dovecot:
        """Write the config and start the server; a missing binary is a failure, never a skip."""
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        assert Path(binary).exists(), "dovecot is not installed (apt-get install dovecot-imapd; .ci/run does it)"
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        if os.getuid() == 0:  # the mail processes run as the unprivileged dovecot user
            import pwd

            owner = pwd.getpwnam("dovecot")
            for path in [self.root, *self.root.rglob("*")]:
                os.chown(path, owner.pw_uid, owner.pw_gid)
            uid, gid, user, group, login = owner.pw_uid, owner.pw_gid, "dovecot", "dovecot", "dovenull"
        else:
            import grp
            import pwd

            me = pwd.getpwuid(os.getuid())
            uid, gid, user, group, login = me.pw_uid, me.pw_gid, me.pw_name, grp.getgrgid(me.pw_gid).gr_name, me.pw_name
        config = self.root / "dovecot.conf"
        config.write_text(
            CONFIG.format(root=self.root, port=self.port, uid=uid, gid=gid, user=user, group=group, login_user=login)
        )
        self.proc = subprocess.Popen(
            [binary, "-F", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"dovecot exited: {self.proc.stdout.read().decode() if self.proc.stdout else ''}{self._log()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"dovecot did not listen on {self.port}: {self._log()}")

    def _log(self) -> str:
        """The server's log, for a failure message."""
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    @property
    def url(self) -> str:
        """BOUNCE_IMAP_URL for this server."""
        return f"imap://{self.user}:{self.password}@127.0.0.1:{self.port}/INBOX"

    def stop(self) -> None:
        """Stop the server (the process we started, by its handle)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
