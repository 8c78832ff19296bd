"""Report → the contract's JSON (export, agency API) and its public, redacted form."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from store.models import Attachment, Contact, Report, ReportEvent


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


_WORD = re.compile(r"[^\W\d_]+")
MASK = "***"
# A name right after these is a street, lane, bridge, market, school or unit named after
# someone ("đường Lê Lợi", "kiệt 5 Trần Hưng Đạo", "chợ Đông Ba"): a place, not the citizen.
_PLACE_WORDS = frozenset({
    "đường", "đ", "phố", "kiệt", "hẻm", "ngõ", "ngách", "số", "cầu", "chợ", "trường", "phường",
    "xã", "quận", "huyện", "thôn", "xóm", "tổ", "khu", "khóm", "ấp", "làng", "trấn", "tỉnh",
    "lộ", "bến", "ngã", "ba", "tư", "năm", "công", "viên", "viện", "lăng", "đình", "chùa",
    "đền", "cửa", "cống", "kênh", "sông", "hói", "đập", "hồ", "trạm", "dốc", "đèo", "núi",
    "kp", "tdp", "ql", "tl", "k", "p", "q"})
# The same typed without diacritics, where that is not an everyday word too ("cho" is
# "for" as well as "chợ", "xa" "far", "quan" in "cơ quan", "truong" also "trưởng").
_PLACE_WORDS_ASCII = frozenset({
    "duong", "d", "pho", "kiet", "hem", "ngo", "ngach", "so", "phuong", "huyen", "thon",
    "xom", "khom", "ap", "lang", "kp", "tdp", "ql", "tl", "k", "p", "q"})
# Capitalised, these are also family or middle names ("Hồ Thị Lan", "Nguyễn Đình Lợi").
_PLACE_LOWER_ONLY = frozenset({"hồ", "đình", "năm", "ba", "tư", "viên", "công"})
_HOUSE_NUMBER = re.compile(r"[Kk]?\d{1,4}[A-Za-z]?(?:/\d{1,4}[A-Za-z]?)*[,.]?")
# Words right before a name that say it is a person: "tôi là", "tên", "chị", "ông"...
_PERSON_WORDS = frozenset({
    "tên", "anh", "chị", "em", "ông", "bà", "cô", "chú", "bác", "cháu", "cụ", "dì", "o", "mệ",
    "mụ", "thím", "mợ", "cậu", "bạn", "gọi", "gặp", "hỏi", "nhờ", "hệ", "của", "với"})
_PERSON_WORDS_ASCII = frozenset({
    "ten", "anh", "chi", "em", "ong", "ba", "co", "chu", "bac", "chau", "cu", "di", "o", "me",
    "thim", "cau", "ban", "goi", "gap", "hoi", "nho", "he", "cua", "voi"})
_I_AM = frozenset({"tôi", "toi", "em", "mình", "minh", "tên", "ten", "cháu", "chau", "con", "tớ",
                   "to"})
_SENTENCE_END = tuple(".!?:;\"'(“”-–•\n")


def _is_word(word: str, diacritic: frozenset[str], ascii_: frozenset[str]) -> bool:
    lower = word.lower().rstrip(":,")
    return lower in diacritic or (lower.isascii() and lower in ascii_)


def _person_cue(word: str, name_word: str) -> bool:
    """``word`` says the name after it is a person's ("chị Lan", "ong Loi"). A cue spelled without
    diacritics counts only before a name typed without them too: "Chu" in "Chu Văn An" is a
    name, not "chú"."""
    lower = word.lower().rstrip(":,")
    if lower in _PERSON_WORDS:
        return True
    return lower.isascii() and lower in _PERSON_WORDS_ASCII and name_word.isascii()


def _context(before: str, name_word: str = "") -> str | None:
    """"person", "place" or None from the words right before a name (same clause)."""
    if not before or not before[-1].isspace():
        return None
    words = before[-80:].split()
    if not words:
        return None
    last = words[-1]
    if last.endswith(":"):
        last = last[:-1]
    elif last.endswith((",", ".", ";", "!", "?", ")")):
        return None
    if _person_cue(last, name_word) and last.lower() not in ("ba", "năm", "tư"):
        return "person"
    if last.lower() in ("là", "la") and len(words) > 1 and words[-2].lower() in _I_AM:
        return "person"
    if _HOUSE_NUMBER.fullmatch(last) and not last.endswith((",", ".")):
        # "12 Lê Lợi", "kiệt 5/3 Lê Lợi", "số 5 Trần Hưng Đạo"; never a run of digit groups
        # (what is left of a phone number) or digits glued to a mask.
        if len(words) > 1 and (words[-2][-1:].isdigit() or "*" in words[-2]):
            return None
        return "place"
    lower = last.lower()
    if lower in _PLACE_LOWER_ONLY and last != lower:
        return None
    if lower in ("ba", "tư", "năm"):  # "ngã ba", "ngã tư", "ngã năm"
        return "place" if len(words) > 1 and words[-2].lower() in ("ngã", "nga") else None
    if _is_word(last, _PLACE_WORDS, _PLACE_WORDS_ASCII):
        return "place"
    return None


def _sentence_start(text: str, start: int) -> bool:
    before = text[max(0, start - 40):start].rstrip()
    return (not before and start <= 40) or before.endswith(_SENTENCE_END)


# "tôi là …", "tôi tên …", "tên tôi là …", "em là …": the citizen introducing themselves (the
# same "I am" words as _context's person rule).
# Also the name given where asked for it: "tên Nguyễn Văn An", "tên tôi: …", "họ và tên: …".
_SELF_INTRO = re.compile(r"(?i:\b(?:(?:" + "|".join(sorted(_I_AM)) + r")\s+(?:là|la|tên|ten)(?:\s+(?:là|la))?"
                         r"|(?:họ\s+(?:và\s+)?|ho\s+(?:va\s+)?)?(?:tên|ten)"
                         r"(?:\s+(?:tôi|toi|mình|minh|em|con|cháu|chau))?(?:\s+(?:là|la))?\s*:?))"
                         r"[ \t\u00a0]+")
_SPACES = re.compile(r"[ \t\u00a0]+")
_NAMED_AFTER = frozenset({"mang", "đặt", "dat", "lấy", "lay"})


def _mask_self_introduction(text: str) -> str:
    """Without a known name (Messenger, a form left blank), the capitalised words a citizen
    gives right after introducing themselves ("Tôi là Nguyễn Văn Hùng") are still masked,
    up to five of them: privacy first."""
    out, last = [], 0
    for cue in _SELF_INTRO.finditer(text):
        before = text[max(0, cue.start() - 12):cue.start()].split()
        if before and before[-1].lower() in _NAMED_AFTER:
            continue  # "đường mang tên Lê Lợi", "cầu được đặt tên Trần Phú": a place's name
        pos = cue.end()
        for _ in range(5):
            if text.startswith(MASK, pos):  # a word of the contact's name, masked already
                pos += len(MASK)
            else:
                word = _WORD.match(text, pos)
                if not word or not word[0][0].isupper() or word.start() < last:
                    break
                out.append(text[last:word.start()] + MASK)
                last = pos = word.end()
            if not (gap := _SPACES.match(text, pos)):
                break
            pos = gap.end()
    return "".join(out) + text[last:] if out else text


# Common Vietnamese family names (folded). A contact name that ends with one and starts with
# neither one nor "Văn"/"Thị" may be given name first ("Minh Tran", a Messenger profile): both
# its first and last words count as the given name. Any other is family name first ("Lê Văn
# Hùng"), the given name last.
_FAMILY_NAMES = frozenset({
    "nguyen", "tran", "le", "pham", "hoang", "huynh", "phan", "vu", "vo", "dang", "bui", "do",
    "ho", "ngo", "duong", "ly", "dinh", "doan", "trinh", "truong", "luu", "luong", "ton", "quach",
    "kieu", "phung", "nghiem", "vuong", "tieu", "khuc", "mai", "ha", "lam", "cao", "dao"})


def _given_names(name_words: list[str]) -> set[str]:
    """The words of a contact name that are its given name: the last ("Lê Văn Hùng"); the first
    too when a family name follows it ("Minh Tran"); and only the first when the name ends in a
    middle name after a family name — a Telegram profile's first name "Lan", last name "Nguyễn
    Thị" (Telegram walkthrough: "Chị Lan" stayed on the public page)."""
    from normalizer.text import fold

    folded = [fold(w) for w in name_words]
    given: set[str] = set()
    if len(folded) > 1 and folded[0] not in _FAMILY_NAMES and folded[0] not in ("van", "thi") \
            and any(w in _FAMILY_NAMES for w in folded[1:]):
        given.add(name_words[0])
    if folded[-1] not in ("van", "thi") or not given:
        given.add(name_words[-1])
    return given


