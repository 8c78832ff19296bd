"""Email channel: the center's mailbox (IMAP poller on the leader) and threaded SMTP replies.

Intake: ``email_imap.ImapPoller`` stores each raw mail (base64) with its UID, UIDVALIDITY and
mailbox; the dedupe key is the Message-ID (the mailbox UID when there is none).
Parsing (pure, in the inbox worker): ``email_mime.parse_mail`` → one InboundMessage:
- auto-replies, bulk/list mail, bounces of others' mail, our own mail → kind "ignore" with
  ``meta["reason"]`` (counted and logged by the core);
- a bounce of one of OUR messages → kind "delivery" (``delivery_state="bounced"``, our
  Message-IDs in ``provider_ids``, the failed address in ``suppress_address``): the core marks the
  outbox row dead with the reason and stops mailing that address;
- a citizen's mail → kind "message"; ``report_code`` from ``[#PA-…]`` in the Subject, our
  Message-IDs it answers in ``meta["in_reply_to_ids"]`` (threading), the citizen's Message-ID
  and Subject in ``reply_context`` (our replies thread under it).
Sending: ``email_smtp`` (aiosmtplib) with a per-address rate limit.
"""
from __future__ import annotations

import base64
import logging
import re
from typing import Any

from channels.base import ChannelAdapter, ChannelContext
from channels.email.imap import ImapPoller
from channels.email.mime import (
    ParsedMail,
    attachment_kind,
    external_id_for,
    message_ref,
    parse_mail,
)
from channels.email.settings import EmailSettings
from channels.email.smtp import ReplyRateLimit, SmtpSender, build_message, domain_of
from normalizer.schema import (
    AttachmentRef,
    ContactInfo,
    DeliveryResult,
    InboundMessage,
    OutboundMessage,
)

log = logging.getLogger("hub.channels.email")

# Reply/forward prefixes in the languages our citizens' mail clients use.
SUBJECT_PREFIX = re.compile(
    r"^\s*((re|fw|fwd|tr|tl|ct|aw|wg|sv|vs|rv|trả lời|chuyển tiếp|phản hồi)\s*(\[\d+\])?\s*:\s*)+",
    re.IGNORECASE)
CODE_TAG = re.compile(r"\[#?PA-\d{4}-\d{6,}\]\s*", re.IGNORECASE)
BOUNCE_REASONS = ("bounce:dsn", "bounce:mailer-daemon", "bounce:null-sender")
TRUNCATED_NOTE = "[Thư quá lớn: chỉ lưu phần đầu, xem thư gốc trong hộp thư]"
CUT_FILES_NOTE = "[Tệp bị cắt vì thư quá lớn, không lưu: {names}]"


def clean_subject(subject: str) -> str:
    return CODE_TAG.sub("", SUBJECT_PREFIX.sub("", subject)).strip()


def mail_label(mailbox: str, uidvalidity: int, uid: int, message_id: str | None) -> str:
    """Which mail, for a log line, without personal data: its place in the mailbox and a short
    hash of its Message-ID (``mime.message_ref``; ids often carry the sender's address)."""
    ref = message_ref(message_id) if message_id else "no Message-ID"
    return f"{mailbox} uid {uid} (uidvalidity {uidvalidity}, {ref})"


