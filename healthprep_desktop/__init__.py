"""HealthPrep Desktop: pre-visit preparation for clinics.

The core packages (store, fhir, screening, sandbox) never import Qt; ui/ and the one Qt bridge
in workers/qt_bridge.py do.
"""

__version__ = "0.1.0"
APP_NAME = "HealthPrep Desktop"
APP_AUTHOR = "HealthPrep"
