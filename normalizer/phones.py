"""Phone numbers and e-mail addresses in citizens' reports: normalize, extract, mask.

Pure functions over ``phonenumbers`` metadata; nothing here touches the network.
"""
from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberType

# A citizen's contact point is a mobile or a landline; 1900/1800 numbers, short codes
# (113, 114, 115) and the like belong to businesses or services, not to the citizen.
_PERSONAL_TYPES = frozenset({
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
})

# Numbering changes people still write: 11-digit mobiles renumbered in 2018
# (Bộ TT&TT, QĐ 798/QĐ-BTTTT) and Huế's landline code 054 → 0234 (2017).
_OLD_MOBILE_PREFIX = {
    "0162": "032", "0163": "033", "0164": "034", "0165": "035", "0166": "036",
    "0167": "037", "0168": "038", "0169": "039",
    "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",
    "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
    "0186": "056", "0188": "058", "0199": "059",
}
_OLD_LANDLINE_PREFIX = {"054": "0234"}

_SEPARATORS = re.compile(r"[\s.\-()/]")
_EMAIL = re.compile(
    r"(?<![\w.+-])([A-Za-z0-9][A-Za-z0-9._%+-]*)@([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,})"
)
# Phone-shaped digit runs (0/84/+84 then 8-10 more digits, with separators). Used only for
# masking, as a privacy net under the strict matcher: a mistyped number is still personal.
_PHONE_SHAPED = re.compile(r"(?<![\w+])(?:\+?84|0)(?:[ .\-]?\d){8,10}(?!\d)")


def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None


def _is_personal(num: phonenumbers.PhoneNumber) -> bool:
    return phonenumbers.is_valid_number(num) and phonenumbers.number_type(num) in _PERSONAL_TYPES


def _renumbered(digits: str) -> str | None:
    """Map a pre-2018 mobile or a pre-2017 Huế landline (national form) to today's number."""
    if len(digits) == 11 and digits[:4] in _OLD_MOBILE_PREFIX:
        return _OLD_MOBILE_PREFIX[digits[:4]] + digits[4:]
    if len(digits) == 10 and digits[:3] in _OLD_LANDLINE_PREFIX:
        return _OLD_LANDLINE_PREFIX[digits[:3]] + digits[3:]
    return None


def normalize_phone(raw: str | None, region: str = "VN") -> str | None:
    """E.164 form of a Vietnamese mobile or landline, or None when it is not one.

    Accepts ``0905 123 456``, ``0905.123.456``, ``+84 905-123-456``, ``84905123456``,
    ``0084…``, ``(0234) 3.822.123`` and the pre-renumbering forms ``01223…``/``054…``.
    """
    if not raw:
        return None
    text = raw.strip()
    if not text or len(text) > 40:
        return None
    compact = _SEPARATORS.sub("", text)
    if compact.startswith("+"):
        digits = compact[1:]
        if not digits.isdigit():
            return None
        candidates = ["+" + digits]
    else:
        if not compact.isdigit():
            return None
        candidates = [compact]
        # "84905123456" is the country code written without "+"; phonenumbers reads it as
        # national digits unless told.
        if compact.startswith("84") and len(compact) in (11, 12):
            candidates.append("+" + compact)
            national = "0" + compact[2:]
        elif compact.startswith("0084"):
            candidates.append("+" + compact[2:])
            national = "0" + compact[4:]
        else:
            national = compact
        old = _renumbered(national)
        if old:
            candidates.append(old)
    if candidates[0].startswith("+84"):
        old = _renumbered("0" + candidates[0][3:])
        if old:
            candidates.append(old)
    for candidate in candidates:
        num = _parse(candidate, region)
        if num is not None and _is_personal(num):
            return phonenumbers.format_number(num, PhoneNumberFormat.E164)
    return None


def _phone_matches(text: str, region: str) -> list[tuple[int, int, str]]:
    found = []
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=Leniency.VALID):
        if phonenumbers.number_type(match.number) in _PERSONAL_TYPES:
            e164 = phonenumbers.format_number(match.number, PhoneNumberFormat.E164)
            found.append((match.start, match.end, e164))
    return found