def mask_name_tokens(text: str, name: str | None) -> str:
    """The citizen's name masked in public text where it names the citizen, with or without
    diacritics ("Nguyễn Thị Lan" masks "Nguyễn Thị Lan", "nguyen thi lan", "NGUYEN THI LAN",
    "chị Lan", "Thị Lan", "Nguyễn Lan", "Gửi Lan"), while streets and places named like them,
    and the middle and family names most Vietnamese share ("Văn", "Thị", "Đức", "Nguyễn"), are
    kept where they stand alone or inside another name ("Chu Văn An" for Lê Văn Hùng).

    Name words are read in runs of adjacent words (name words and capitalised words). A run
    names the citizen only when it holds their given name (the last word; also the first in a
    given-name-first profile name "Minh Tran"): alone, or with other words of their name. Then:
    - after a person cue ("tôi là", "tên", "chị", "ông", "gọi"...) the run is the citizen:
      masked;
    - after a place word ("đường", "kiệt", "số 5", "chợ", "phường"... or a house number:
      "12 Lê Lợi") it is a place: kept;
    - a run that goes on with other capitalised words ("Trần Hưng" in "Trần Hưng Đạo", "Lợi"
      in "Lê Lợi" for a citizen called Nguyễn Văn Lợi) is someone else's name or a street:
      kept, unless it holds the citizen's whole name of three words or more;
    - any other run, or a capitalised given name, is masked: privacy first;
    - a lone lower-case given name without a person cue is an everyday word ("lợi ích", "lan
      can"): kept.
    A run of only middle or family names ("Văn", "Lê Văn", "anh Văn") is never the citizen for
    this rule (a self-introduction, "Tôi là Lê Văn", is masked whatever the name).
    A word typed with diacritics must match them exactly ("lân" is not "Lan"); a bare-ASCII word
    matches the folded name word ("lan"). One- and two-letter words ("An", "Lê") count only
    when capitalised or next to another name word ("le van loi"), so "an ninh" and "lề đường"
    survive a name with them."""
    from normalizer.text import fold, nfc

    name_words = [nfc(t).lower() for t in _WORD.findall(nfc(name or ""))]
    tokens = set(name_words)
    if not tokens:
        return _mask_self_introduction(text)
    given = _given_names(name_words)
    words = list(_WORD.finditer(text))

    def is_name(word: str) -> bool:
        return bool(keys(word))

    def keys(word: str) -> set[str]:  # the name words this word may be
        lower = word.lower()
        if not word.isascii():
            return {lower} & tokens
        return {t for t in tokens if fold(t) == lower}

    def spaced(a: int, b: int) -> bool:  # words a < b next to each other, only spaces between
        gap = text[words[a].end():words[b].start()]
        return bool(gap) and gap.strip(" \t\u00a0") == ""

    named = [is_name(m.group(0)) for m in words]
    # one- and two-letter name words count when capitalised or next to another name word
    hits = [n and (len(m.group(0)) > 2 or m.group(0)[:1].isupper())
            for n, m in zip(named, words, strict=True)]
    for j in range(len(words)):
        if named[j] and not hits[j]:
            hits[j] = ((j > 0 and hits[j - 1] and spaced(j - 1, j))
                       or (j + 1 < len(words) and hits[j + 1] and spaced(j, j + 1)))
    masked: set[int] = set()
    i = 0
    while i < len(words):
        if not hits[i]:
            i += 1
            continue
        # the run: adjacent (space-separated) name words and capitalised words around i
        lo = i
        while lo > 0 and spaced(lo - 1, lo) and (hits[lo - 1] or words[lo - 1].group(0)[:1].isupper()):
            lo -= 1
        hi = i
        while (hi + 1 < len(words) and spaced(hi, hi + 1)
               and (hits[hi + 1] or words[hi + 1].group(0)[:1].isupper())):
            hi += 1
        # leading capitalised words that are cues ("Chị Lan", "Đường Lê Lợi") or just start the
        # sentence ("Gửi Lan") are not part of a name
        while lo < i and not hits[lo]:
            word = words[lo].group(0)
            if (_sentence_start(text, words[lo].start())
                    or _person_cue(word, words[lo + 1].group(0))
                    or _is_word(word, _PLACE_WORDS, _PLACE_WORDS_ASCII)):
                lo += 1
            else:
                break
        run = range(lo, hi + 1)
        context = _context(text[max(0, words[lo].start() - 80):words[lo].start()], words[lo].group(0))
        run_hits = [j for j in run if hits[j]]
        found = set().union(*(keys(words[j].group(0)) for j in run_hits))
        whole = len(tokens) >= 3 and tokens <= found
        if not given & found and not whole:
            pass  # only middle or family names ("Văn", "Lê Văn"): shared by most people
        elif context == "person":
            masked.update(run_hits)
        elif context == "place":
            pass
        elif len(run_hits) < len(run) and not whole:
            pass  # a longer proper name: a street ("Trần Hưng Đạo") or someone else
        elif len(run_hits) == 1 and words[run_hits[0]].group(0).islower():
            pass  # an everyday word
        else:
            masked.update(run_hits)
        i = hi + 1
    if not masked:
        return text
    pieces, last = [], 0
    for j in sorted(masked):
        pieces.append(text[last:words[j].start()])
        pieces.append(MASK)
        last = words[j].end()
    pieces.append(text[last:])
    return "".join(pieces)


