"""The executor Lambda: resolves a rule's filters at fire time and starts or stops instances,
RDS DB instances, Aurora clusters or Auto Scaling groups (the rule's `resource`).

Ships alone in a zip beside reconciler/__init__.py, awserror.py, checks.py, runlog.py and
timeengine.py (reconciler/package.py's list), so every module here imports only the standard
library, boto3/botocore and those modules (an import-linter contract in pyproject.toml).

    handler.py      the Lambda entry point: event in, summary out
    event.py        the §6 event checked and parsed into an Occurrence (refusals need no AWS)
    run.py          one occurrence over its (account, region) pairs, concurrently
    credentials.py  own credentials or an assumed role per account; the clients
    claims.py       at-least-once delivery: claim, finish and repeat rows in the log table
    ec2.py          DescribeInstances pages, Start/StopInstances batches with error isolation
    selection.py    which instances to act on and why the others are skipped (pure)
    kinds.py        one driver per resource (describe, select, change state) for run.py
    match.py        client-side filter matching for what RDS / Auto Scaling cannot filter (pure)
    rds.py          DescribeDBInstances / DescribeDBClusters pages, Stop/Start one by one
    dbselect.py     which DB instances and clusters to act on, and why not (pure)
    asg.py          DescribeAutoScalingGroups, the two-step stop and start
    asgselect.py    the saved-capacity tag, and which groups to act on and why not (pure)
    oneby.py        one call per resource, within the deadline, one failure never the rest
"""