def extract_phones(text: str | None, region: str = "VN") -> list[str]:
    """Valid mobile/landline numbers in free text, E.164, first-seen order, no repeats.

    Strict validity (``Leniency.VALID``) keeps dates (20250712), amounts (1.500.000) and
    ids from being taken for phones.
    """
    if not text:
        return []
    seen: dict[str, None] = {}
    for _, _, e164 in _phone_matches(text, region):
        seen.setdefault(e164, None)
    return list(seen)


# Whose number is it? A report names other people's numbers too: the house owner who builds
# onto the sidewalk, a contractor's card, the shop that overcharges. Only the writer's own
# number may become their contact (a fallback route for the hub's news, "we have your phone"),
# and a wrong "own" sends the report's news and rating link to the person reported. So a
# number is the writer's only when
# - the whole message is the number, with filler at most ("0905 123 456 ạ": an answer), or
# - a contact cue ("SĐT", "liên hệ", "gọi cho em theo số") stands before it on its line with
#   nothing between but the writer's own words, and its sentence names nobody else ("chủ nhà",
#   "nhà thầu", "ông Hùng") — unless the writer says it is theirs ("SĐT của tôi").
_SELF_CUE = re.compile(
    r"(?:^|\W)(?:s\s*dt|so\s+dien\s+thoai|dien\s+thoai|dtdd|dt|so\s+dt|lien\s+he|lh|"
    r"goi|nhan\s+tin|zalo|phone|tel|mobile|e-?mail|gmail|mail|hop\s+thu)(?=\W|$)")
# What may stand between the cue and the number: the writer naming themself, and filler.
_OWN_WORDS = frozenset("""
    cua toi em minh chau con tui tao la so nay day a nhe nha nhé neu can khi xin vui long cho
    qua theo lai voi hoac va ben duoi sau lien he lh goi nhan tin zalo dt sdt dien thoai
    """.split())
_FIRST_PERSON = frozenset("toi em minh chau tui".split())
# Someone else in the sentence (folded): an owner, a business, a neighbour, an advert.
_OTHERS = re.compile(
    r"\b(?:chu\s+(?:nha|quan|tiem|cua\s+hang|dau\s+tu|xe|ho|cong\s+trinh|co\s+so|dat|"
    r"khach\s+san|homestay|xuong|karaoke)|nha\s+thau|cong\s+ty|cty|doanh\s+nghiep|"
    r"ho\s+kinh\s+doanh|hang\s+xom|nguoi\s+(?:ban|thue|lai|nay|do|kia)|doi\s+tuong|"
    r"danh\s+thiep|quan\s+ly|cua\s+hang|tiem|nha\s+hang|nha\s+nghi|khach\s+san|xuong|"
    r"gara|garage|quan\s+(?:nhau|an|karaoke|ca\s+phe|cafe|cf|bia|nuoc|com|bun|pho|hat)|"
    r"quang\s+cao|rao\s+vat|to\s+roi|bang\s+hieu|bien\s+hieu)\b")
# An honorific and the word after it: "ông Lâm", "anh Hùng", "chị mai", "ong hung". The name is
# looked at, not consumed ("ông bà Hùng" is read as "ông bà" and as "bà Hùng").
_HONORIFIC = re.compile(
    r"(?<!\w)(ông|bà|anh|chị|cô|chú|bác|ong|ba|chi|co|chu|bac)\s+(?=(\w+))", re.IGNORECASE)
# Words after an honorific that do not make it a person: a call ("anh ơi"), pairs that address
# the reader or everybody ("Anh Chị", "cô chú", "bà con", "anh em"), set phrases ("chú ý").
_NOT_A_NAME = frozenset("""
    oi a ah nhe nha y con em anh chi co chu bac ba ong chau bo
    """.split())