# A mail's signature: "-- " (the standard delimiter, often sent without its space) or a closing
# formula alone on its line ("Trân trọng,", "Best regards"), folded and without end punctuation.
_SIGNATURE_RULE = re.compile(r"--[ \t]*")
_CLOSINGS = frozenset({
    "tran trong", "tran trong cam on", "tran trong cam on quy co quan", "tran trong kinh chao",
    "kinh thu", "kinh chao", "than ai", "than men", "than", "best regards", "kind regards",
    "warm regards", "regards", "best wishes", "best", "sincerely", "yours sincerely",
    "sincerely yours", "yours faithfully", "yours truly"})
# Thanks close a mail with a comma above a line ("Cảm ơn,\nLê Văn Hùng"), or above a name
# ("Cảm ơn!\nLê Văn Hùng"); elsewhere they may be the report's last words.
_THANKS = frozenset({
    "thanks", "thank you", "many thanks", "thanks a lot", "cam on", "xin cam on", "chan thanh cam on",
    "xin chan thanh cam on", "rat cam on", "cam on nhieu", "xin cam on nhieu"})
SIGNATURE_LINES = 8  # what follows the delimiter: at most this many lines...
SIGNATURE_LINE_CHARS = 80  # ...of at most this many characters: a name, a title, an address


