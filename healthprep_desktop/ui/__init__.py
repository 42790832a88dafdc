"""The desktop application: PySide6 windows and dialogs on qasync.

The UI calls the core (store, fhir, screening, workers) and holds no business logic of its own.
Entry point: ``healthprep_desktop.ui.app.run_app(args)``.
"""
