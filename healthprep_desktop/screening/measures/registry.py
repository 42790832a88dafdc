"""The one table of measures: CMS id -> its module's MeasureSpec."""

from __future__ import annotations

from healthprep_desktop.screening.measures import (
    cms2,
    cms22,
    cms69,
    cms117,
    cms122,
    cms124,
    cms125,
    cms130,
    cms131,
    cms138,
    cms139,
    cms153,
    cms155,
    cms165,
    cms249,
    cms347,
    cms349,
    cms951,
)
from healthprep_desktop.screening.measures.base import MeasureSpec

MEASURES: dict[str, MeasureSpec] = {
    module.MEASURE.cms: module.MEASURE
    for module in (
        cms2,
        cms22,
        cms69,
        cms117,
        cms122,
        cms124,
        cms125,
        cms130,
        cms131,
        cms138,
        cms139,
        cms153,
        cms155,
        cms165,
        cms249,
        cms347,
        cms349,
        cms951,
    )
}

__all__ = ["MEASURES"]
