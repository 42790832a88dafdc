"""``generic``: the sandbox as it always was, the default.

Every type and search parameter the sandbox knows, Patient/$everything, batch reads,
_include and _revinclude, lenient paging (default 50, at most 1000, larger _count capped),
and a parameter it does not know ignored (FHIR's lenient handling). Sources:
  https://hl7.org/fhir/R4/http.html
  https://hl7.org/fhir/R4/search.html
"""

from __future__ import annotations

from healthprep_desktop.sandbox.profiles.model import ServerProfile, UnsupportedParam, WriteRules

PROFILE = ServerProfile(
    name="generic",
    title="Generic FHIR R4 server (everything the sandbox offers)",
    sources=("https://hl7.org/fhir/R4/http.html", "https://hl7.org/fhir/R4/search.html"),
    unsupported=UnsupportedParam.IGNORE,
    # Bundle create: a document Bundle posted whole (DEQM gaps-in-care reports).
    writes={"DocumentReference": WriteRules(), "Bundle": WriteRules(update=False)},
)
