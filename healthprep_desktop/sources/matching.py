"""Is this secondary source's Patient the clinic's patient? Identifier first, then demographics.

1. Shared identifier: the same enterprise/MPI id, or the same MRN (system and value), links at
   once, unless the demographics flatly contradict it (score below the lower threshold), which
   smells of a recycled or mistyped identifier and goes to a person instead.
2. Demographics, scored Fellegi-Sunter style: each field's comparison level has a weight
   log2(m/u), m = P(level | same person), u = P(level | different people among the candidates a
   source search returns). The weights add up to a score:
       score >= upper           -> AUTO_LINK
       lower <= score < upper   -> CONFIRM ("possible match, please confirm")
       score < lower            -> NO_LINK
3. Rules that no score overrides (patient safety beats recall):
   - never link on name alone: unless a birth date, phone or postal code agrees, nothing is
     even proposed (sex is too common to count);
   - an auto-link needs the exact birth date, an agreeing given name (exact, nickname or typo)
     and a family name that is not contradicted (twins share everything but the given name);
   - if two candidates of one source both reach the lower threshold, none is auto-linked,
     unless the others are the auto-link's relatives (is_relative_of: another given name or
     birth year beside a record that agrees on both): a household shares phone and address.
4. A former address (use "old" or an ended period, sources/addresses.py) equal to the other
   record's current one counts as a place in common: the person moved and one source kept it.
5. The same given name, middle initial and exact birth date go to a person however low the
   score (a marriage, a move and a new phone leave only these); never to an auto-link.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import OSA, JaroWinkler

from healthprep_desktop.sources.model import (
    Demographics,
    FieldComparison,
    Level,
    MatchCandidate,
    Outcome,
    PersonSummary,
)
from healthprep_desktop.sources.normalise import are_nicknames, summarise

# Jaro-Winkler similarity at or above which two different spellings count as a typo.
FUZZY_SIMILARITY = 0.9
# One edit (insert, delete, substitute or swap neighbours) is a typo in names this long; in
# shorter ones a single substitution often makes another real name (Jon/Jan, Leo/Lee).
ONE_EDIT_MIN_LENGTH = 5


def is_typo(a: str, b: str) -> bool:
    """Two folded, different names a keyboard slip apart."""
    if JaroWinkler.normalized_similarity(a, b) >= FUZZY_SIMILARITY:
        return True
    if OSA.distance(a, b) != 1:
        return False
    return min(len(a), len(b)) >= ONE_EDIT_MIN_LENGTH or sorted(a) == sorted(b)


def _w(m: float, u: float) -> float:
    return round(math.log2(m / u), 2)


# (m, u) per field and level, rounded log2 ratios below. The u values assume the candidates come
# from a source search (same birth date or same family name), hence u(birth date exact) is far
# above 1/20,000; household sharing is why phone's u is not tiny.
M_U: dict[str, dict[Level, tuple[float, float]]] = {
    "family": {
        Level.EXACT: (0.93, 0.01),
        Level.ALIAS: (0.03, 0.001),  # former name or hyphenated part
        Level.FUZZY: (0.025, 0.002),
        Level.DISAGREE: (0.015, 0.983),
    },
    "given": {
        Level.EXACT: (0.90, 0.01),
        Level.ALIAS: (0.04, 0.0005),  # nickname
        Level.FUZZY: (0.04, 0.003),
        Level.DISAGREE: (0.02, 0.98),
    },
    "birth_date": {
        Level.EXACT: (0.96, 0.0005),
        Level.TRANSPOSED: (0.01, 0.0001),
        Level.PARTIAL: (0.02, 0.04),  # a Jr/Sr shares month and day
        Level.DISAGREE: (0.01, 0.98),
    },
    # Only compared when both records carry a middle name; one letter, so u is about 1/15.
    "middle_initial": {Level.EXACT: (0.95, 0.07), Level.DISAGREE: (0.05, 0.93)},
    "sex": {Level.EXACT: (0.98, 0.5), Level.DISAGREE: (0.02, 0.5)},
    "postal_code": {Level.EXACT: (0.85, 0.05), Level.DISAGREE: (0.15, 0.95)},
    "phone": {Level.EXACT: (0.7, 0.001), Level.DISAGREE: (0.3, 0.999)},
    # One record's former address (street and ZIP) is the other's current one: the person moved
    # and one source kept the history. Compared only when it agrees (no history is no evidence);
    # among candidates only a former household member shares a street address, hence u.
    "previous_address": {Level.ALIAS: (0.9, 0.001)},
}
WEIGHTS: dict[str, dict[Level, float]] = {
    field: {level: _w(m, u) for level, (m, u) in levels.items()} for field, levels in M_U.items()
}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Score cut-offs. Perfect agreement scores about 38; name + birth date + sex about 24."""

    upper: float = 25.0
    lower: float = 12.0

    def __post_init__(self) -> None:
        if self.lower > self.upper:
            raise ValueError("the lower threshold must not exceed the upper one")


