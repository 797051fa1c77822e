"""Remove what gives away a paper's fate before it is reviewed (calibration on real papers).

In the ICLR texts every accepted paper is its camera-ready version (names, affiliations, e-mails,
code links, acknowledgements) and every rejected one the anonymous submission: a reviewer that sees
the front matter can tell the decision without reading the science.
"""

from __future__ import annotations

import re

ABSTRACT = re.compile(r"^\s*#*\s*\**\s*abstract\b", re.IGNORECASE | re.MULTILINE)
HEADING = re.compile(r"^\s*#*\s*(\d+(\.\d+)*\.?\s+)?[A-Z][A-Z0-9 ,:;&()\-]{2,80}\s*$", re.MULTILINE)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
URL = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)
EQUAL = re.compile(r"^.*(equal contribution|contributed equally|work done (while|during)|correspond(ing|ence) "
                   r"author).*$", re.IGNORECASE | re.MULTILINE)
ACK = re.compile(r"^\s*#*\s*(acknowledg(e)?ments?|funding|author contributions)\b.*$", re.IGNORECASE | re.MULTILINE)
HEADER = "Anonymous authors\nPaper under double-blind review\n\n"
PUBLISHED = re.compile(r"(published as a conference paper at iclr 2022|under review as a conference paper at iclr "
                       r"2022)", re.IGNORECASE)


def anonymise(text: str) -> tuple[str, list[str]]:
    """The text with the front matter replaced, e-mails and URLs masked, acknowledgements dropped."""
    changes = []
    title = next((line.strip("# *") for line in text.splitlines() if line.strip()), "")
    match = ABSTRACT.search(text)
    if match:
        text = f"# {title}\n\n{HEADER}" + text[match.start():]
        changes.append("front matter replaced by an anonymous header")
    text, n = PUBLISHED.subn("", text)
    if n:
        changes.append("venue banner removed")
    text, n = EMAIL.subn("[email]", text)
    if n:
        changes.append(f"{n} e-mail address(es) masked")
    text, n = URL.subn("[url]", text)
    if n:
        changes.append(f"{n} URL(s) masked")
    text, n = EQUAL.subn("", text)
    if n:
        changes.append("contribution notes removed")
    ack = ACK.search(text)
    if ack:
        following = HEADING.search(text, ack.end())
        text = text[:ack.start()] + (text[following.start():] if following else "")
        changes.append("acknowledgements removed")
    return text, changes