def _signature_start(line: str, after: list[str], name: str | None) -> bool:
    from normalizer.text import fold

    if _SIGNATURE_RULE.fullmatch(line.strip("\r")):
        return True
    stripped = line.strip()
    words = fold(stripped).rstrip(" ,.!:;-").strip()
    if words in _CLOSINGS:
        return True
    if words in _THANKS:
        first = next((ln.strip() for ln in after if ln.strip()), "")
        if stripped.endswith(","):
            return first[:1].isupper() and not first.endswith((".", "!", "?"))
        # "Cảm ơn!" then a name on a line of its own: the citizen's, or two to five
        # capitalised words and nothing else ("Lê Văn Hùng", not "Mong sửa sớm")
        signed = _WORD.findall(first)
        if name and signed and {fold(w) for w in signed} <= set(fold(name).split()):
            return True
        return (2 <= len(signed) <= 5 and " ".join(signed) == first
                and all(w[:1].isupper() for w in signed))
    return False


def strip_signature(text: str, name: str | None = None) -> str:
    """Text without the signature block a mail ends with: from a "-- " line or a closing formula
    alone on its line ("Trân trọng,", "Kính thư", "Best regards", "Cảm ơn," above a name,
    "Cảm ơn!" above the citizen's ``name``) when what follows is a short block (at most
    SIGNATURE_LINES lines of at most SIGNATURE_LINE_CHARS) up to the end, below some text. A
    signature names the citizen and carries their title, employer, home address and phone: the
    stored report keeps it (staff call that phone), public text never shows it. Chat text
    rarely ends like that, so every text is read alike."""
    lines = text.split("\n")
    filled = [k for k, ln in enumerate(lines) if ln.strip()]
    if len(filled) < 3:  # text, the delimiter, a signature
        return text
    # the delimiter is one of the last SIGNATURE_LINES + 1 filled lines, not the first
    for at in range(max(1, len(filled) - SIGNATURE_LINES - 1), len(filled) - 1):
        k, block = filled[at], filled[at + 1:]
        if any(len(lines[j].strip()) > SIGNATURE_LINE_CHARS for j in block):
            continue
        if _signature_start(lines[k], [lines[j] for j in block], name):
            return "\n".join(lines[:k]).rstrip()
    return text


