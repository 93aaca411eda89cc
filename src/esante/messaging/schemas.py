"""Pydantic shapes of the messaging API, with bounds on every field."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class AttachmentIn(BaseModel):
    filename: str = Field(min_length=1, max_length=200)
    content_type: str = Field(max_length=100)
    data_base64: str = Field(max_length=15_000_000)


class MessageIn(BaseModel):
    from_mailbox_id: int
    to: list[str] = Field(min_length=1, max_length=50)
    subject: str = Field(max_length=500)
    text: str = Field(max_length=1_000_000)
    html: str = Field(default="", max_length=1_000_000)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)
    cda_documents_base64: list[str] = Field(default_factory=list, max_length=10)
    in_reply_to: str = Field(default="", max_length=250)
    fin: bool = False
    want_read_receipt: bool = False
    patient_identity_id: int | None = None
    nil: str = Field(default="", pattern=r"^[A-Za-z0-9._-]{0,40}$")  # X-MSS-NIL


class MailboxIn(BaseModel):
    kind: str = Field(max_length=16)
    local_part: str = Field(max_length=64)
    display_name: str = Field(min_length=1, max_length=200)
    owner_email: str = Field(default="", max_length=254)
    rpps: str = Field(default="", max_length=11)
    profession: str = Field(default="", max_length=100)
    finess: str = Field(default="", max_length=9)
    establishment: str = Field(default="", max_length=200)
    town: str = Field(default="", max_length=100)
    members: list[str] = Field(default_factory=list, max_length=200)
    listed: bool = True


class MailboxOut(BaseModel):
    id: int
    address: str
    kind: str
    display_name: str


class DirectoryEntryOut(BaseModel):
    address: str
    display_name: str
    rpps: str
    profession: str
    establishment: str
    town: str


class DomainIn(BaseModel):
    domain: str = Field(max_length=200)
    operator: str = Field(default="", max_length=200)


class DomainOut(BaseModel):
    domain: str
    operator: str


class SummaryOut(BaseModel):
    id: int  # the copy in this mailbox
    message_id: str
    sender: str
    to: list[str]
    subject: str
    received_at: datetime
    read: bool
    fin: bool
    x_mss_ins: str
    x_mss_codecda: str
    x_mss_nil: str = ""  # the sending software's product reference (Convergence)
    report: str
    attachments: int
    safety_warnings: list[str] = Field(default_factory=list)
    # Deleted by the holder's mail client (IMAP): absent from the folder's list.
    deleted_at: datetime | None = None


class AttachmentOut(BaseModel):
    index: int
    filename: str
    content_type: str
    size: int


class MessageOut(SummaryOut):
    text: str
    html: str
    in_reply_to: str
    attachment_list: list[AttachmentOut]
    thread: list[SummaryOut]


class ReceiptOut(BaseModel):
    recipient: str
    kind: str
    detail: str
    at: datetime


class SentOut(BaseModel):
    message_id: str
    thread_id: int
    x_mss_ins: str
    x_mss_codecda: str
    queued_outbound: int
