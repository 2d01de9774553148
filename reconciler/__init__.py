"""Ouroboros: EC2 start/stop schedules as code, reconciled to Amazon EventBridge Scheduler.

Kept import-free on purpose: the executor Lambda ships this package with only the stdlib and
boto3, so nothing here may pull in click, yaml or jsonschema.
"""

__version__ = "0.1.0"
