"""Everyday English sentences from a small grammar of our own, for the demo corpora to speak.

Read-speech corpora (VCTK, LJSpeech, VoiceBank) hold sentences of a few to a
couple of dozen words: statements, questions, requests, with names, places,
times and numbers. :func:`sentence` draws such sentences from templates and
word lists written for this project (no corpus's text is reused), within a word
budget so that callers can aim at an utterance length. Numbers are spelt out,
so the text is exactly what a text-to-speech engine says.
"""

from __future__ import annotations

import numpy as np

NAMES = ("Anna", "Tom", "Maria", "Peter", "Sophie", "James", "Lucy", "David", "Emma", "Oliver", "Grace",
         "Daniel", "Hannah", "Samuel", "Ruth", "Martin", "Clara", "Hugo", "Alice", "Frank", "Nora", "Ben")
PEOPLE = ("my brother", "the teacher", "our neighbour", "the old fisherman", "a young doctor", "her sister",
          "the bus driver", "the children", "my aunt", "the baker", "his father", "the new student",
          "the farmer", "a tall stranger", "the nurse", "the pilot", "our guide", "the captain", "my cousin",
          "the postman", "the twins", "her grandmother", "the shopkeeper", "a little boy", "the engineer")
PRONOUNS = ("I", "we", "they", "she", "he", "you")
# (adjectives, things) for each kind of object, and the (base, past) verbs that suit it.
THINGS = {
    "portable": (("red", "heavy", "small", "old", "blue", "wooden", "spare", "broken", "new", "green"),
                 ("box", "basket", "umbrella", "suitcase", "lamp", "bottle", "bucket", "coat", "hat", "kettle",
                  "ladder", "bicycle", "radio", "camera", "blanket", "key", "jug", "chair")),
    "openable": (("front", "garden", "kitchen", "back", "wooden", "old", "white", "narrow", "broken"),
                 ("door", "gate", "window", "cupboard", "drawer", "shed door")),
    "structure": (("garden", "old", "white", "stone", "crooked", "tall", "new"),
                  ("fence", "wall", "roof", "staircase", "clock", "chimney", "floor")),
    "food": (("warm", "fresh", "sweet", "spicy", "cold", "homemade"),
             ("bread", "soup", "cake", "apple pie", "cheese", "salad", "pancakes", "rice", "fish", "plums")),
    "paper": (("long", "short", "strange", "old", "secret", "funny", "torn", "yellow"),
              ("letter", "note", "story", "newspaper", "map", "book", "poem", "postcard", "recipe", "list")),
}
VERBS = {
    "portable": (("carry", "carried"), ("bring", "brought"), ("find", "found"), ("lose", "lost"),
                 ("buy", "bought"), ("sell", "sold"), ("drop", "dropped"), ("borrow", "borrowed"),
                 ("hide", "hid"), ("pack", "packed"), ("leave", "left"), ("clean", "cleaned")),
    "openable": (("paint", "painted"), ("fix", "fixed"), ("clean", "cleaned"), ("open", "opened"),
                 ("close", "closed"), ("check", "checked"), ("lock", "locked")),
    "structure": (("paint", "painted"), ("fix", "fixed"), ("clean", "cleaned"), ("check", "checked"),
                  ("wash", "washed"), ("measure", "measured"), ("repair", "repaired")),
    "food": (("cook", "cooked"), ("bake", "baked"), ("eat", "ate"), ("share", "shared"), ("cut", "cut"),
             ("taste", "tasted"), ("buy", "bought"), ("carry", "carried")),
    "paper": (("read", "read"), ("write", "wrote"), ("send", "sent"), ("find", "found"), ("sign", "signed"),
              ("copy", "copied"), ("lose", "lost"), ("keep", "kept")),
}
INTRANSITIVE = (("wait", "waited"), ("walk home", "walked home"), ("laugh", "laughed"), ("sleep", "slept"),
                ("work late", "worked late"), ("arrive early", "arrived early"), ("stay inside", "stayed inside"),
                ("sing", "sang"), ("swim", "swam"), ("sit down", "sat down"), ("run", "ran"),
                ("wave", "waved"), ("stop", "stopped"), ("listen", "listened"))
PLACES = ("in the garden", "at the station", "near the river", "by the harbour", "on the hill",
          "in the kitchen", "at the market", "under the bridge", "behind the school", "across the street",
          "at the library", "in the village", "on the beach", "at the corner shop", "in the old barn",
          "by the window", "at the bus stop", "in the park", "near the church", "on the ferry",
          "in the hall", "at the farm", "on the platform", "by the lake", "in the square")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "March", "April", "May", "June", "July", "August", "October", "November", "December")