class EmailChannel(ChannelAdapter):
    name = "email"

    settings_model = EmailSettings
    # A citizen answers our mails: the dialogue's questions go as short replies, and a reply
    # "5" to the "resolved" mail is a rating.
    dialogue = True

    def __init__(self, ctx: ChannelContext, cfg: EmailSettings) -> None:
        super().__init__(ctx, cfg)
        self.settings = s = cfg
        self.own_addresses = tuple(sorted({a.lower() for a in (s.from_address, s.username, s.smtp_username)
                                           if a and "@" in a}))
        self.own_domain = domain_of(s.from_address)
        self.poller = ImapPoller(ctx, s)
        self.smtp = SmtpSender(s)
        self.rate_limit = ReplyRateLimit(s.reply_rate_limit, s.reply_rate_window_seconds)

    @classmethod
    def from_settings(cls, ctx: ChannelContext, cfg: EmailSettings) -> EmailChannel:
        cls.require(cfg, "channels.email", "imap_host", "username", "smtp_host", "from_address",
                    *(("password",) if cfg.auth == "password" else ()))
        return cls(ctx, cfg)

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        await self.poller.start()
        self.ctx.add_job("email-smtp-recheck", self.settings.smtp_recheck_seconds,
                         self.recheck_paused, leader_only=False)

    async def aclose(self) -> None:
        await self.poller.aclose()
        await self.smtp.close()

    async def recheck_paused(self) -> None:
        if self.ctx.is_paused(self.name) and await self.smtp.check_login():
            self.ctx.resume(self.name)

    # --- parsing (pure) --------------------------------------------------------------------
    def parse(self, payload: dict[str, Any]) -> list[InboundMessage]:
        raw = base64.b64decode(payload["raw"])
        mailbox = str(payload.get("mailbox", self.settings.mailbox))
        uidvalidity, uid = int(payload.get("uidvalidity", 0)), int(payload.get("uid", 0))
        external_id = payload.get("external_id") or external_id_for(raw, mailbox, uidvalidity, uid)
        truncated = bool(payload.get("truncated"))
        mail = parse_mail(raw, self.own_addresses, truncated=truncated)
        meta: dict[str, Any] = {"mailbox": mailbox, "uid": uid, "uidvalidity": uidvalidity}
        if mail.bounce is not None and mail.skip_reason in BOUNCE_REASONS:
            ours = [i for i in mail.bounce.original_ids if i.endswith(f"@{self.own_domain}>")]
            if ours:
                return [self._bounce(external_id, mail, ours, meta)]
        if mail.skip_reason:
            meta["reason"] = mail.skip_reason
            # The core's "ignored … event" line names the Message-ID, which the log scrubber
            # masks as an address: this line tells the operator which mail it was.
            log.info("skipped mail %s: %s", mail_label(mailbox, uidvalidity, uid, mail.message_id),
                     mail.skip_reason)
            return [InboundMessage(channel=self.name, external_id=external_id,
                                   sender_id=mail.from_address or "unknown", kind="ignore",
                                   sent_at=mail.date, meta=meta)]
        return [self._citizen_message(external_id, mail, meta, truncated)]

    def _bounce(self, external_id: str, mail: ParsedMail, ours: list[str],
                meta: dict[str, Any]) -> InboundMessage:
        bounce = mail.bounce
        assert bounce is not None
        recipient = bounce.recipients[0] if bounce.recipients else None
        reason = " ".join(x for x in ("bounced:", bounce.status, bounce.diagnostic) if x)
        meta.update(delivery_state="bounced", provider_ids=ours, reason=reason[:500],
                    suppress_address=recipient, suppress=True)
        return InboundMessage(channel=self.name, external_id=external_id,
                              sender_id=recipient or mail.from_address or "mailer-daemon",
                              kind="delivery", sent_at=mail.date, meta=meta)

    def _citizen_message(self, external_id: str, mail: ParsedMail, meta: dict[str, Any],
                         truncated: bool) -> InboundMessage:
        thread_ids = mail.thread_ids
        is_reply = bool(mail.report_code or thread_ids)
        text = mail.new_text
        subject = clean_subject(mail.subject)
        if not is_reply and subject and subject.casefold() not in text.casefold():
            text = f"{subject}\n{text}".strip()
        cut = [a.name for a in mail.attachments if a.refused]
        if truncated:
            text = f"{text}\n{TRUNCATED_NOTE}".strip()
            # the citizen is told which files did not come (hub: tell_cut_off)
            meta["mail_truncated"] = {"limit_bytes": self.cfg.max_message_bytes,
                                      "files": [n or "" for n in cut][:10]}
        if cut:
            text = f"{text}\n{CUT_FILES_NOTE.format(names=', '.join(cut))}".strip()
        if thread_ids:
            meta["in_reply_to_ids"] = thread_ids
        if mail.reply_to:
            meta["reply_address"] = mail.reply_to
        # A refused part (cut off by a partial fetch) goes without data: the core records it as
        # refused, never as a stored file.
        attachments = [AttachmentRef(kind=attachment_kind(a.content_type), content_type=a.content_type,
                                     name=a.name, size=None if a.refused else len(a.data),
                                     data=None if a.refused else a.data)
                       for a in mail.attachments]
        reply_context: dict[str, Any] = {"subject": mail.subject}
        if mail.from_name and not mail.reply_to:
            # the salutation of our answers (router.templates.for_channel): only the name of the
            # person they go to, never a From name when replies go to another address
            reply_context["name"] = mail.from_name
        if mail.message_id:
            reply_context["message_id"] = mail.message_id
            reply_context["references"] = mail.references[-9:]
        return InboundMessage(
            channel=self.name, external_id=external_id, sender_id=mail.from_address, kind="message",
            text=text, sent_at=mail.date, attachments=attachments,
            contact=ContactInfo(name=mail.from_name, email=mail.from_address),
            report_code=mail.report_code, reply_context=reply_context, meta=meta)

    # --- sending ---------------------------------------------------------------------------
    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult:
        address = address.strip().lower()
        if "@" not in address:
            return DeliveryResult.give_up("not an email address", needs_other_route=True)
        wait = self.rate_limit.wait_seconds(address)
        if wait > 0:
            return DeliveryResult.retry("per-address reply rate limit reached", retry_after=wait)
        result = await self.smtp.send(build_message(self.settings, address, message), address)
        if result.status == "sent":
            self.rate_limit.record(address)
        return result