DEFAULT_THRESHOLDS = Thresholds()
# An auto-link stands beside another possible match only if it scores this much higher
# (2**10: about a thousand times likelier); otherwise a person chooses.
AMBIGUITY_MARGIN = 10.0


def _family(a: Demographics, b: Demographics) -> Level:
    if not a.families or not b.families:
        return Level.MISSING
    if a.primary_family == b.primary_family:
        return Level.EXACT
    if a.families & b.families or a.family_tokens & b.family_tokens:
        return Level.ALIAS
    if is_typo(a.primary_family, b.primary_family):
        return Level.FUZZY
    return Level.DISAGREE


def _given(a: Demographics, b: Demographics) -> Level:
    if not a.given or not b.given:
        return Level.MISSING
    if a.given == b.given:
        return Level.EXACT
    if any(are_nicknames(x, y) for x in a.givens for y in b.givens) or a.givens & b.givens:
        return Level.ALIAS
    if is_typo(a.given, b.given):
        return Level.FUZZY
    return Level.DISAGREE


def _birth_date(a: Demographics, b: Demographics) -> Level:
    x, y = a.birth_date, b.birth_date
    if x is None or y is None:
        return Level.MISSING
    if x == y:
        return Level.EXACT
    if x.year == y.year and x.month == y.day and x.day == y.month:
        return Level.TRANSPOSED
    if sum((x.year == y.year, x.month == y.month, x.day == y.day)) == 2:
        return Level.PARTIAL
    return Level.DISAGREE


def _equal(x: object, y: object) -> Level:
    if x is None or y is None:
        return Level.MISSING
    return Level.EXACT if x == y else Level.DISAGREE


def _phone(a: Demographics, b: Demographics) -> Level:
    if not a.phones or not b.phones:
        return Level.MISSING
    return Level.EXACT if a.phones & b.phones else Level.DISAGREE


def _previous_address(a: Demographics, b: Demographics) -> Level:
    if a.former_addresses & b.addresses or a.addresses & b.former_addresses:
        return Level.ALIAS
    return Level.MISSING


def compare(a: Demographics, b: Demographics) -> tuple[FieldComparison, ...]:
    """Every field's comparison level and weight (MISSING weighs 0)."""
    levels = {
        "family": _family(a, b),
        "given": _given(a, b),
        "middle_initial": _equal(a.middle_initial, b.middle_initial),
        "birth_date": _birth_date(a, b),
        "sex": _equal(a.sex, b.sex),
        "postal_code": _equal(a.postal_code, b.postal_code),
        "phone": _phone(a, b),
        "previous_address": _previous_address(a, b),
    }
    return tuple(
        FieldComparison(name, level, WEIGHTS[name].get(level, 0.0))
        for name, level in levels.items()
    )


def shared_identifier(
    a: Demographics, b: Demographics, enterprise_systems: Iterable[str] = ()
) -> tuple[str, str] | None:
    """An identifier both records carry: an enterprise/MPI id first, then any same-system id."""
    common = a.identifiers & b.identifiers
    if not common:
        return None
    preferred = set(enterprise_systems)
    return min(common, key=lambda ident: (ident[0] not in preferred, ident))