PAST_TIMES = ("yesterday", "last night", "this morning", "last summer", "two days ago", "last week",
              "an hour ago", "early this afternoon")
FUTURE_TIMES = ("tomorrow", "next week", "tonight", "next spring", "in a few minutes", "later today")
ANY_TIMES = ("after lunch", "before dawn", "in the evening", "at noon", "around midnight", "after dinner",
             "before breakfast", "in the morning")
ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
PLURALS = ("boats", "sheep", "birds", "windows", "chairs", "houses", "trees", "lamps", "cars", "apples",
           "stones", "tickets", "cups", "books", "horses", "candles")
# (things, where they are) for "there were ... in ..."
HOLDINGS = (("boats", "the harbour"), ("sheep", "the field"), ("cars", "the car park"), ("apples", "the basket"),
            ("cups", "the cupboard"), ("books", "the box"), ("horses", "the barn"), ("candles", "the drawer"),
            ("tickets", "the envelope"), ("stones", "the bucket"), ("people", "the queue"),
            ("letters", "the post bag"), ("coins", "the jar"), ("ducks", "the pond"))
# (scenes, what they can be like)
SCENES = ((("the weather", "the sky", "the sea", "the morning", "the night"),
           ("cold", "bright", "warm", "windy", "calm", "dark", "lovely", "grey", "clear", "stormy")),
          (("the station", "the market", "the road", "the town", "the room", "the beach", "the shop"),
           ("quiet", "busy", "crowded", "empty", "noisy", "cold", "warm", "dark", "tidy")))
SHORT = ("Yes, of course.", "Not yet.", "Thank you.", "Good morning.", "Come in.", "Wait here.",
         "Look at that.", "I think so.", "See you soon.", "Well done.", "Right away.", "No, thanks.")


def number_words(n: int) -> str:
    """``n`` (0-9999) spelt out in British style: 342 -> 'three hundred and forty two'."""
    if not 0 <= n <= 9999:
        raise ValueError("numbers are spelt from 0 to 9999")
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + (f" {ONES[n % 10]}" if n % 10 else "")
    big, unit = (1000, "thousand") if n >= 1000 else (100, "hundred")
    rest = n % big
    head = f"{ONES[n // big]} {unit}"
    if not rest:
        return head
    return f"{head} and {number_words(rest)}" if rest < 100 else f"{head} {number_words(rest)}"


def sentence(rng: np.random.Generator, max_words: int = 12, min_words: int = 1) -> str:
    """A sentence of ``min_words``..``max_words`` words (as spoken), capitalised and punctuated."""
    if max_words < 2:
        return str(rng.choice(["Yes.", "No.", "Thanks.", "Hello.", "Listen.", "Sorry.", "Really?", "Wait."]))
    for _ in range(200):
        text = _TEMPLATES[int(rng.integers(len(_TEMPLATES)))](rng)
        if min_words <= len(text.split()) <= max_words:
            return text
    shortest = [s for s in SHORT if len(s.split()) <= max_words]
    return str(rng.choice(shortest))


# ---------------------------------------------------------------- templates

def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _maybe(rng, p, text):
    return f" {text}" if rng.random() < p else ""


def _subject(rng):
    kind = rng.random()
    return _pick(rng, NAMES) if kind < 0.35 else _pick(rng, PRONOUNS) if kind < 0.55 else _pick(rng, PEOPLE)


def _object(rng, kind):
    adjectives, things = THINGS[kind]
    article = "the" if rng.random() < 0.6 else "a" if kind in ("portable", "paper") else "the"
    adjective = _pick(rng, adjectives) + " " if rng.random() < 0.6 else ""
    noun = _pick(rng, things)
    if kind == "food" and article == "a":
        article = "some"
    if article == "a" and (adjective or noun)[0] in "aeiou":
        article = "an"
    return f"{article} {adjective}{noun}"


def _past_time(rng):
    kind = rng.random()
    if kind < 0.45:
        return _pick(rng, PAST_TIMES)
    if kind < 0.65:
        return "last " + _pick(rng, DAYS)
    if kind < 0.8:
        return "in " + _pick(rng, MONTHS)
    return _pick(rng, ANY_TIMES)


def _future_time(rng):
    kind = rng.random()
    return (_pick(rng, FUTURE_TIMES) if kind < 0.5 else "on " + _pick(rng, DAYS) if kind < 0.75
            else _pick(rng, ANY_TIMES))


def _clock(rng):
    hour, minute = number_words(int(rng.integers(1, 13))), int(rng.choice([0, 10, 15, 20, 30, 45, 50]))
    return {0: f"{hour} o'clock", 15: f"quarter past {hour}", 30: f"half past {hour}",
            45: f"quarter to {hour}"}.get(minute, f"{hour} {number_words(minute)}")