# Without diacritics "ong", "ba", "co", "chi", "anh" are also "ống", "ba", "có", "chỉ", "ảnh":
# a lower-case name counts only when it is a common given name that reads as nothing else
# after them ("ong hung", "chi ngoc"; not "co dung", "ba tuan", "anh huong").
_GIVEN_NAMES = frozenset("""
    hung binh duc huy phuc vinh thao linh nga ngoc cuong khanh hoang yen loan huyen trinh
    oanh diep quyen vy nhi uyen giang hoa thuy
    """.split())
# Streets named after people: "đường Bà Triệu", "12 Ông Ích Khiêm", "kiệt 5 Cô Giang".
_STREET_BEFORE = re.compile(
    r"(?:\b(?:duong|pho|kiet|hem|ngo|ngach|tuyen|so|nha|dia\s+chi|nga\s+tu|nga\s+ba|cau|cho)"
    r"\s*(?:\d[\d/]*[a-z]?\s*)?|\b\d[\d/]*[a-z]?\s*)$")
_TITLES = (" ong", " ba", " anh", " chi", " co", " chu", " bac")
_HONORIFIC_STREETS = ("ba trieu", "ong ich khiem", "ba huyen thanh quan")
# A sentence ends at "!", "?", ";", a line break, or a full stop before a space that does not
# close an abbreviation ("P. Thạch Thang", "Tp. Huế", "Q.1" and "0905.123" run on).
_SENTENCE_END = re.compile(r"[!?;\n]|(?<!\b[^\W\d_])(?<!\b[^\W\d_]{2})\.(?=\s|$)")
_WORD = re.compile(r"[a-z0-9]+")


def _names_person(sentence: str, match: re.Match[str]) -> bool:
    from normalizer.text import fold

    title, name = match.group(1), match.group(2)
    folded_name = fold(name)
    before = " " + fold(sentence[:match.start()]).rstrip()
    if folded_name in _NOT_A_NAME or before.endswith(_TITLES):
        return False  # "anh ơi", "cô chú xử lý" (the second of a pair)
    if _STREET_BEFORE.search(before):
        return False
    if title[0].isupper() and fold(sentence[match.start():match.start() + 24]).startswith(
            _HONORIFIC_STREETS):
        return False
    if name[0].isupper():
        return True
    if fold(title) != title.lower():
        return True  # "ông hùng": with its diacritics the title is one
    if title.lower() == "anh" and fold(sentence) != " ".join(sentence.lower().split()):
        return True  # in a text with diacritics, "anh" cannot be "ảnh"
    return folded_name in _GIVEN_NAMES


def _names_someone_else(sentence: str) -> bool:
    from normalizer.text import fold

    if _OTHERS.search(fold(sentence)):
        return True
    return any(_names_person(sentence, m) for m in _HONORIFIC.finditer(sentence))


def _own_position(text: str, start: int, end: int) -> bool:
    """The contact found at text[start:end] is the writer's own (see above)."""
    from normalizer.text import fold

    rest = fold(text[:start] + " " + text[end:])
    if all(w in _OWN_WORDS for w in _WORD.findall(rest)):
        return True  # the message is the number: an answer
    line_start = text.rfind("\n", 0, start) + 1
    before = fold(text[line_start:start])[-80:]
    cues = list(_SELF_CUE.finditer(before))
    if not cues:
        return False
    between = _WORD.findall(before[cues[-1].end():])
    if not all(w in _OWN_WORDS for w in between):
        return False
    if _FIRST_PERSON & set(between):
        return True  # "SĐT của tôi 0905…"
    sentence_start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    return not _names_someone_else(text[sentence_start:start])


def own_phones(text: str | None, region: str = "VN") -> list[str]:
    """The numbers of ``extract_phones`` that the text gives as the writer's own."""
    if not text:
        return []
    seen: dict[str, None] = {}
    for start, end, e164 in _phone_matches(text, region):
        if _own_position(text, start, end):
            seen.setdefault(e164, None)
    return list(seen)


