"""Follow-up questions: a chat question that leans on earlier turns is rewritten with their names first.

An extractive reader finds only what the question names: "Who did he meet?" names no one, so it finds
nothing, or someone else's meeting. So before the last user message is asked, when it is a follow-up:

- a pronoun (he, him, his, she, her, they, them, their) becomes a name from the turn before: the previous
  answer when it is a name ("Sergei Shoigu"), then the names the previous question gave; they, them and
  their need two names ("Lavrov and Vucic"). A question that names someone before its first pronoun is
  left alone: the pronoun is likely that person.
- a short "And X?", "What about X?" or "How about X?" asks the previous question again, with X in place
  of the first name it gave.

Earlier questions are resolved the same way in turn, so a third turn can lean on a rewritten second one.
The rewritten question is both retrieved and read. Earlier turns used for retrieval alone (the previous
question and answer added to the search, the last question read as written) answered no more follow-ups
on the sample reports: retrieval brings passages from both, and the reader still has no one to look for.
tests/test_chat_history.py measures the rewriting. "It", "this" and "that" are left as they are, and
system or developer messages are not read: an extractive reader cannot follow instructions.
"""

import re
from collections.abc import Sequence

from api.chat_schemas import ChatMessage

# Capitalised words that are not names: question words at a sentence's start, days and months.
_NOT_NAMES_TEXT = (
    "who whom whose what when where which why how is are was were am be been did does do can could will would "
    "shall should may might must has have had the a an and or but of in on at to for from with by about as "
    "i you we it this that these those there then if so not no yes please tell give list name "
    # Days and months are capitalised too: "When did they meet?" "Tuesday" is no one to fill in.
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december"
)
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())
# Nationalities ("the Russian defence minister") are capitalised but name no one.
_DEMONYM = re.compile(r"(?:ian|ean|ese|ish|can)$")
_WORD = re.compile(r"[^\W\d_][\w'’.-]*")
_PRONOUN = re.compile(r"\b(he|him|his|she|her|they|them|their)\b", re.IGNORECASE)
_PERSON = {"he", "him", "she"}
_GROUP = {"they", "them"}
# After these, "her" is an object ("thank her for"), not a possessive ("her country").
_OBJECT_WORDS_TEXT = "to for at about with in on and or from by as than that"
_AFTER_OBJECT = frozenset(_OBJECT_WORDS_TEXT.split())
_ELLIPSIS = re.compile(r"^\s*(?:and|what about|how about)\s+(?P<subject>[^?]{1,80}?)\s*\??\s*$", re.IGNORECASE)
_MARKER = re.compile(r"\s*\[\d+\]")
_MAX_NAME_WORDS = 5


def contextual_question(messages: Sequence[ChatMessage]) -> str:
    """The last user message, rewritten with earlier turns' names when it is a follow-up (see the module)."""
    context: list[str] = []
    question, answer = "", ""
    for message in messages:
        if message.role == "user":
            if question:
                found = _unique([*([answer] if _is_name(answer) else []), *names(question)])
                context = found or context
            question, answer = _rewritten(message.text(), question, context), ""
        elif message.role == "assistant":
            answer = _answer_line(message.text())
    return question


def names(text: str) -> list[str]:
    """Runs of capitalised words that are not question words or nationalities, possessives trimmed."""
    found: list[str] = []
    run: list[str] = []
    end = 0
    for match in _WORD.finditer(text):
        word = match.group()
        bare = re.sub(r"['’]s$", "", word).rstrip(".")
        is_name = word[0].isupper() and bare.lower() not in _NOT_NAMES and not _DEMONYM.search(bare)
        if run and (not is_name or text[end : match.start()].strip()):
            found.append(" ".join(run))
            run = []
        if is_name:
            run.append(bare)
            if bare != word.rstrip("."):
                # A possessive ends the name: "Shoigu's Serbian counterpart".
                found.append(" ".join(run))
                run = []
        end = match.end()
    if run:
        found.append(" ".join(run))
    return _unique(found)


def _rewritten(text: str, previous: str, context: list[str]) -> str:
    ellipsis = _ELLIPSIS.match(text)
    earlier = names(previous)
    if previous and ellipsis and names(ellipsis["subject"]) and earlier:
        return previous.replace(earlier[0], ellipsis["subject"].strip(), 1)
    first = _PRONOUN.search(text)
    if not context or first is None or names(text[: first.start()]):
        return text
    person, group = context[0], " and ".join(context) if len(context) > 1 else None

    def name_for(match: re.Match[str]) -> str:
        pronoun = match.group().lower()
        if pronoun in _PERSON:
            return person
        if pronoun == "his" or (pronoun == "her" and _possessive(text, match.end())):
            return f"{person}'s"
        if pronoun == "her":
            return person
        if group is None:
            return match.group()
        return group if pronoun in _GROUP else f"{group}'s"

    return _PRONOUN.sub(name_for, text)


def _possessive(text: str, end: int) -> bool:
    following = _WORD.match(text[end:].lstrip())
    return following is not None and following.group().lower() not in _AFTER_OBJECT


def _answer_line(reply: str) -> str:
    """The answer an earlier reply led with: its first line, without [n] markers."""
    lines = reply.strip().splitlines()
    return _MARKER.sub("", lines[0]).strip() if lines else ""


def _is_name(text: str) -> bool:
    words = text.split()
    capitalised = all(word[0].isupper() and word.isalpha() for word in words)
    return 0 < len(words) <= _MAX_NAME_WORDS and capitalised and any(w.lower() not in _NOT_NAMES for w in words)


def _unique(found: list[str]) -> list[str]:
    """Each name once, dropping one that is part of a name already kept ("Shoigu" in "Sergei Shoigu")."""
    kept: list[str] = []
    for name in found:
        if not any(f" {name} " in f" {other} " for other in kept):
            kept.append(name)
    return kept
