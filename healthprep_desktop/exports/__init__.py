"""Exports of stored screening results (CSV, JSON, Parquet), their summaries, a data
completeness report and a de-identified (HIPAA Safe Harbor) variant. Qt-free."""