def own_emails(text: str | None) -> list[str]:
    """The addresses of ``extract_emails`` that the text gives as the writer's own."""
    if not text:
        return []
    seen: dict[str, None] = {}
    for m in _EMAIL.finditer(text):
        if _own_position(text, m.start(), m.end()):
            local = m.group(1).rstrip(".")
            seen.setdefault(f"{local}@{m.group(2).lower()}", None)
    return list(seen)


def extract_emails(text: str | None) -> list[str]:
    """E-mail addresses in free text, lower-cased domain, first-seen order, no repeats."""
    if not text:
        return []
    seen: dict[str, None] = {}
    for m in _EMAIL.finditer(text):
        local = m.group(1).rstrip(".")
        seen.setdefault(f"{local}@{m.group(2).lower()}", None)
    return list(seen)


def mask_phone(e164_or_raw: str) -> str:
    """``+84905123456`` → ``090*****56``: national form, only the first 3 and last 2 digits kept
    (first 4 and last 3 would leave a thousand candidates: too few to call it masked)."""
    digits = re.sub(r"\D", "", e164_or_raw)
    if digits.startswith("84") and (e164_or_raw.lstrip().startswith("+") or len(digits) >= 11):
        digits = "0" + digits[2:]
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 5) + digits[-2:]


def is_email(address: str) -> bool:
    """A plausible e-mail address as a person types it in a form field: one "@", no spaces,
    a dotted domain, at most 320 characters (the form, Open311 and the console agree)."""
    return len(address) <= 320 and _EMAIL_FIELD.fullmatch(address) is not None


_EMAIL_FIELD = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")


def mask_email(address: str) -> str:
    """``nguyenvana@gmail.com`` → ``n***@gmail.com``."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


# For masking only: any address-shaped token, Vietnamese letters in the local part included
# (extraction stays strict; a public page must not show even a malformed address).
_EMAIL_LOOSE = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[^\s@<>()\[\],;:\"'.]{2,}")


# "+84 (0) 905 888 999", "+84 0905 888 999", "0084 905 …": the country code with the trunk
# zero (bracketed or not) or with 00, written as "+84 905 …" before masking (every caller: public pages, agency replies), so the mask reads
# like the others ("090*****99", not "009******99").
_TRUNK_ZERO = re.compile(r"(?<![\w+])(?:\+[ \t]*|00)84(?:[ \t.-]*\(0\)|[ \t.-]*0(?=[ \t.-]*[1-9]))?"
                         r"[ \t.-]*(?=[1-9]\d)")


def mask_personal(text: str | None, region: str = "VN", names: tuple[str, ...] = (),
                  email: Callable[[str], str] | None = None,
                  phone: Callable[[str], str] | None = None) -> str:
    """Mask phone numbers, e-mail addresses and the given personal names (the citizen's own,
    case-insensitively) in text meant for public pages. ``email`` and ``phone`` replace the
    partial masks ("n***@gmail.com", "091*****78") where nothing of the value may stay."""
    email = email or mask_email
    phone = phone or mask_phone
    if not text:
        return text or ""
    text = _TRUNK_ZERO.sub("+84 ", text)
    for name in names:
        if name and len(name.strip()) >= 3:
            text = re.sub(re.escape(name.strip()), "***", text, flags=re.IGNORECASE)
    out = _EMAIL_LOOSE.sub(lambda m: email(m.group(0)), text)
    spans = [(s, e) for s, e, _ in _phone_matches(out, region)]
    spans += [m.span() for m in _PHONE_SHAPED.finditer(out)]
    spans.sort()
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, last = [], 0
    for start, end in merged:
        # The matcher takes an opening bracket before a number ("(0905 999 888, nhà …"): the
        # text's bracket stays unless the number closes it itself ("(0234) 3822 111").
        while start < end and out[start] in "([" and not any(c in ")]" for c in out[start:end]):
            start += 1
        pieces.append(out[last:start])
        pieces.append(phone(out[start:end]))
        last = end
    pieces.append(out[last:])
    return "".join(pieces)