def public_text_for(text: str | None, name: str | None) -> str:
    """Free text as public pages may show it: a mail's signature dropped, phones, emails and
    every word of the citizen's name masked (names given as the contact's name)."""
    from normalizer.phones import mask_personal
    from normalizer.text import nfc

    if not text:
        return ""
    clean = strip_signature(nfc(text), nfc(name) if name else None)
    clean = mask_personal(clean)
    if name and name.strip():
        clean = mask_name_tokens(clean, name)  # by word: streets named like the citizen are kept
    # A name the citizen typed that is not the contact's (a Messenger profile name "Minh Tran",
    # then "tên Nguyễn Văn An" in the answer to the phone question), or no contact name at all.
    return _mask_self_introduction(clean)


def public_text(text: str, contact: Contact | None) -> str:
    """Free text as public pages may show it: phones, emails and the citizen's name masked."""
    return public_text_for(text, contact.name if contact is not None else None)


def attachment_url(base_url: str, code: str, sha256: str) -> str:
    """Stored files are served by the token-protected agency API (photos may show people)."""
    return f"{base_url.rstrip('/')}/api/v1/reports/{code}/attachments/{sha256}"


def attachment_dict(att: Attachment, base_url: str, code: str,
                    public: bool = False) -> dict[str, Any]:
    url = None
    if not public:
        if att.sha256:
            url = attachment_url(base_url, code, att.sha256)
        elif att.state == "linked":
            url = att.source_url  # kept as a link on purpose (a host we may not fetch from)
    return {
        "kind": att.kind,
        "sha256": att.sha256,
        "size": att.size,
        "content_type": att.content_type,
        "url": url,
        "state": att.state,
    }


# Notes a citizen may read: an agency's reply, the result, the reason for refusing, a progress
# note written by the agency (not the center's or the system's routing words). A note sent back
# to the center ("returned"), or written on any other step, is internal.
PUBLIC_NOTE_STATUSES = ("resolved", "rejected", "in_progress")
# A person's account ("user:<login>") is shown as the center's or an agency's staff; the
# system, the citizen, the center and agency ids are shown as they are.
STAFF = "staff"


def note_is_public(kind: str, status_to: str | None, actor: str) -> bool:
    if kind == "reply":
        return True
    return kind == "status" and status_to in PUBLIC_NOTE_STATUSES and not (
        status_to == "in_progress" and actor in ("system", "center"))


def public_actor(actor: str) -> str:
    return STAFF if ":" in actor else actor


def report_dict(report: Report, *, contact: Contact | None, attachments: list[Attachment],
                events: list[ReportEvent], base_url: str, public: bool = False) -> dict[str, Any]:
    location = None
    if report.lat is not None or report.address or report.ward:
        location = {"lat": report.lat, "lon": report.lon,
                    "address": public_text(report.address, contact) if public and report.address else report.address,
                    "ward": report.ward}
    data: dict[str, Any] = {
        "code": report.code,
        "channel": report.channel,
        "status": report.status,
        "category": report.category,
        "category_confidence": report.category_confidence,
        "description": public_text(report.description, contact) if public else report.description,
        "location": location,
        "attachments": [attachment_dict(a, base_url, report.code or "", public) for a in attachments
                        if not public or a.state == "stored"],
        "agency": report.agency_id,
        "created_at": iso(report.created_at),
        "updated_at": iso(report.updated_at),
        "due_at": iso(report.due_at),
        "rating": ({"score": report.rating_score,
                    "comment": (public_text(report.rating_comment, contact)
                                if public and report.rating_comment else report.rating_comment)}
                   if report.rating_score is not None else None),
        "duplicate_of": report.duplicate_of,
        "events": [
            {"time": iso(e.at), "actor": public_actor(e.actor) if public else e.actor,
             "kind": e.kind, "status_from": e.status_from, "status": e.status_to,
             "note": (public_text(e.note, contact) if e.note and note_is_public(
                 e.kind, e.status_to, e.actor) else None) if public else e.note}
            for e in events if not public or (e.public and e.kind in ("status", "reply"))
        ],
    }
    if not public:
        data["classifier_version"] = report.classifier_version
        data["external_ids"] = list(report.external_ids or [])
        data["citizen"] = {
            "channel_user_id": contact.channel_user_id if contact else None,
            "name": contact.name if contact else None,
            "phone": contact.phone if contact else None,
            "email": contact.email if contact else None,
        }
    return data