def _finish(words: str, mark: str = ".") -> str:
    words = " ".join(words.split())
    return words[0].upper() + words[1:] + mark


def _verb(rng):
    """A kind of thing and a verb that takes it: (kind, base form, past form)."""
    kind = _pick(rng, tuple(THINGS))
    return (kind, *_pick(rng, VERBS[kind]))


def _statement(rng):
    kind, _, past = _verb(rng)
    return _finish(f"{_subject(rng)} {past} {_object(rng, kind)}{_maybe(rng, 0.5, _pick(rng, PLACES))}"
                   f"{_maybe(rng, 0.5, _past_time(rng))}")


def _intransitive(rng):
    _, past = _pick(rng, INTRANSITIVE)
    return _finish(f"{_subject(rng)} {past}{_maybe(rng, 0.7, _pick(rng, PLACES))}{_maybe(rng, 0.5, _past_time(rng))}")


def _future(rng):
    kind, base, _ = _verb(rng)
    return _finish(f"{_subject(rng)} will {base} {_object(rng, kind)}{_maybe(rng, 0.4, _pick(rng, PLACES))} "
                   f"{_future_time(rng)}")


def _question(rng):
    kind, base, past = _verb(rng)
    subject, thing = _subject(rng), _object(rng, kind)
    form = rng.random()
    if form < 0.3:
        return _finish(f"did {subject} {base} {thing}{_maybe(rng, 0.5, _past_time(rng))}", "?")
    if form < 0.5:
        return _finish(f"where did {subject} {base} {thing}", "?")
    if form < 0.7:
        return _finish(f"who {past} {thing}{_maybe(rng, 0.6, _pick(rng, PLACES))}", "?")
    if form < 0.85:
        return _finish(f"can you {base} {thing}{_maybe(rng, 0.5, _future_time(rng))}", "?")
    return _finish(f"why did {subject} {_pick(rng, INTRANSITIVE)[0]}{_maybe(rng, 0.6, _pick(rng, PLACES))}", "?")


def _request(rng):
    kind = _pick(rng, tuple(THINGS))
    base, _ = _pick(rng, [verb for verb in VERBS[kind] if verb[0] not in ("lose", "drop")])
    opening = _pick(rng, ("please", "", "don't forget to", "try to", "remember to"))
    return _finish(f"{opening} {base} {_object(rng, kind)}{_maybe(rng, 0.4, _pick(rng, PLACES))}"
                   f"{_maybe(rng, 0.4, _pick(rng, ANY_TIMES))}")


def _counting(rng):
    n = number_words(int(rng.choice([rng.integers(2, 20), rng.integers(20, 100), rng.integers(100, 1000)])))
    form = rng.random()
    if form < 0.4:
        return _finish(f"{_subject(rng)} counted {n} {_pick(rng, PLURALS)}{_maybe(rng, 0.6, _pick(rng, PLACES))}")
    if form < 0.7:
        things, where = _pick(rng, HOLDINGS)
        return _finish(f"there were {n} {things} in {where}")
    return _finish(f"how many {_pick(rng, PLURALS)} did {_subject(rng)} see{_maybe(rng, 0.5, _past_time(rng))}",
                   "?")


def _timetable(rng):
    form = rng.random()
    vehicle = _pick(rng, ("the train", "the bus", "the ferry", "the last coach", "the early tram"))
    if form < 0.4:
        return _finish(f"{vehicle} leaves at {_clock(rng)}{_maybe(rng, 0.4, 'on ' + _pick(rng, DAYS))}")
    if form < 0.7:
        return _finish(f"when does {vehicle} arrive{_maybe(rng, 0.5, _future_time(rng))}", "?")
    return _finish(f"we met {_pick(rng, NAMES)} {_pick(rng, PLACES)} at {_clock(rng)}")


def _description(rng):
    scenes, adjectives = _pick(rng, SCENES)
    scene, adjective = _pick(rng, scenes), _pick(rng, adjectives)
    degree = _pick(rng, ("", "very ", "rather ", "quite ", "so "))
    return _finish(f"{scene} was {degree}{adjective}{_maybe(rng, 0.6, _past_time(rng))}")


def _compound(rng):
    first, second = (_pick(rng, (_statement, _intransitive, _description))(rng) for _ in range(2))
    joint = _pick(rng, ("but", "so", "and then", "because"))
    return f"{first[:-1]}, {joint} {second[0].lower() if not second.startswith(NAMES + ('I ',)) else second[0]}" \
           f"{second[1:]}"


_TEMPLATES = (_statement, _statement, _intransitive, _future, _question, _question, _request, _counting,
              _timetable, _description, _compound)
