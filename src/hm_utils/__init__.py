"""Databricks Health Monitor: system tables → bronze → silver → gold → semantic layer → reports."""

__version__ = "0.1.0"
