"""One module per domain with its lines of the policy matrix (see tests/core/policy_base.py)."""
