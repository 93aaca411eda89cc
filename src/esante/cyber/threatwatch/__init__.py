"""Threat watch: establishments' inventories (CPE 2.3), the national cell's advisories
(CVE, CVSS, CSAF 2.0), matching, alerts and their follow-up."""
