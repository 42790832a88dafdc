"""Batch preparation of a clinic day: the asyncio pipeline, progress events, the Qt bridge.

Everything here except qt_bridge.py is Qt-free, so the same pipeline runs under qasync in the
window and under asyncio.run in the terminal.
"""
