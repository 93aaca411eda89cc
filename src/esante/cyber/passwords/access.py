"""Who may query the breached-password ranges and open the password test page.

Any logged-in person: a range answer reveals nothing about anyone (a prefix is shared by
about a million hashes in a full corpus, and the answer is padded), and every account holder
may want to test a password. Login is still required: the corpus is served to the
platform's users, not to the whole Internet."""

from __future__ import annotations

from typing import Any

from esante.core.policy import Principal, rule


@rule("password.range.read", write=False,
      label_fr="consulter les plages de mots de passe compromis")
def _range_read(_p: Principal, _t: Any) -> bool:
    return True