def _gate(fields: dict[str, Level], score: float, thresholds: Thresholds) -> tuple[Outcome, str]:
    """The score's outcome after the rules that no score overrides."""
    birth, phone = fields["birth_date"], fields["phone"]
    # Where the person lives or lived: a postal code or street address that agrees.
    place = fields["postal_code"] == Level.EXACT or fields["previous_address"] == Level.ALIAS
    beyond_names = (
        birth in (Level.EXACT, Level.TRANSPOSED, Level.PARTIAL) or phone == Level.EXACT or place
    )
    if not beyond_names:
        return Outcome.NO_LINK, "Only names (and sex) agree; names alone never link."
    if score < thresholds.lower:
        if (
            birth == Level.EXACT
            and fields["given"] in (Level.EXACT, Level.ALIAS)
            and fields["middle_initial"] == Level.EXACT
            and fields["sex"] != Level.DISAGREE
        ):
            # A marriage (former name not kept), a move and a new phone leave only these; among
            # people born that day, a shared given name and middle initial is rare: a person looks.
            return Outcome.CONFIRM, (
                "Same given name, middle initial and birth date, but the family name, address "
                "and phone differ (a marriage and a move?); please confirm."
            )
        return Outcome.NO_LINK, f"Score {score:.1f} is below {thresholds.lower:.1f}."
    if score < thresholds.upper:
        return Outcome.CONFIRM, f"Score {score:.1f} is between the thresholds; please confirm."
    if birth == Level.MISSING:
        return Outcome.CONFIRM, "A birth date is missing; please confirm."
    if birth != Level.EXACT:
        return Outcome.CONFIRM, "The birth date differs; please confirm."
    if fields["given"] not in (Level.EXACT, Level.ALIAS, Level.FUZZY):
        return Outcome.CONFIRM, "The given name differs (a twin or sibling?); please confirm."
    if fields["family"] in (Level.DISAGREE, Level.MISSING):
        return Outcome.CONFIRM, "The family name differs (a name change?); please confirm."
    if phone != Level.EXACT and not place:
        return Outcome.CONFIRM, "Only name, birth date and sex agree; please confirm."
    return Outcome.AUTO_LINK, f"Score {score:.1f} reaches {thresholds.upper:.1f}."


def score_pair(
    local: Demographics,
    remote: Demographics,
    source_id: str,
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    enterprise_systems: Iterable[str] = (),
) -> MatchCandidate:
    """Score one clinic patient against one secondary-source patient."""
    fields = compare(local, remote)
    score = round(sum(f.weight for f in fields), 2)
    levels = {f.field: f.level for f in fields}
    identifier = shared_identifier(local, remote, enterprise_systems)
    if identifier is not None:
        if score >= thresholds.lower:
            outcome, reason = Outcome.AUTO_LINK, "Same identifier in both sources."
        else:
            outcome = Outcome.CONFIRM
            reason = "Same identifier but the demographics disagree; please confirm."
    else:
        outcome, reason = _gate(levels, score, thresholds)
    return MatchCandidate(
        source_id=source_id,
        local_id=local.patient_id,
        remote_id=remote.patient_id,
        score=score,
        outcome=outcome,
        reason=reason,
        fields=fields,
        shared_identifier=identifier,
        # Only a candidate a person may see needs its record as text (the queue keeps it).
        remote=summarise(remote) if outcome is not Outcome.NO_LINK else PersonSummary(),
    )


def _demote(candidate: MatchCandidate, reason: str) -> MatchCandidate:
    return MatchCandidate(
        source_id=candidate.source_id,
        local_id=candidate.local_id,
        remote_id=candidate.remote_id,
        score=candidate.score,
        outcome=Outcome.CONFIRM,
        reason=reason,
        fields=candidate.fields,
        shared_identifier=candidate.shared_identifier,
        remote=candidate.remote,
    )


_AGREEING_GIVEN = (Level.EXACT, Level.ALIAS, Level.FUZZY)


def _level(candidate: MatchCandidate, name: str) -> Level:
    return next((f.level for f in candidate.fields if f.field == name), Level.MISSING)


def is_relative_of(runner_up: MatchCandidate, leader: MatchCandidate) -> bool:
    """The runner-up is another member of the leader's household, not a rival for the patient.

    The leader agrees on the person's own fields (exact birth date, an agreeing given name);
    the runner-up is contradicted on one of them (another given name: a twin or sibling; another
    birth year: a parent or child of the same name). Its agreeing phone and address are then
    explained by the shared household, which Fellegi-Sunter's independent fields over-count, so
    they must not make the leader ambiguous. A runner-up with a transposed or missing birth date
    or a missing given name is still a rival: it could be the same person recorded badly.
    """
    if (
        _level(leader, "birth_date") != Level.EXACT
        or _level(leader, "given") not in _AGREEING_GIVEN
    ):
        return False
    return _level(runner_up, "given") == Level.DISAGREE or _level(runner_up, "birth_date") in (
        Level.DISAGREE,
        Level.PARTIAL,
    )


