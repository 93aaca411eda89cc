"""Evidence files: the type is read from the content (never trusted from the name or the
declared type), executables and scripts are refused, the SHA-256 is recorded."""

from __future__ import annotations

from esante.core.errors import Invalid

MAX_BYTES = 10 * 1024 * 1024

SIGNATURES: list[tuple[bytes, str]] = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
]
DANGEROUS: list[tuple[bytes, str]] = [
    (b"MZ", "exécutable Windows"),
    (b"\x7fELF", "exécutable Linux"),
    (b"\xcf\xfa\xed\xfe", "exécutable macOS"),
    (b"\xca\xfe\xba\xbe", "exécutable macOS / Java"),
    (b"#!", "script"),
    (b"PK\x03\x04", "archive ZIP (peut contenir des exécutables ou des macros)"),
    (b"\xd0\xcf\x11\xe0", "document Office ancien format (macros)"),
]
TEXT_TYPES = ("text/plain", "text/csv", "application/json", "message/rfc822")
DANGEROUS_SUFFIXES = (".exe", ".dll", ".bat", ".cmd", ".ps1", ".vbs", ".js", ".jar", ".msi",
                      ".scr", ".sh", ".hta", ".lnk", ".docm", ".xlsm")


def sniff(data: bytes, filename: str, declared: str) -> str:
    """The content type of an evidence file, or Invalid saying why it is refused."""
    if not data:
        raise Invalid("fichier vide", "empty file", code="attachment")
    if len(data) > MAX_BYTES:
        raise Invalid(f"fichier trop volumineux : {len(data) // 1024} Kio (maximum "
                      f"{MAX_BYTES // 1024 // 1024} Mio)", "file too large", code="attachment")
    for magic, label in DANGEROUS:
        if data.startswith(magic):
            raise Invalid(f"fichier refusé : {label}", f"refused file: {label}",
                          code="attachment")
    if filename.lower().endswith(DANGEROUS_SUFFIXES):
        raise Invalid("fichier refusé : extension exécutable", "refused: executable extension",
                      code="attachment")
    actual = next((ctype for magic, ctype in SIGNATURES if data.startswith(magic)), None)
    if actual is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("type de fichier non accepté (PDF, PNG, JPEG, GIF ou texte UTF-8)",
                          "file type not accepted", code="attachment") from None
        if "\x00" in text:
            raise Invalid("type de fichier non accepté (texte avec octets nuls)",
                          "file type not accepted", code="attachment")
        actual = declared if declared in TEXT_TYPES else "text/plain"
    if declared and declared != "application/octet-stream" and declared != actual and not (
            actual.startswith("text/") and declared in TEXT_TYPES):
        raise Invalid(f"type déclaré {declared[:60]} mais contenu {actual}",
                      f"declared {declared[:60]} but content is {actual}", code="attachment")
    return actual
