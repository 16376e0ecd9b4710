"""Recognise messages about acute danger to a child, in Swedish, English and Norwegian/Danish.

The bot is not an emergency service: when ``is_emergency`` is true the caller answers with
the ``akut-lage`` article (call 112, socialjouren) before anything else.

Policy, chosen to err on the side of safety:

* Acute signals always count: 112 / 911 / 999, socialjouren, suicide words (självmord, ta
  livet av sig, vill dö, suicide, kill himself...), self-harm and bleeding, ongoing violence
  in the present tense ("misshandlar", "slår barnet", "being hit", "hurts her"), danger
  words with a now-word ("i kväll", "just nu", "tonight", "right now"), and "not safe /
  vågar inte gå hem / rädd att gå hem / can't go home".
* The word "akut"/"urgent"/"emergency" alone counts, because a stressed person writes
  "akut!!" and nothing more. It does not count in a question about the *meaning* of the
  word ("vad menas med akut ärende i SIP", "what does urgent mean"): such a question is
  procedural and is answered by the ordinary search.
* Procedural questions about the duty to report ("när ska man göra en orosanmälan",
  "barn som far illa", "misstänkt våld i hemmet") are NOT emergencies: they are answered by
  the orosanmälan article. They become emergencies only with a now-word or a present-tense
  act of violence.
"""

from __future__ import annotations

import re

from knowledge.text import normalize

# Bare "nu"/"now" is too common in procedural questions ("vad gäller nu?") to count.
_NOW = (
    r"(just nu|precis nu|i kväll|ikväll|i natt|inatt|akkurat nå|i aften|i nat|"
    r"right now|tonight|at the moment|as we speak)"
)

