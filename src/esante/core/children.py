"""Child processes that do not outlive the process that started them, even when it is
killed outright (SIGKILL, the OOM killer): Linux's ``PR_SET_PDEATHSIG`` asks the kernel to
send them a signal when their parent dies. Used by ``esante run`` (worker, SMTP gateway,
IMAP), the gateway's processes sharing its ports, and Dovecot under the IMAP service."""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn`` for ``subprocess.Popen``: the child gets ``sig`` when the calling
    process dies; a parent already gone before the request took hold ends it at once."""
    parent = os.getpid()
    # Looked up here, not in the child: between fork and exec a process with threads must
    # not take locks (the dynamic loader's) another thread may have held at the fork.
    prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)
    number = int(sig)
    if prctl is None:  # not Linux: the children are stopped in order only
        return lambda: None

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, number)
        if os.getppid() != parent:
            os._exit(1)

    return preexec
