"""Reading one import file safely: every way a file can be unusable becomes one sentence.

A folder handed to ``--import`` may hold anything: truncated or non-JSON files, text in another
encoding, lists, resources of no known type, hostile nesting, files of hundreds of megabytes.
Each check here raises :class:`FileProblem` with the reason (no file name, no content), so the
importer can say "skipped <file>: <reason>" and carry on with the next file.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

MAX_FILE_ENV = "HEALTHPREP_IMPORT_MAX_MB"
DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024
# No FHIR resource comes close (Synthea's deepest is 11 levels, Questionnaire items a few dozen);
# anything deeper is hostile and would exhaust the recursion of every later JSON walk.
MAX_DEPTH = 100
_MB = 1024 * 1024

# FHIR R4 (4.0.1) resource types: the sandbox serves R4, and nothing else is a resource.
R4_RESOURCE_TYPES = frozenset(
    """Account ActivityDefinition AdverseEvent AllergyIntolerance Appointment AppointmentResponse
    AuditEvent Basic Binary BiologicallyDerivedProduct BodyStructure Bundle CapabilityStatement
    CarePlan CareTeam CatalogEntry ChargeItem ChargeItemDefinition Claim ClaimResponse
    ClinicalImpression CodeSystem Communication CommunicationRequest CompartmentDefinition
    Composition ConceptMap Condition Consent Contract Coverage CoverageEligibilityRequest
    CoverageEligibilityResponse DetectedIssue Device DeviceDefinition DeviceMetric DeviceRequest
    DeviceUseStatement DiagnosticReport DocumentManifest DocumentReference EffectEvidenceSynthesis
    Encounter Endpoint EnrollmentRequest EnrollmentResponse EpisodeOfCare EventDefinition Evidence
    EvidenceVariable ExampleScenario ExplanationOfBenefit FamilyMemberHistory Flag Goal
    GraphDefinition Group GuidanceResponse HealthcareService ImagingStudy Immunization
    ImmunizationEvaluation ImmunizationRecommendation ImplementationGuide InsurancePlan Invoice
    Library Linkage List Location Measure MeasureReport Media Medication MedicationAdministration
    MedicationDispense MedicationKnowledge MedicationRequest MedicationStatement MedicinalProduct
    MedicinalProductAuthorization MedicinalProductContraindication MedicinalProductIndication
    MedicinalProductIngredient MedicinalProductInteraction MedicinalProductManufactured
    MedicinalProductPackaged MedicinalProductPharmaceutical MedicinalProductUndesirableEffect
    MessageDefinition MessageHeader MolecularSequence NamingSystem NutritionOrder Observation
    ObservationDefinition OperationDefinition OperationOutcome Organization
    OrganizationAffiliation Parameters Patient PaymentNotice PaymentReconciliation Person
    PlanDefinition Practitioner PractitionerRole Procedure Provenance Questionnaire
    QuestionnaireResponse RelatedPerson RequestGroup ResearchDefinition ResearchElementDefinition
    ResearchStudy ResearchSubject RiskAssessment RiskEvidenceSynthesis Schedule SearchParameter
    ServiceRequest Slot Specimen SpecimenDefinition StructureDefinition StructureMap Subscription
    Substance SubstanceNucleicAcid SubstancePolymer SubstanceProtein
    SubstanceReferenceInformation SubstanceSourceMaterial SubstanceSpecification SupplyDelivery
    SupplyRequest Task TerminologyCapabilities TestReport TestScript ValueSet VerificationResult
    VisionPrescription""".split()  # noqa: SIM905 - 145 names read better as prose
)


class FileProblem(ValueError):
    """Why a file (or one entry or line of it) cannot be imported, as a short clause."""


def max_file_bytes_setting(explicit: int | None = None) -> int:
    """The per-file size limit: the caller's, else $HEALTHPREP_IMPORT_MAX_MB, else 50 MB."""
    if explicit is not None:
        return explicit
    raw = os.environ.get(MAX_FILE_ENV, "").strip()
    try:
        megabytes = float(raw) if raw else 0.0
    except ValueError:
        megabytes = 0.0
    return int(megabytes * _MB) if megabytes > 0 else DEFAULT_MAX_FILE_BYTES


def _megabytes(size: int) -> str:
    return (
        f"{size / _MB:.0f} MB" if size >= 10 * _MB else f"{size / _MB:.1f} MB".replace(".0 ", " ")
    )


def read_text(path: Path, limit: int) -> str:
    """The file's text (UTF-8, a byte-order mark allowed), or FileProblem."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise FileProblem("not a regular file")
        if info.st_size > limit:
            raise FileProblem(_too_big(info.st_size, limit))
        with path.open("rb") as handle:
            data = handle.read(limit + 1)  # the file may have grown since stat
    except OSError as exc:
        raise FileProblem(f"could not be read ({exc.strerror or type(exc).__name__})") from None
    if len(data) > limit:
        raise FileProblem(_too_big(len(data), limit))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
        ) from None
    if not text.strip():
        raise FileProblem("the file is empty")
    return text


def _too_big(size: int, limit: int) -> str:
    return (
        f"{_megabytes(size)} is over the {_megabytes(limit)} limit for one file "
        f"({MAX_FILE_ENV} raises it)"
    )


def parse_json(text: str) -> Any:
    """JSON from text, or FileProblem (bad syntax, hostile nesting, absurd numbers)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileProblem(
            f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise FileProblem(f"nested too deeply (over {MAX_DEPTH} levels)") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise FileProblem(f"not valid JSON ({str(exc)[:80]})") from None


def describe_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a JSON list"
    if isinstance(value, str):
        return "a JSON string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a JSON boolean"
    if isinstance(value, (int, float)):
        return "a JSON number"
    return "a JSON object"


def check_resource(value: Any) -> dict[str, Any]:
    """``value`` if it is a FHIR R4 resource of sane depth, else FileProblem."""
    if not isinstance(value, dict):
        raise FileProblem(f"{describe_kind(value)}, not a FHIR resource")
    rtype = value.get("resourceType")
    if rtype is None:
        raise FileProblem("no resourceType (not a FHIR resource)")
    if not isinstance(rtype, str):
        raise FileProblem(f"its resourceType is {describe_kind(rtype)}, not a name")
    if rtype not in R4_RESOURCE_TYPES:
        shown = rtype if len(rtype) <= 40 else rtype[:40] + "..."
        raise FileProblem(f"resourceType {shown!r} is not a FHIR R4 resource type")
    if nesting_depth(value) > MAX_DEPTH:
        raise FileProblem(f"nested too deeply (over {MAX_DEPTH} levels)")
    return value


def nesting_depth(node: Any) -> int:
    """How deep lists and objects nest (iteratively: hostile depth cannot overflow the stack).
    Stops counting a little past MAX_DEPTH."""
    if not isinstance(node, (dict, list)):
        return 0
    best = 0
    stack: list[tuple[Any, int]] = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > best:
            best = depth
            if best > MAX_DEPTH:
                return best
        children = current.values() if isinstance(current, dict) else current
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return best