_ALWAYS = [
    r"\b(112|911|999|113)\b",
    r"\bsocial ?jour(en)?\b",
    r"\bbarnevernvakt(en)?\b",
    r"\b(själv|selv)mord\w*",
    r"\bsuicid\w*",
    r"\bta (sitt )?livet av (sig|seg|mig|meg|sej)\b",
    r"\btar (sitt )?livet av (sig|seg|sej)\b",
    r"\b(vill|vil|ska) (inte|ikke) leva\b",
    r"\b(vill|vil) (dö|dö|doe)\b",
    r"\bkill (him|her|them|my|your)sel(f|ves)\b",
    r"\b(wants?|going) to die\b",
    r"\bend (his|her|their|my) (own )?life\b",
    r"\b(misshandlar|mishandler|mishandlar)\b",
    r"\b(blir|bli|er|är) (slagen|slagna|misshandlad|misshandlat|mishandlet|slått|slaget)\b",
    r"\bbeing (hit|beaten|abused|hurt|attacked|assaulted)\b",
    r"\b(is|are) (beating|hitting|attacking|strangling)\b",
    r"\b(slår|slår ihjäl|sparkar|stryper|våldtar|slår lös på) "
    r"(barnet|barn|henne|honom|dem|mig|sitt barn|sina barn|ungen|ungarna|eleven|sonen|dottern|"
    r"hende|ham|barnene|meg|mig)\b",
    r"\b(inte|ikke|ej) (säker|säkert|trygg|trygt|tryg) (hemma|i kväll|ikväll|i natt|inatt|nu|"
    r"hjemme|i aften)\b",
    r"\bnot safe (at home|tonight|to go home|now|right now)\b",
    r"\b(vågar|tör|tor) (inte|ikke) (gå|gaa|dra) hjem|\bvågar inte gå hem\b",
    r"\b(afraid|scared|too scared) to go home\b",
    r"\b(rädd|rädda|redd|redde) (för )?att (gå|gaa|dra) hem\b",
    r"\b(can'?t|cannot|can not|daren'?t|won'?t) go home\b",
    r"\b(hurts|hits|beats|kicks|chokes|abuses) (her|him|them|the child|the boy|the girl)\b",
    r"\bskada(r|t|de)? sig själv\b|\bself[- ]?harm\w*",
    r"\b(själv|selv)skad\w*",
    r"\b(skurit|skuret|skåret|skuri) (sig|seg)\b",
    r"\b(blöder|bleeding)\b",
    r"\b(i|in) (akut|livs)?fara\b",
    r"\bin (immediate )?danger\b(?! of)",
    r"\blivsfarlig\w*",
    r"\b(knivhugg\w*|skjuten|skottlossning|stabbed|shot)\b",
    r"\b(hotar att döda|threatens? to kill|truer med å drepe)\b",
    r"\b(överdos\w*|overdos\w*)\b",
    # Poisoning: "har tagit en massa tabletter", "swallowed pills".
    r"\b(tagit|tog|svalt|svalde|ätit|åt|took|taken|swallowed|tatt) (\w+ ){0,3}"
    r"(tabletter|tabletterna|piller|pillren|pills|tablets|tabletter|medisiner)\b",
    r"\b(förgiftad|forgiftet|poisoned)\b",
    # Threats against a child in the present tense (a procedural "hot" needs a now-word).
    r"\b(hotar|truer|threatens|is threatening|are threatening) "
    r"(barnet|barnen|barn|henne|honom|dem|mig|eleven|eleverna|ungen|ungarna|sonen|dottern|"
    r"sin son|sin dotter|sina barn|familjen|barna|barnene|the child|the children|her|him|them)\b",
    r"\bskär sig\b|\bcutting (him|her)self\b",
    # A threat to kill, whoever says it and however it is reported.
    r"\b(ska|skulle|tänker|kommer att|vill) (döda|ta livet av) (honom|henne|dem|mig|dig|barnet|"
    r"barnen|oss)\b",
    r"\b(would|will|going to|gonna|wants? to|threatened to) (kill|murder|hurt) "
    r"(him|her|them|me|you|the child|the kids?|us)\b",
    r"\b(skal|vil) (drepe|dræbe|slå ihjel) (ham|hende|dem|meg|mig|barnet)\b",
    # A weapon together with a threat or violence: "hotade honom med kniv", "had a gun".
    r"\b(hot\w*|slog|slår|attack\w*|threat\w*|true\w*|held|pulled|drog|viftade)\b"
    r"[^.!?]{0,40}\b(kniv|kniven|vapen|vapnet|pistol|pistolen|gevär|yxa|yxan|knife|gun|weapon|"
    r"kniv|våpen|gevær)\b",
    r"\b(kniv|kniven|vapen|pistol|knife|gun)\b[^.!?]{0,40}\b(hot\w*|threat\w*|true\w*)\b",
    # A parent or partner hitting, told in the present tense: "pappa är full och slår" (a
    # threat needs an object, above: "mamma hotar att inte komma" is no emergency).
    r"\b(pappa|mamma|styvpappa|styvmamma|mammas kille|mammas sambo|pappas tjej|pappas sambo|"
    r"förälder|föräldern|föräldrarna|farsan|morsan|stefar|dad|mum|mom|stepdad|"
    r"father|mother|boyfriend)\b[^.!?]{0,40}\b(slår|sparkar|misshandlar|stryper|slåss|"
    r"hits|beats|kicks|chokes)\b",
    # A child who says they were just hurt or threatened and is with the adult now.
    r"\b(hotade|slog|sparkade|misshandlade|ströp|threatened|hit|beat|kicked|choked|truet|slo)\b"
    r"[^.!?]{0,60}\b(i morse|i dag|idag|i går|igår|nyss|this morning|today|last night|i morges|"
    r"i dag tidlig)\b",
]
_WITH_NOW = [
    r"\b(våld|vold|violence|violent|misshandel|abuse|fara|danger|hot|hotad|hotar|threat\w*|"
    r"slag|slagsmål|skadad|skadat|hurt|injured|skada sig|far illa|farlig\w*|rädd|redd|scared|"
    r"afraid|unsafe|otrygg|utrygg|berusad|drunk|aggressiv\w*|aggressive|kill|döda|drepe|"
    r"dræbe)\b",
]
_URGENT_WORD = r"\b(akut|akutt|akuta|urgent|emergency|nödsituation|nödsituasjon)\b"
# Questions about the meaning or procedure of "akut": answered by the ordinary search.
_DEFINITIONAL = [
    r"\b(vad|hva) (menas|betyder|innebär|er|är) (med )?(ett |en )?(akut|akutt)",
    r"\bakut(a)? (ärende|ärenden|sip|möte|möten|rutin|rutiner|insats|insatser)\b"
    r".*\b(vad|hur|när)\b",
    r"\b(vad|hur|när) .*\bakut(a)? (ärende|ärenden|sip|möte|möten|rutin|rutiner)\b",
    r"\bwhat (does|do) (an? )?(urgent|emergency)\b.*\bmean\b",
    r"\bwhat is (an? )?(urgent|emergency) (case|meeting|sip|plan)\b",
]

_ALWAYS_RE = re.compile("|".join(_ALWAYS))
_WITH_NOW_RE = re.compile("|".join(_WITH_NOW))
_NOW_RE = re.compile(rf"\b{_NOW}\b")
_URGENT_RE = re.compile(_URGENT_WORD)
_DEFINITIONAL_RE = re.compile("|".join(_DEFINITIONAL))


def is_emergency(text: str) -> bool:
    """Return True when ``text`` describes acute danger to a child (see module policy)."""
    normalised = normalize(text)
    if not normalised:
        return False
    if _ALWAYS_RE.search(normalised):
        return True
    if _WITH_NOW_RE.search(normalised) and _NOW_RE.search(normalised):
        return True
    return bool(_URGENT_RE.search(normalised)) and not _DEFINITIONAL_RE.search(normalised)
