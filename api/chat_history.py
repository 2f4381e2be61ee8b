"""Follow-up questions: a chat question that leans on earlier turns is rewritten with their names first.

An extractive reader finds only what the question names: "Who did he meet?" names no one, so it finds
nothing, or someone else's meeting. So before the last user message is asked, when it is a follow-up:

- a pronoun (he, him, his, she, her, they, them, their) becomes a name from the turn before: the previous
  answer when it is a name ("Sergei Shoigu"), then the names the previous question gave; they, them and
  their need two names ("Lavrov and Vucic"). A question that names someone before its first pronoun is
  left alone: the pronoun is likely that person.
- a short "And X?", "What about X?" or "How about X?" asks the previous question again, with X in place
  of the first name it gave.
- "When/Where/Why/How did that (it, this) happen?" (or occur, take place) asks the previous question again
  with the new question word: "Where did Lavrov meet Vucic?" then "When did that happen?" asks "When did
  Lavrov meet Vucic?".
- "it", and "this" or "that" standing alone (last, or before happen, mean, cause...), become the thing the
  turn before was about: for "What conference...?" or "Which report...?" its answer, or "the conference"
  when it had none; else the first "the ..." the question named ("the agreement" in "Who signed the
  agreement?"); else the answer to a "What did/does/is ...?". After said, say, stressed, meant... they
  become the previous question and answer as a statement ("Who said that?" after "What does Serbia have
  no plans to join?" "NATO" asks "Who said Serbia have no plans to join NATO?"). "That meeting" becomes
  the thing when it is a meeting. Left alone: "that" joining a clause ("said that Serbia..."), "it" in
  "is it true", and an "it" after a name or "the ..." of its own question, which it likely means.

Earlier questions are resolved the same way in turn, so a third turn can lean on a rewritten second one.
The rewritten question is both retrieved and read. Earlier turns used for retrieval alone (the previous
question and answer added to the search, the last question read as written) answered no more follow-ups
on the sample reports: retrieval brings passages from both, and the reader still has no one to look for.
tests/test_chat_history.py measures the rewriting.

System and developer messages: an extractive reader cannot follow instructions, so they are not read,
with one exception, a line "Topic: X" (e.g. "Topic: Sergei Shoigu", "Topic: the Moscow conference"),
which makes X what the conversation is about before any turn says otherwise: a first "Who did he meet?"
asks about X (when X is a name), "When will it take place?" too. The last such line counts; earlier
turns that give names or things take over from it, as they do from each other.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

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
_AUX = "do|does|did|is|are|was|were|will|would|can|could|shall|should|may|might|must|has|have|had"
_EVENT = re.compile(
    rf"^\s*(?P<wh>when|where|why|how)\s+(?:{_AUX})\s+(?:it|this|that)\s+"
    r"(?:happen|happened|occur|occurred|take\s+place|took\s+place)\s*\??\s*$",
    re.IGNORECASE,
)
# A question about an event, which "that" in "When did that happen?" can stand for: not "Who is...?".
_DOING = "do|does|did|will|would|can|could|shall|should|may|might|must|has|have|had"
_ASKED = re.compile(
    rf"^\s*(?:who|whom|what|when|where|why|how|which)\s+(?P<rest>(?:{_DOING})\s.*?)\s*\??\s*$", re.IGNORECASE
)
# "What conference is...?": the noun after the question word says what kind of thing the answer is.
_KIND = re.compile(rf"^\s*(?i:what|which)\s+(?P<noun>(?:(?!(?:{_AUX})\b)[a-z]+\s+){{1,2}}?)(?i:{_AUX})\b")
_WHAT = re.compile(rf"^\s*what\s+(?:{_AUX})\s+(?P<rest>.+?)\s*\??\s*$", re.IGNORECASE)
_DEFINITE = re.compile(r"\bthe\s+(?P<words>[a-z][a-z-]*(?:\s+[a-z][a-z-]*){0,2})")
_STOPS = frozenset([*_AFTER_OBJECT, *_AUX.split("|"), "of", "who", "which", "when", "where", "why", "how"])
# "Who will the conference bring together?": after the auxiliary comes the subject, then the verb.
_SUBJECT = re.compile(rf"^\s*\w+\s+(?:{_AUX})\s+the\s", re.IGNORECASE)
_THING_WORD = re.compile(r"\b(?:it|this|that)\b", re.IGNORECASE)
_THAT_NOUN = re.compile(r"\b(?i:this|that)\s+(?P<noun>[a-z]+)\b")
# Before these, "this" and "that" stand for a thing or an event, not a clause to come ("said that Serbia").
_EVENT_VERBS_TEXT = "happen happened occur occurred take took mean meant cause caused lead led"
_EVENT_VERBS = frozenset(_EVENT_VERBS_TEXT.split())
# After these, "it" and "that" are what was said: the previous question and answer as a statement.
_SPEECH_VERBS_TEXT = "say said says claim claimed stress stressed note noted announce announced"
_SPEECH_VERBS = frozenset(_SPEECH_VERBS_TEXT.split())
# "Is it true that...", "it was reported": this "it" stands for nothing said earlier.
_DUMMY_IT = re.compile(
    r"^\s*(?:(?:is|was|'s|’s)\s+)?(?:true|possible|likely|clear|known|said|reported|expected|believed|"
    r"important|necessary|time|that)\b",
    re.IGNORECASE,
)
# This service's own replies without an answer (api/chat_reply.py, api/chat_answers.py).
_NOT_AN_ANSWER = re.compile(r"^I (?:found no answer|can answer)\b")
_MAX_THING_WORDS = 10
_TOPIC = re.compile(r"^\s*topic:[ \t]*(?P<topic>\S[^\n]{0,200}?)\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class _Context:
    """What earlier turns were about: names for he/she/they; a thing, a statement and a question for it/that."""

    names: tuple[str, ...] = ()
    thing: str | None = None
    statement: str | None = None
    previous: str = ""
    # Whether the previous question named no thing, so that "that" in "When did that happen?" is its event.
    event: bool = False

    def after(self, question: str, answer: str) -> "_Context":
        """The context once `question` was asked and answered with `answer` (its reply's first line)."""
        found = _unique([*([answer] if _is_name(answer) else []), *names(question)])
        answered = answer if not _NOT_AN_ANSWER.match(answer) and len(answer.split()) <= _MAX_THING_WORDS else ""
        statement, thing = _WHAT.match(question), _thing(question, answered)
        return _Context(
            tuple(found) or self.names,
            thing or self.thing,
            f"{statement['rest']} {answered}" if statement and answered else None,
            question,
            thing is None,
        )


def contextual_question(messages: Sequence[ChatMessage]) -> str:
    """The last user message, rewritten with what earlier turns were about when it is a follow-up (see the module)."""
    context = _topic(messages)
    question, answer = "", ""
    for message in messages:
        if message.role == "user":
            if question:
                context = context.after(question, answer)
            question, answer = _rewritten(message.text(), context), ""
        elif message.role == "assistant":
            answer = _answer_line(message.text())
    return question


def _topic(messages: Sequence[ChatMessage]) -> _Context:
    """The context a system or developer message's last "Topic: X" line sets; an empty one without."""
    topics = [
        match["topic"].rstrip(".")
        for message in messages
        if message.role in ("system", "developer")
        for match in _TOPIC.finditer(message.text())
    ]
    if not topics:
        return _Context()
    return _Context((topics[-1],) if _is_name(topics[-1]) else (), topics[-1])


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


def _rewritten(text: str, context: _Context) -> str:
    previous = context.previous
    ellipsis = _ELLIPSIS.match(text)
    earlier = names(previous)
    if previous and ellipsis and names(ellipsis["subject"]) and earlier:
        return previous.replace(earlier[0], ellipsis["subject"].strip(), 1)
    event, asked = _EVENT.match(text), _ASKED.match(previous)
    if event and asked and context.event:
        return f"{event['wh'].capitalize()} {asked['rest']}?"
    return _things_named(_people_named(text, list(context.names)), context)


def _people_named(text: str, context: list[str]) -> str:
    """`text` with he, she, they... as the names in `context` (see the module)."""
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


def _things_named(text: str, context: _Context) -> str:
    """`text` with it, this and that as the thing or statement earlier turns gave (see the module)."""
    thing = context.thing
    if thing is not None:
        # "That meeting" is the thing when the thing is a meeting.
        kinds = {word.lower() for word in thing.split()} - _NOT_NAMES
        text = _THAT_NOUN.sub(lambda match: thing if match["noun"].lower() in kinds else match.group(), text)

    def referent(match: re.Match[str]) -> str:
        before, after = text[: match.start()], text[match.end() :]
        following = _WORD.match(after.lstrip())
        next_word = following.group().lower() if following else ""
        last = before.split()[-1].lower().strip(",;:") if before.split() else ""
        if match.group().lower() == "it":
            alone = _DUMMY_IT.match(after) is None
            # An "it" after a name or a "the ..." of its own question likely means that, unless it ends the question.
            own = names(before) or _DEFINITE.search(before)
            alone = alone and (not own or not next_word or last in _AFTER_OBJECT)
        else:
            alone = not next_word or next_word in _EVENT_VERBS
        found = context.statement if last in _SPEECH_VERBS and context.statement else thing
        if not alone or found is None:
            return match.group()
        return found[0].upper() + found[1:] if match.start() == 0 else found

    return _THING_WORD.sub(referent, text)


def _thing(question: str, answer: str) -> str | None:
    """What a later "it" means after `question` was answered with `answer` ("" for none); see the module."""
    kind = _KIND.match(question)
    if kind:
        return answer or f"the {kind['noun'].strip()}"
    definite = _DEFINITE.search(question)
    if definite:
        words = definite["words"].split()
        if _SUBJECT.match(question):
            words = words[:1]
        kept = words[: next((i for i, word in enumerate(words) if word in _STOPS), len(words))]
        if kept:
            return "the " + " ".join(kept)
    return answer if answer and _WHAT.match(question) else None


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