def match_patient(
    local: Demographics,
    candidates: Sequence[Demographics],
    source_id: str,
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    enterprise_systems: Iterable[str] = (),
    rejected: Iterable[str] = (),
    margin: float = AMBIGUITY_MARGIN,
) -> list[MatchCandidate]:
    """Scored candidates worth showing (AUTO_LINK or CONFIRM), best first.

    At most one is AUTO_LINK, and only when no other candidate is even a possible match;
    `rejected` remote ids (a person said "not the same patient") are never proposed again.
    """
    systems = tuple(enterprise_systems)
    skip = set(rejected)
    scored = [
        score_pair(local, c, source_id, thresholds=thresholds, enterprise_systems=systems)
        for c in candidates
        if c.patient_id not in skip
    ]
    kept = [c for c in scored if c.outcome != Outcome.NO_LINK]
    kept.sort(key=lambda c: (c.shared_identifier is None, -c.score, c.remote_id))
    autos = [c for c in kept if c.outcome == Outcome.AUTO_LINK]
    if (
        len(kept) > 1
        and len(autos) == 1
        and autos[0].shared_identifier is None
        and all(is_relative_of(c, autos[0]) for c in kept if c is not autos[0])
    ):
        # Household members score high on the shared phone and address, sometimes higher than
        # the patient's own record (which may lack the phone); they are shown, never linked.
        return [autos[0], *(c for c in kept if c is not autos[0])]
    if len(kept) > 1 and autos and autos[0] is kept[0] and kept[1].score <= kept[0].score - margin:
        # The runner-up is 2**margin times less likely: a look-alike, not a rival. It stays
        # visible as a possible match but is never a second auto-link.
        reason = "Another patient in this source matches better."
        return [
            kept[0],
            *(_demote(c, reason) if c.outcome == Outcome.AUTO_LINK else c for c in kept[1:]),
        ]
    if len(kept) > 1 and autos:
        # An identifier match beats look-alikes that only score; otherwise ambiguity means a
        # person decides.
        if (
            autos[0].shared_identifier is not None
            and sum(c.shared_identifier is not None for c in kept) == 1
        ):
            reason = "Another patient in this source carries the shared identifier."
            rest = (c for c in kept if c is not autos[0])
            return [
                autos[0],
                *(_demote(c, reason) if c.outcome == Outcome.AUTO_LINK else c for c in rest),
            ]
        reason = "Several patients in this source look alike; please choose."
        return [_demote(c, reason) if c.outcome == Outcome.AUTO_LINK else c for c in kept]
    return kept


def search_parameters(local: Demographics) -> list[dict[str, str]]:
    """FHIR Patient searches that gather candidates in a secondary source (identifier first).

    Shapes real servers take: US Core servers SHALL support `identifier`, `name`,
    `birthdate+name` and `gender+name`; Epic wants a name (or family) with the birth date; a
    birth date alone is refused by most. `name` matches any part of any name, former names
    included, so the birth date with the family name and with the given name finds a copy
    with a typo or a new family name in the other part. A transposed birth day/month gets its
    own search, so it can reach the confirmation queue; family+given finds another birth date
    (a same-named parent, a birth-year typo); the phone search (where offered) finds a
    misspelt name when the birth date is unknown. A server refusing a shape (400) is asked the
    others (workers/batch_sources.py remembers the refusal per source).
    """
    searches = [{"identifier": f"{system}|{value}"} for system, value in sorted(local.identifiers)]
    names = [n for n in (local.family_text, local.given_text) if n]
    if local.birth_date is not None:
        born = local.birth_date.isoformat()
        searches += [{"birthdate": born, "name": name} for name in names]
        # Where a server takes it (most refuse a birth date alone), the birth date alone also
        # finds a copy with a typo in both names.
        searches.append({"birthdate": born})
        swapped = local.birth_date
        if swapped.day <= 12 and swapped.day != swapped.month and local.family_text:
            swapped = swapped.replace(month=local.birth_date.day, day=local.birth_date.month)
            searches.append({"birthdate": swapped.isoformat(), "name": local.family_text})
    if local.family_text and local.given_text:
        searches.append({"family": local.family_text, "given": local.given_text})
    if local.birth_date is None:
        # Without a birth date a misspelt or nicknamed given name and a missing or changed phone
        # would hide the patient from every search above: the family name alone (US Core `name`,
        # SHALL), and the given name with the sex (`gender+name`), find such a copy.
        if local.family_text:
            searches.append({"name": local.family_text})
        if local.given_text and local.sex:
            searches.append({"name": local.given_text, "gender": local.sex})
    searches += [{"phone": phone} for phone in sorted(local.phones)]
    return searches
