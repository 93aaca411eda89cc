"""Software commonly found in French health establishments, as CPE 2.3 vendor/product
pairs with versions seen in the field: the demo's inventories and the benchmark's
universe start from it."""

from __future__ import annotations

CATALOGUE: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("a", "apache", "http_server"): ("2.4.41", "2.4.52", "2.4.54", "2.4.55", "2.4.57",
                                     "2.4.58", "2.4.62"),
    ("a", "apache", "tomcat"): ("8.5.78", "9.0.65", "9.0.83", "10.1.16"),
    ("a", "apache", "log4j"): ("2.14.1", "2.17.1", "2.20.0"),
    ("a", "openssl", "openssl"): ("1.0.2k", "1.1.1t", "1.1.1w", "3.0.7", "3.0.12"),
    ("a", "openbsd", "openssh"): ("7.4p1", "8.2p1", "8.9p1", "9.3p1", "9.6p1"),
    ("a", "postgresql", "postgresql"): ("11.21", "13.12", "14.10", "15.5"),
    ("a", "oracle", "database_server"): ("12.2.0.1", "19.3", "19.21"),
    ("a", "microsoft", "exchange_server"): ("2016", "2019"),
    ("a", "microsoft", "sql_server"): ("2016", "2019", "2022"),
    ("a", "citrix", "netscaler_gateway"): ("13.0", "13.1", "14.1"),
    ("a", "vmware", "vcenter_server"): ("6.7", "7.0", "8.0"),
    ("a", "veeam", "backup_and_replication"): ("11.0", "12.0", "12.1"),
    ("a", "ivanti", "connect_secure"): ("9.1", "22.3", "22.6"),
    ("a", "gitlab", "gitlab"): ("15.11.3", "16.5.1", "16.7.0"),
    ("a", "mozilla", "firefox"): ("115.5.0", "120.0", "121.0"),
    ("a", "google", "chrome"): ("119.0.6045.199", "120.0.6099.109"),
    ("a", "7-zip", "7-zip"): ("19.00", "22.01", "23.01"),
    ("a", "progress", "moveit_transfer"): ("2022.1.5", "2023.0.1"),
    ("o", "fortinet", "fortios"): ("6.4.12", "7.0.12", "7.2.5", "7.2.6", "7.4.2"),
    ("o", "microsoft", "windows_server_2019"): ("-",),
    ("o", "microsoft", "windows_10"): ("21h2", "22h2"),
    ("o", "debian", "debian_linux"): ("10.0", "11.0", "12.0"),
    ("o", "redhat", "enterprise_linux"): ("7.9", "8.8", "9.2"),
    ("o", "paloaltonetworks", "pan-os"): ("10.2.4", "11.0.2", "11.1.0"),
    ("o", "cisco", "ios_xe"): ("16.12.4", "17.6.5", "17.9.4"),
}


def cpe_name(part: str, vendor: str, product: str, version: str) -> str:
    return f"cpe:2.3:{part}:{vendor}:{product}:{version}:*:*:*:*:*:*:*"
