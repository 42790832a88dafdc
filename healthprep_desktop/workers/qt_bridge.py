"""The one Qt bridge: batch events in, Qt signals out.

The pipeline calls a plain listener; under qasync it runs on the GUI thread already, but a signal
with a queued connection also makes a listener call from another thread safe. Payloads travel as
``object`` so the frozen dataclasses arrive unchanged.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from healthprep_desktop.workers.events import Event, JobProgress, PatientEvent


class BatchSignals(QObject):
    patient_changed = Signal(object)  # PatientEvent
    progress = Signal(object)  # JobProgress

    def listener(self, event: Event) -> None:
        if isinstance(event, PatientEvent):
            self.patient_changed.emit(event)
        elif isinstance(event, JobProgress):
            self.progress.emit(event)
